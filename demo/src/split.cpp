// Label encoding and stratified splitting.
#include "segment/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "damo/runtime/error.h"
#include "segment/column_types.h"
#include "segment/random.h"
#include "segment/usage_error.h"
#include "text_util.h"

namespace segment {

using damo::UserError;

namespace {

// Numeric labels ("1", "2", "10") in value order, others in byte order.
bool segment_less(const std::string& a, const std::string& b) {
  std::optional<double> x = parse_number(a), y = parse_number(b);
  if (x && y && *x != *y) return *x < *y;
  if (x.has_value() != y.has_value()) return x.has_value();
  return a < b;
}

// Groups of two or more text segments that differ only in ASCII letter case or surrounding
// spaces, such as "Retail" and " retail", in the order of their lower-case form. Numbers are
// left out, because the note on numbers written in several ways covers them.
std::vector<std::vector<std::string>> case_variants(const std::vector<std::string>& segments) {
  std::map<std::string, std::vector<std::string>> by_folded;
  for (const std::string& segment : segments)
    if (!parse_number(segment)) by_folded[to_lower(trim(segment))].push_back(segment);
  std::vector<std::vector<std::string>> groups;
  for (auto& [folded, names] : by_folded)
    if (names.size() > 1) groups.push_back(std::move(names));
  return groups;
}

// Returns the note on a group of case variants. They stay separate segments, because the
// table may mean different segments by them.
std::string case_variant_note(const std::string& column_name, const std::vector<std::string>& names) {
  return fmt::format(
      "label column '{}': {} differ only in letter case or surrounding spaces, so they are {} "
      "separate segments; if they are one segment, write them the same way in the table",
      column_name, quoted_list(names, 5), names.size());
}

// Returns the error for segments that have a single row. It lists the first ten with their
// lines and adds the note on each group of case variants that contains one of them.
UserError single_row_error(const Table& table, const std::string& column_name,
                           const std::vector<std::string>& singles,
                           const std::map<std::string, std::size_t>& row_of,
                           const std::vector<std::vector<std::string>>& variants) {
  std::vector<std::string> located;
  for (const std::string& segment : singles)
    located.push_back(fmt::format("'{}' on line {}", segment, table.row_lines.at(row_of.at(segment))));
  std::string variant_notes;
  for (const std::vector<std::string>& group : variants) {
    bool has_single = std::any_of(group.begin(), group.end(), [&](const std::string& name) {
      return std::find(singles.begin(), singles.end(), name) != singles.end();
    });
    if (has_single) variant_notes += "; " + case_variant_note(column_name, group);
  }

  if (singles.size() == 1)
    return UserError(fmt::format(
        "{}: segment '{}' of label column '{}' has a single row, on line {}; every segment needs "
        "at least two rows (merge or remove it){}",
        table.source, singles.front(), column_name, table.row_lines.at(row_of.at(singles.front())),
        variant_notes));
  return UserError(fmt::format(
      "{}: {} segments of label column '{}' have a single row: {}; every segment needs at least "
      "two rows (merge or remove them){}",
      table.source, singles.size(), column_name, join_list(located, 10), variant_notes));
}

// Positions of each class, in increasing order.
std::map<int, std::vector<std::size_t>> positions_by_class(const std::vector<int>& classes) {
  std::map<int, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < classes.size(); ++i) groups[classes[i]].push_back(i);
  return groups;
}

}  // namespace

