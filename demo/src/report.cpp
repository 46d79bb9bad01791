// Text and JSON forms of the training report.
#include "segment/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "damo/frontend/diagnostics.h"
#include "text_util.h"

namespace segment {

std::string format_table(const std::vector<std::vector<std::string>>& cells, bool right_align) {
  // A cell such as a category with a line break in it would break the table's layout.
  std::vector<std::vector<std::string>> rows = cells;
  for (auto& row : rows)
    for (std::string& cell : row) cell = printable_text(cell);
  // Widths count code points, not bytes, so that "Zoë" lines up with "Zoe". A character
  // that a terminal draws two columns wide (CJK, most emoji) still counts as one.
  auto width_of = [](const std::string& cell) {
    return static_cast<std::size_t>(std::count_if(cell.begin(), cell.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
  };
  std::vector<std::size_t> widths;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], width_of(row[i]));
    }

  std::string text;
  for (const auto& row : rows) {
    std::string line = "  ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      std::string padding(widths[i] - width_of(row[i]), ' ');
      line += i == 0 || !right_align ? row[i] + padding : padding + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  return text;
}

namespace {

std::string score(double value) { return fmt::format("{:.3f}", value); }

std::string summary_section(const TrainingReport& r) {
  std::string text =
      fmt::format("damo-segment: {}, label '{}'\n", printable_text(r.data), printable_text(r.label));
  // Folds can differ by a row or more, so their counts read as ranges.
  auto span = [&](std::size_t FoldScore::*count, std::size_t single) {
    if (r.folds.empty()) return std::to_string(single);
    auto [fewest, most] = std::minmax_element(
        r.folds.begin(), r.folds.end(),
        [&](const FoldScore& a, const FoldScore& b) { return a.*count < b.*count; });
    return (*fewest).*count == (*most).*count
               ? std::to_string((*fewest).*count)
               : fmt::format("{} to {}", (*fewest).*count, (*most).*count);
  };
  std::vector<std::vector<std::string>> rows{
      {"rows", fmt::format("{} ({} for training, {} for validation{}, {} evaluated by {})", r.rows,
                           span(&FoldScore::train_rows, r.train_rows),
                           span(&FoldScore::validation_rows, r.validation_rows),
                           r.folds.empty() ? "" : " per fold", r.evaluated_rows, r.evaluation)},
      {"segments", fmt::format("{}", r.segments.size())},
      {"features", fmt::format("{}", r.features.size())},
      {"network", r.network},
      {"training", fmt::format("{}; {} run{}{}", r.training, count_of(static_cast<std::size_t>(r.epochs_run), "epoch"),
                               r.folds.empty() ? "" : " over all folds",
                               r.kept_epoch > 0 ? fmt::format(", weights of epoch {} kept (lowest validation loss)",
                                                              r.kept_epoch)
                                                : "")},
  };
  if (!r.folds.empty())
    rows.push_back({"saved model",
                    fmt::format("trained after the folds on {} rows ({} for validation); {} run{}",
                                r.final_train_rows, r.final_validation_rows,
                                count_of(static_cast<std::size_t>(r.final_epochs_run), "epoch"),
                                r.final_kept_epoch > 0
                                    ? fmt::format(", weights of epoch {} kept", r.final_kept_epoch)
                                    : "")});
  for (auto& row : rows) row[0] += ":";
  text += format_table(rows, false);
  for (const std::string& note : r.notes) text += "  note: " + printable_text(note) + "\n";
  return text;
}

std::string scores_section(const TrainingReport& r) {
  std::string text = fmt::format("\nScores on {} ({} rows)\n", r.evaluation, r.evaluated_rows);
  std::string baseline = fmt::format("baseline ('{}')", r.segments.at(r.baseline_class));
  text += format_table({{"", "model", baseline},
                        {"accuracy", score(r.model.accuracy), score(r.baseline.accuracy)},
                        {"macro-F1", score(r.model.macro_f1), score(r.baseline.macro_f1)}});
  // Scores are compared as printed, to three decimals, so that the note agrees with the table.
  auto printed = [](double value) { return std::round(value * 1000); };
  bool accuracy_above = printed(r.model.accuracy) > printed(r.baseline.accuracy);
  bool f1_above = printed(r.model.macro_f1) > printed(r.baseline.macro_f1);
  bool fit_failed = std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& note) {
    return note.starts_with("the training loss ended at");
  });
  if (!accuracy_above && !f1_above && fit_failed)
    text += "  note: the model scores no higher than the baseline in accuracy or macro-F1, and "
            "training did not settle, as the note on the training loss above says\n";
  else if (!accuracy_above && !f1_above)
    text += "  note: the model scores no higher than the baseline in accuracy or macro-F1, so these "
            "features as read do not predict the segments; where columns were left out, the notes "
            "above say why\n";
  else if (!accuracy_above)
    text += fmt::format("  note: the model's accuracy is not above the baseline's, which always predicts "
                        "the most frequent segment; macro-F1, which weighs each segment equally, is the "
                        "fairer comparison, and the model's macro-F1 of {} is above the baseline's {}\n",
                        score(r.model.macro_f1), score(r.baseline.macro_f1));

  std::vector<std::vector<std::string>> rows{{"segment", "precision", "recall", "F1", "support"}};
  for (std::size_t c = 0; c < r.segments.size(); ++c) {
    const ClassMetrics& m = r.model.per_class.at(c);
    rows.push_back({r.segments[c], score(m.precision), score(m.recall), score(m.f1),
                    fmt::format("{}", m.support)});
  }
  text += "\n";
  text += format_table(rows);

  if (!r.folds.empty()) {
    std::vector<std::vector<std::string>> folds{{"fold", "accuracy", "macro-F1", "epochs"}};
    for (std::size_t i = 0; i < r.folds.size(); ++i)
      folds.push_back({fmt::format("{}", i + 1), score(r.folds[i].accuracy),
                       score(r.folds[i].macro_f1), fmt::format("{}", r.folds[i].epochs)});
    text += "\n";
    text += format_table(folds);
  }
  return text;
}

// Segments beyond which the printed report leaves the confusion matrix to the JSON report:
// 1,000 segments would print a million cells.
constexpr std::size_t kMaxPrintedConfusionSegments = 40;

std::string confusion_section(const TrainingReport& r) {
  if (r.segments.size() > kMaxPrintedConfusionSegments)
    return fmt::format("\nConfusion matrix: {} segments are too many to print here (at most {}); "
                       "--report-json writes it\n",
                       r.segments.size(), kMaxPrintedConfusionSegments);
  std::string text = "\nConfusion matrix (rows: true segment, columns: predicted)\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{"true \\ predicted"};
  header.insert(header.end(), r.segments.begin(), r.segments.end());
  rows.push_back(header);
  for (std::size_t t = 0; t < r.segments.size(); ++t) {
    std::vector<std::string> row{r.segments[t]};
    for (std::int64_t count : r.model.confusion.at(t)) row.push_back(fmt::format("{}", count));
    rows.push_back(row);
  }
  return text + format_table(rows);
}

std::string timing_section(const TrainingReport& r) {
  std::string text = "\nTime\n";
  text += format_table(
      {
          {"compile training step:",
           fmt::format("{:.1f} ms{}", r.compile_train_ms,
                       r.compile_cache_hit ? " (from the compile cache)" : "")},
          {"compile prediction:", fmt::format("{:.1f} ms", r.compile_predict_ms)},
          {"training:", fmt::format("{:.3f} s", r.train_seconds)},
      },
      false);
  return text;
}

// JSON string literal with the escapes RFC 8259 requires. JSON text is UTF-8, so a byte
// that is not part of well-formed UTF-8 (a Latin-1 header, say) becomes U+FFFD.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (std::size_t at = 0; at < text.size(); ++at) {
    char c = text[at];
    if (static_cast<unsigned char>(c) >= 0x80) {
      std::size_t length = damo::utf8_sequence_length(text, at);
      if (length == 0) {
        out += "\\ufffd";
        continue;
      }
      out += text.substr(at, length);
      at += length - 1;
      continue;
    }
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{}", value);
}

std::string json_strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_string(values[i]);
  return out + "]";
}