Labels encode_labels(const Table& table, std::size_t label_column) {
  const Column& column = table.columns.at(label_column);
  // In a column of numbers, "1", "1.0" and "01" are one segment, named "1": spellings of one
  // exact decimal value merge, and values that differ stay apart even where float64 rounds
  // them to one number (9007199254740993, 0.10000000000000000001).
  bool numeric = std::all_of(column.cells.begin(), column.cells.end(), [](const std::string& cell) {
    return is_missing(cell) || parse_number(cell).has_value();
  });
  auto segment_of = [numeric](const std::string& cell) {
    if (!numeric) return cell;
    return plain_decimal(*exact_decimal(cell));
  };
  std::map<std::string, std::size_t> counts;
  std::map<std::string, std::size_t> first_row;
  std::map<std::string, std::vector<std::string>> spellings;
  for (std::size_t row = 0; row < column.cells.size(); ++row) {
    const std::string& cell = column.cells[row];
    if (is_missing(cell)) continue;
    std::string segment = segment_of(cell);
    ++counts[segment];
    first_row.emplace(segment, row);
    std::vector<std::string>& seen = spellings[segment];
    if (std::find(seen.begin(), seen.end(), cell) == seen.end()) seen.push_back(cell);
  }

  Labels labels;
  for (const auto& entry : counts) labels.segments.push_back(entry.first);
  std::sort(labels.segments.begin(), labels.segments.end(), segment_less);
  // In a column that also contains text, numbers written in several ways stay separate
  // segments. A note names them with the first text value, which may be a typo.
  if (!numeric) {
    std::map<std::string, std::vector<std::string>> same_number;
    std::string text_example;
    for (const std::string& segment : labels.segments) {
      if (std::optional<std::string> value = exact_decimal(segment)) same_number[*value].push_back(segment);
      else if (text_example.empty()) text_example = segment;
    }
    for (const auto& [value, names] : same_number)
      if (names.size() > 1)
        labels.notes.push_back(fmt::format(
            "label column '{}': {} stay separate segments although they are one number, because the "
            "column also holds text such as '{}'",
            column.name, quoted_list(names, 5), text_example));
  }
  std::vector<std::vector<std::string>> variants;
  if (!numeric) variants = case_variants(labels.segments);
  for (const std::vector<std::string>& group : variants)
    labels.notes.push_back(case_variant_note(column.name, group));
  std::string merged;
  for (const std::string& segment : labels.segments) {
    const std::vector<std::string>& seen = spellings[segment];
    if (seen.size() < 2) continue;
    std::string note = fmt::format("label column '{}': {} are one number, so they form the one segment '{}'",
                                   column.name, quoted_list(seen, 5), segment);
    labels.notes.push_back(note);
    merged += "; " + note;
  }
  if (column.cells.empty())
    throw UserError(fmt::format("{} has a header but no rows to train on", table.source));
  // Cells that --missing emptied explain a label column without enough segments.
  std::size_t marked = label_column < table.marked_missing.size() ? table.marked_missing[label_column] : 0;
  std::string marked_note =
      marked == 0 ? ""
                  : fmt::format(" ({} of its cells held a --missing text ({}) and read as missing; leave "
                                "the label's values out of --missing)",
                                marked, quoted_list(table.missing_markers, 5));
  if (labels.segments.empty())
    throw UserError(fmt::format("{}: label column '{}' is blank in all {}{}; fill in the segments, "
                                "or choose another column with --label",
                                table.source, column.name, count_of(column.cells.size(), "row"), marked_note));
  if (labels.segments.size() < 2)
    throw UserError(fmt::format(
        "{}: label column '{}' has {} distinct value{}{}; a classifier "
        "needs at least two segments{}",
        table.source, column.name, labels.segments.size(), labels.segments.size() == 1 ? "" : "s",
        marked_note, merged));
  // More than 30 distinct values that cover more than half of the rows, or that are mostly
  // on a single row, are amounts, dates or identifiers rather than segments.
  std::size_t labelled = 0, single = 0;
  for (const auto& entry : counts) {
    labelled += entry.second;
    if (entry.second == 1) ++single;
  }
  if (counts.size() > 30 && (2 * counts.size() > labelled || 2 * single > counts.size()))
    throw UserError(fmt::format(
        "{}: label column '{}' has {} distinct values in {} labelled rows ({} of them on a "
        "single row), so it looks continuous or like an identifier; damo-segment predicts "
        "categories, so choose a column with a few segments of several rows each, or make "
        "segments with 'damo-segment cluster'",
        table.source, column.name, counts.size(), labelled, single));
  // A column of more than 30 distinct dates is a time of purchase or sign-up, not a segment,
  // even when days repeat often enough to pass the rule above.
  bool dates = !numeric && std::all_of(counts.begin(), counts.end(), [](const auto& entry) {
    return parse_date(entry.first).has_value();
  });
  if (dates && counts.size() > 30)
    throw UserError(fmt::format(
        "{}: label column '{}' contains dates, {} distinct ones in {} labelled rows; damo-segment "
        "predicts categories, so choose a column with a few segments, or derive one from the "
        "dates (such as the year) first",
        table.source, column.name, counts.size(), labelled));
  std::vector<std::string> singles;
  for (const std::string& segment : labels.segments)
    if (counts.at(segment) < 2) singles.push_back(segment);
  std::sort(singles.begin(), singles.end(), [&](const std::string& a, const std::string& b) {
    return first_row.at(a) < first_row.at(b);
  });
  if (!singles.empty()) throw single_row_error(table, column.name, singles, first_row, variants);

  std::map<std::string, int> class_of;
  for (std::size_t i = 0; i < labels.segments.size(); ++i)
    class_of[labels.segments[i]] = static_cast<int>(i);
  for (std::size_t row = 0; row < column.cells.size(); ++row) {
    if (is_missing(column.cells[row])) {
      ++labels.unlabelled;
      continue;
    }
    labels.rows.push_back(row);
    labels.classes.push_back(class_of.at(segment_of(column.cells[row])));
  }
  return labels;
}