std::string json_metrics(const Metrics& m, const std::vector<std::string>& segments,
                         const std::string& indent) {
  std::string out = "{\n";
  out += fmt::format("{}  \"accuracy\": {},\n", indent, json_number(m.accuracy));
  out += fmt::format("{}  \"macro_f1\": {},\n", indent, json_number(m.macro_f1));
  out += fmt::format("{}  \"per_segment\": [\n", indent);
  for (std::size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& s = m.per_class[c];
    out += fmt::format(
        "{}    {{\"segment\": {}, \"precision\": {}, \"recall\": {}, \"f1\": {}, "
        "\"support\": {}}}{}\n",
        indent, json_string(segments.at(c)), json_number(s.precision), json_number(s.recall),
        json_number(s.f1), s.support, c + 1 < m.per_class.size() ? "," : "");
  }
  out += fmt::format("{}  ],\n{}  \"confusion\": [", indent, indent);
  for (std::size_t t = 0; t < m.confusion.size(); ++t) {
    out += t ? ", [" : "[";
    for (std::size_t p = 0; p < m.confusion[t].size(); ++p)
      out += fmt::format("{}{}", p ? ", " : "", m.confusion[t][p]);
    out += "]";
  }
  return out + "]\n" + indent + "}";
}

}  // namespace

std::string format_report(const TrainingReport& report) {
  return summary_section(report) + scores_section(report) + confusion_section(report) +
         timing_section(report);
}

std::string report_json(const TrainingReport& r) {
  std::string out = "{\n";
  out +=
      fmt::format("  \"data\": {},\n  \"label\": {},\n", json_string(r.data), json_string(r.label));
  out += fmt::format("  \"segments\": {},\n  \"features\": {},\n", json_strings(r.segments),
                     json_strings(r.features));
  out += fmt::format("  \"notes\": {},\n", json_strings(r.notes));
  out += fmt::format("  \"rows\": {},\n  \"train_rows\": {},\n  \"validation_rows\": {},\n", r.rows,
                     r.train_rows, r.validation_rows);
  out += fmt::format("  \"evaluated_rows\": {},\n", r.evaluated_rows);
  out += fmt::format("  \"evaluation\": {},\n  \"network\": {},\n  \"training\": {},\n",
                     json_string(r.evaluation), json_string(r.network), json_string(r.training));
  out += fmt::format("  \"epochs_run\": {},\n", r.epochs_run);
  out += r.kept_epoch > 0 ? fmt::format("  \"kept_epoch\": {},\n", r.kept_epoch) : "  \"kept_epoch\": null,\n";
  if (r.folds.empty()) {
    out += "  \"final_model\": null,\n";
  } else {
    out += fmt::format(
        "  \"final_model\": {{\"train_rows\": {}, \"validation_rows\": {}, \"epochs_run\": {}, "
        "\"kept_epoch\": {}}},\n",
        r.final_train_rows, r.final_validation_rows, r.final_epochs_run,
        r.final_kept_epoch > 0 ? std::to_string(r.final_kept_epoch) : "null");
  }
  out += "  \"model\": " + json_metrics(r.model, r.segments, "  ") + ",\n";
  out += fmt::format("  \"baseline_segment\": {},\n", json_string(r.segments.at(r.baseline_class)));
  out += "  \"baseline\": " + json_metrics(r.baseline, r.segments, "  ") + ",\n";
  out += "  \"folds\": [";
  for (std::size_t i = 0; i < r.folds.size(); ++i)
    out += fmt::format(
        "{}{{\"accuracy\": {}, \"macro_f1\": {}, \"epochs\": {}, \"train_rows\": {}, "
        "\"validation_rows\": {}}}",
        i ? ", " : "", json_number(r.folds[i].accuracy), json_number(r.folds[i].macro_f1),
        r.folds[i].epochs, r.folds[i].train_rows, r.folds[i].validation_rows);
  out += "],\n";
  out += fmt::format("  \"train_seconds\": {},\n", json_number(r.train_seconds));
  out += fmt::format("  \"compile_train_ms\": {},\n", json_number(r.compile_train_ms));
  out += fmt::format("  \"compile_predict_ms\": {},\n", json_number(r.compile_predict_ms));
  out += fmt::format("  \"compile_cache_hit\": {}\n", r.compile_cache_hit ? "true" : "false");
  return out + "}\n";
}

}  // namespace segment