std::string describe_unlabelled(const Table& table, std::size_t label_column) {
  const Column& column = table.columns.at(label_column);
  std::vector<std::string> lines;
  for (std::size_t row = 0; row < column.cells.size(); ++row)
    if (is_missing(column.cells[row])) lines.push_back(fmt::format("{}", table.row_lines.at(row)));
  if (lines.empty()) return "";
  if (lines.size() == 1)
    return fmt::format("1 row has no '{}' value (line {}) and is not used", column.name, lines.front());
  return fmt::format("{} rows have no '{}' value (lines {}) and are not used", lines.size(), column.name,
                     join_list(lines, 5));
}

Split stratified_split(const std::vector<int>& classes, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw UserError(
        fmt::format("--test-fraction {} is invalid; use a number between 0 and 1 "
                    "such as 0.2",
                    fraction));
  Rng rng(seed);
  Split split;
  for (auto& [label, positions] : positions_by_class(classes)) {
    rng.shuffle(positions);
    // A segment with two or more rows holds out at least one and keeps at least one, so no
    // split of a valid table is empty.
    auto held_out = static_cast<std::size_t>(std::llround(fraction * positions.size()));
    held_out =
        positions.size() < 2 ? 0 : std::clamp<std::size_t>(held_out, 1, positions.size() - 1);
    split.test.insert(split.test.end(), positions.begin(), positions.begin() + held_out);
    split.train.insert(split.train.end(), positions.begin() + held_out, positions.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

std::vector<Split> stratified_folds(const std::vector<int>& classes, std::size_t folds,
                                    std::uint64_t seed) {
  if (folds < 2 || folds > classes.size())
    throw UsageError(
        fmt::format("--folds {} is invalid; use at least 2 and at most the number "
                    "of labelled rows ({})",
                    folds, classes.size()));
  Rng rng(seed);
  std::vector<std::size_t> fold_of(classes.size());
  std::size_t next_fold = 0;
  for (auto& [label, positions] : positions_by_class(classes)) {
    rng.shuffle(positions);
    // Continuing the turn across classes keeps the fold sizes within one of each other.
    for (std::size_t position : positions) {
      fold_of[position] = next_fold;
      next_fold = (next_fold + 1) % folds;
    }
  }

  std::vector<Split> splits(folds);
  for (std::size_t position = 0; position < classes.size(); ++position)
    for (std::size_t fold = 0; fold < folds; ++fold)
      (fold_of[position] == fold ? splits[fold].test : splits[fold].train).push_back(position);
  return splits;
}

}  // namespace segment
