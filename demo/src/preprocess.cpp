// Column selection, fitting of the feature statistics on the training rows, and the
// transformation of table rows into a standardized feature matrix.
#include "segment/preprocess.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_map>

#include "damo/runtime/error.h"
#include "segment/usage_error.h"
#include "text_util.h"

namespace segment {

using damo::UserError;

std::size_t FeatureColumn::width() const {
  return kind == ColumnKind::Categorical ? categories.size() : 1;
}

// True for the texts that spell infinity or NaN, such as "inf", "-Infinity" and "NaN".
bool names_infinity_or_nan(std::string_view cell) {
  std::string lower;
  for (char c : cell) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!lower.empty() && (lower.front() == '+' || lower.front() == '-')) lower.erase(0, 1);
  return lower == "inf" || lower == "infinity" || lower == "nan";
}

std::vector<std::string> merge_equal_numbers(std::map<std::string, std::size_t>& counts) {
  // Per exact value: its spellings and their counts, in text order.
  std::map<std::string, std::vector<std::pair<std::string, std::size_t>>> spellings;
  for (const auto& [text, count] : counts) {
    std::optional<std::string> value = exact_decimal(text);
    if (!value) return {};
    spellings[*value].emplace_back(text, count);
  }
  if (spellings.size() == counts.size()) return {};
  std::map<std::string, std::size_t> merged;
  std::vector<std::string> descriptions;
  for (const auto& [value, list] : spellings) {
    auto named = std::max_element(list.begin(), list.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    std::size_t total = 0;
    for (const auto& entry : list) total += entry.second;
    merged[named->first] = total;
    if (list.size() > 1) {
      std::vector<std::string> texts;
      for (const auto& entry : list) texts.push_back(entry.first);
      descriptions.push_back(fmt::format("{} as '{}'", quoted_list(texts, 5), named->first));
    }
  }
  counts = std::move(merged);
  return descriptions;
}

CategoryIndex::CategoryIndex(const FeatureColumn& feature) : feature_(feature) {
  for (const std::string& category : feature.categories) {
    std::optional<std::string> value = exact_decimal(category);
    if (!value) {
      values_.clear();
      break;
    }
    values_.push_back(*value);
  }
}

std::optional<std::size_t> CategoryIndex::find(const std::string& cell) const {
  const std::vector<std::string>& categories = feature_.categories;
  auto found = std::find(categories.begin(), categories.end(), cell);
  if (found != categories.end()) return static_cast<std::size_t>(found - categories.begin());
  if (values_.empty()) return std::nullopt;
  std::optional<std::string> value = exact_decimal(cell);
  if (!value) return std::nullopt;
  auto equal = std::find(values_.begin(), values_.end(), *value);
  if (equal == values_.end()) return std::nullopt;
  return static_cast<std::size_t>(equal - values_.begin());
}

std::size_t FeatureSchema::width() const {
  std::size_t total = 0;
  for (const FeatureColumn& column : columns) total += column.width();
  return total;
}

std::vector<std::string> FeatureSchema::feature_names() const {
  std::vector<std::string> names;
  for (const FeatureColumn& column : columns) {
    if (column.kind != ColumnKind::Categorical) {
      names.push_back(column.name);
      continue;
    }
    for (const std::string& category : column.categories)
      names.push_back(column.name + "=" + category);
  }
  return names;
}

namespace {

std::vector<std::size_t> require_columns(const Table& table, const std::vector<std::string>& names,
                                         const std::string& option) {
  std::vector<std::size_t> indices;
  std::vector<std::string> missing;
  for (const std::string& name : names) {
    if (auto index = table.find_column(name))
      indices.push_back(*index);
    else
      missing.push_back(name);
  }
  if (!missing.empty())
    throw UsageError(fmt::format("{}: {} names {} not in the table; the columns are {}{}",
                                 table.source, option, quoted_list(missing), table.quoted_column_names(),
                                 table.unknown_column_hint(names, option)));
  return indices;
}

bool contains(const std::vector<std::size_t>& indices, std::size_t index) {
  return std::find(indices.begin(), indices.end(), index) != indices.end();
}

}  // namespace

ColumnSelection select_columns(const Table& table, const std::string& label,
                               const FeatureOptions& options) {
  std::optional<std::size_t> label_column;
  if (!label.empty()) label_column = table.require_column(label, "--label");
  std::vector<std::size_t> chosen = require_columns(table, options.features, "--features");
  std::vector<std::size_t> dropped = require_columns(table, options.drop, "--drop");
  std::vector<std::size_t> categorical =
      require_columns(table, options.categorical, "--categorical");
  if (label_column && contains(chosen, *label_column))
    throw UserError(
        fmt::format("--features lists the label column '{}'; a model cannot take "
                    "its own label as input",
                    label));
  // Options that would change nothing are errors, because the user expected an effect.
  if (label_column && contains(dropped, *label_column))
    throw UserError(fmt::format("--drop lists the label column '{}', which is never a feature; leave "
                                "it out of --drop",
                                label));
  if (label_column && contains(categorical, *label_column))
    throw UserError(fmt::format("--categorical lists the label column '{}', which is not a feature; "
                                "labels are always segments, so leave it out",
                                label));
  if (!chosen.empty() && !dropped.empty())
    throw UserError("--drop has no effect with --features, which names every feature; give one of them");
  for (std::size_t column : categorical)
    if (!chosen.empty() && !contains(chosen, column))
      throw UserError(fmt::format("--categorical names '{}', which is not among the --features; add it "
                                  "to --features or leave it out of --categorical",
                                  table.columns[column].name));

  ColumnSelection selection;
  for (std::size_t column = 0; column < table.column_count(); ++column) {
    if (column == label_column) continue;
    ColumnKind kind = contains(categorical, column) ? ColumnKind::Categorical
                                                    : infer_column_kind(table.columns[column]);
    bool is_id = is_id_column(table, column, kind);
    if (is_id && !selection.id_column) selection.id_column = column;
    if (!options.features.empty() || contains(dropped, column)) continue;
    if (is_id && contains(categorical, column))
      throw UserError(fmt::format("--categorical names '{}', which looks like a row identifier and is "
                                  "not a feature; name it in --features to use it",
                                  table.columns[column].name));
    if (is_id) {
      selection.notes.push_back(
          fmt::format("column '{}' looks like a row identifier and is not a feature (name "
                      "it in --features to use it)",
                      table.columns[column].name));
      continue;
    }
    selection.columns.push_back(column);
    selection.kinds.push_back(kind);
  }

  for (std::size_t column : chosen) {
    selection.columns.push_back(column);
    selection.kinds.push_back(contains(categorical, column)
                                  ? ColumnKind::Categorical
                                  : infer_column_kind(table.columns[column]));
  }
  if (selection.columns.empty())
    throw UserError(
        fmt::format("{}: no feature columns remain after leaving out the label, "
                    "identifiers and --drop; the columns are {}",
                    table.source, table.quoted_column_names()));
  return selection;
}

double median(std::vector<double> values) {
  DAMO_ASSERT(!values.empty(), "median of no values");
  std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + middle, values.end());
  double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + middle);
  // Two values near the float64 limit overflow when added, but not when halved first.
  double sum = lower + upper;
  return std::isfinite(sum) ? sum / 2 : lower / 2 + upper / 2;
}

namespace {

// The largest magnitude of values, or 1 when there is none above 0. The moments below
// divide by it first, so that sums of squares and cubes of values near 1e308 stay finite.
double magnitude(const std::vector<double>& values) {
  double largest = 0;
  for (double v : values) largest = std::max(largest, std::fabs(v));
  return largest > 0 && std::isfinite(largest) ? largest : 1.0;
}

}  // namespace

double skewness(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double n = static_cast<double>(values.size());
  double unit = magnitude(values);
  double mean = 0;
  for (double v : values) mean += v / unit;
  mean /= n;
  double m2 = 0, m3 = 0;
  for (double v : values) {
    double d = v / unit - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  if (m2 <= 0) return 0;
  return m3 / std::pow(m2, 1.5);
}

std::pair<double, double> mean_and_deviation(const std::vector<double>& values) {
  double unit = magnitude(values);
  double mean = 0;
  for (double v : values) mean += v / unit;
  mean /= static_cast<double>(values.size());
  double variance = 0;
  for (double v : values) variance += (v / unit - mean) * (v / unit - mean);
  variance /= static_cast<double>(values.size());
  return {mean * unit, std::sqrt(variance) * unit};
}

namespace {

// Notes a column whose standard deviation a few far values set alone: the middle half of
// its values then spans less than 1/1000 of a standard deviation, so standardizing leaves
// those rows almost equal. filled contains the column's filled values, before log1p, of
// the table rows filled_rows.
void note_dominant_values(const Table& table, std::size_t column, const std::vector<double>& filled,
                          const std::vector<std::size_t>& filled_rows, const FeatureColumn& feature,
                          const PreprocessOptions& options, std::vector<std::string>& notes) {
  std::vector<double> sorted;
  sorted.reserve(filled.size());
  for (double v : filled) sorted.push_back(feature.log1p ? std::log1p(v) : v);
  std::sort(sorted.begin(), sorted.end());
  double lower_quartile = sorted[sorted.size() / 4];
  double upper_quartile = sorted[sorted.size() * 3 / 4];
  double spread = upper_quartile - lower_quartile;
  if (!(spread > 0 && spread < 1e-3 * feature.scale)) return;

  std::size_t farthest = 0;
  for (std::size_t i = 0; i < filled.size(); ++i)
    if (std::fabs(filled[i] - feature.median) > std::fabs(filled[farthest] - feature.median)) farthest = i;
  std::size_t row = filled_rows[farthest];
  notes.push_back(fmt::format(
      "column '{}': a few far values, such as '{}' on line {}, set its scale in {}, so the "
      "middle half of its values lies within {:.2g} standard deviations and the network can "
      "hardly tell them apart; check those cells, or leave the column out with --drop",
      feature.name, table.columns[column].cells[row], table.row_lines[row], options.fitted_rows,
      spread / feature.scale));
}

// Fits a numeric or date column; nullopt (with a note) when it carries no information.
std::optional<FeatureColumn> fit_numeric(const Table& table, std::size_t column, ColumnKind kind,
                                         const std::vector<std::size_t>& rows,
                                         const PreprocessOptions& options,
                                         std::vector<std::string>& notes) {
  FeatureColumn feature;
  feature.name = table.columns[column].name;
  feature.kind = kind;
  std::vector<double> filled;
  std::vector<std::size_t> filled_rows;
  std::size_t missing = 0;
  for (std::size_t row : rows) {
    if (is_missing(table.columns[column].cells[row])) {
      ++missing;
    } else {
      filled.push_back(parse_cell(table, row, column, kind));
      filled_rows.push_back(row);
    }
  }
  if (filled.empty()) {
    notes.push_back(
        fmt::format("column '{}' is empty in {} and is not used", feature.name, options.fitted_rows));
    return std::nullopt;
  }

  feature.median = median(filled);
  std::vector<double> values = filled;
  values.insert(values.end(), missing, feature.median);
  double minimum = *std::min_element(values.begin(), values.end());
  feature.log1p = options.log_transform && kind == ColumnKind::Numeric && minimum >= 0 &&
                  skewness(values) > options.skew_threshold;
  if (feature.log1p)
    for (double& v : values) v = std::log1p(v);

  // Only equal values make a column constant: standardizing in float64 separates values
  // that differ in their last bits too.
  auto [low, high] = std::minmax_element(values.begin(), values.end());
  auto [mean, deviation] = mean_and_deviation(values);
  if (!std::isfinite(mean) || !std::isfinite(deviation)) {
    notes.push_back(fmt::format("column '{}' holds values too large to standardize in float64 "
                                "(its standard deviation overflows) and is not used",
                                feature.name));
    return std::nullopt;
  }
  if (*low == *high || !(deviation > 0)) {
    notes.push_back(
        fmt::format("column '{}' is constant ({}) in {} and is not used", feature.name,
                    kind == ColumnKind::Date ? format_days(feature.median) : format_number(feature.median),
                    options.fitted_rows));
    return std::nullopt;
  }
  feature.mean = mean;
  feature.scale = deviation;
  note_dominant_values(table, column, filled, filled_rows, feature, options, notes);
  return feature;
}

// True for text that starts like a date, three groups of 1 to 4 digits joined by '-', '/'
// or '.', such as 12/31/2013, 1-2-2013 or 2013-01-01 10:00, which parse_date does not read.
bool looks_like_date(std::string_view cell) {
  std::size_t i = 0;
  for (int group = 0; group < 3; ++group) {
    std::size_t digits = 0;
    while (i < cell.size() && cell[i] >= '0' && cell[i] <= '9') ++i, ++digits;
    if (digits < 1 || digits > 4) return false;
    if (group == 2) break;
    if (i >= cell.size() || (cell[i] != '-' && cell[i] != '/' && cell[i] != '.')) return false;
    ++i;
  }
  return true;
}

// Returns a note for a categorical column whose categories mostly look like dates that
// parse_date does not read, or an empty string.
std::string unread_dates_note(const std::map<std::string, std::size_t>& counts) {
  std::size_t dated = 0;
  std::string example;
  for (const auto& entry : counts)
    if (looks_like_date(entry.first) && dated++ == 0) example = entry.first;
  if (dated * 2 <= counts.size()) return "";
  return fmt::format("; its values look like dates such as '{}', which are not read as dates: "
                     "write them as yyyy-mm-dd, dd-mm-yyyy, dd/mm/yyyy or dd.mm.yyyy without a time",
                     example);
}

// Returns a note for a categorical column whose categories are all numbers and include
// numbers with a decimal comma, or an empty string. "1,5" in a semicolon-delimited file is
// usually 1.5 written with a decimal comma.
std::string decimal_commas_note(const std::map<std::string, std::size_t>& counts) {
  std::string example;
  // Whether every comma could separate thousands, as in "1,234", rather than decimals.
  bool thousands = true;
  for (const auto& entry : counts) {
    if (is_decimal_comma_number(entry.first)) {
      if (example.empty()) example = entry.first;
      thousands = thousands && may_separate_thousands(entry.first);
    } else if (!parse_number(entry.first)) {
      return "";
    }
  }
  if (example.empty()) return "";
  if (thousands)
    return fmt::format("; its values are numbers with commas such as '{}', which separate "
                       "thousands or decimals and are not read as numbers: write them without "
                       "thousands separators and with decimal points",
                       example);
  return fmt::format("; its values are numbers with decimal commas such as '{}', which are not "
                     "read as numbers: write them with decimal points",
                     example);
}

// Returns a note for a categorical column whose categories are all numbers and include
// numbers with thousands separators, such as '12.669,00' or '1,234.50', or an empty string.
std::string thousands_separators_note(const std::map<std::string, std::size_t>& counts) {
  std::string example;
  std::string plain;
  for (const auto& entry : counts) {
    if (std::optional<std::string> ungrouped = ungrouped_number(entry.first)) {
      if (example.empty()) {
        example = entry.first;
        plain = *ungrouped;
      }
    } else if (!parse_number(entry.first) && !is_decimal_comma_number(entry.first)) {
      return "";
    }
  }
  if (example.empty()) return "";
  return fmt::format("; its values are numbers with thousands separators such as '{}', which are not "
                     "read as numbers: write them without thousands separators and with a decimal "
                     "point, as in '{}'",
                     example, plain);
}

// Returns a note for a categorical column whose categories are numbers with a currency
// sign or a percent sign, such as '$12669', '-$310' or '45%', or an empty string.
std::string unit_symbols_note(const std::map<std::string, std::size_t>& counts) {
  static const std::string_view kSymbols[] = {"$", "%", "\u20AC", "\u00A3", "\u00A5"};  // $ % € £ ¥
  std::string example;
  std::string_view symbol;
  bool separators = false;
  for (const auto& entry : counts) {
    std::string_view text = trim_view(entry.first);
    // A sign may stand before the currency sign, as in -$310.
    std::string_view sign;
    if (text.starts_with('-') || text.starts_with('+')) {
      sign = text.substr(0, 1);
      text.remove_prefix(1);
    }
    std::string_view found;
    for (std::string_view s : kSymbols) {
      if (text.starts_with(s)) {
        text.remove_prefix(s.size());
        found = s;
        break;
      }
      if (text.ends_with(s)) {
        text.remove_suffix(s.size());
        found = s;
        break;
      }
    }
    std::string number = std::string(sign) + std::string(trim_view(text));
    bool separated = ungrouped_number(number).has_value();
    bool grouped = separated || (is_decimal_comma_number(number) && may_separate_thousands(number));
    if (!parse_number(number) && !is_decimal_comma_number(number) && !separated) return "";
    if (found.empty()) continue;
    separators = separators || grouped;
    if (example.empty()) {
      example = entry.first;
      symbol = found;
    }
  }
  if (example.empty()) return "";
  return fmt::format("; its values are numbers with a '{}' sign such as '{}', which are not read as "
                     "numbers: write them without the sign{}",
                     symbol, example, separators ? " and without thousands separators" : "");
}

// Returns a note for a column of numbers that is categorical only because one or two texts,
// such as NA, fill most of its cells, or an empty string.
std::string numbers_beside_markers_note(const Table& table, std::size_t column,
                                        const std::map<std::string, std::size_t>& counts) {
  if (infer_column_kind(table.columns[column]) != ColumnKind::Categorical) return "";
  std::vector<std::string> texts;
  std::size_t numbers = 0, text_cells = 0;
  for (const auto& [cell, count] : counts) {
    if (parse_number(cell)) {
      ++numbers;
    } else {
      texts.push_back(cell);
      text_cells += count;
    }
  }
  if (numbers < 2 || texts.empty() || texts.size() > 2) return "";
  std::string options = missing_option(table, texts);
  return fmt::format("column '{}' holds numbers, but {} of its filled cells hold {}, so it is one-hot "
                     "encoded as categories; if {} missing values, pass {} to read it as numbers",
                     table.columns[column].name, text_cells, quoted_list(texts),
                     texts.size() == 1 ? "that marks" : "those mark", options);
}

std::optional<FeatureColumn> fit_categorical(const Table& table, std::size_t column,
                                             const std::vector<std::size_t>& rows,
                                             const PreprocessOptions& options,
                                             std::vector<std::string>& notes) {
  FeatureColumn feature;
  feature.name = table.columns[column].name;
  feature.kind = ColumnKind::Categorical;
  std::map<std::string, std::size_t> counts;
  for (std::size_t row : rows) {
    const std::string& cell = table.columns[column].cells[row];
    if (!is_missing(cell)) ++counts[cell];
  }
  if (std::string note = numbers_beside_markers_note(table, column, counts); !note.empty())
    notes.push_back(note);
  std::vector<std::string> merged = merge_equal_numbers(counts);
  if (!merged.empty())
    notes.push_back(fmt::format("column '{}': numbers of equal value are one category: {}", feature.name,
                                fmt::join(merged, "; ")));
  if (counts.size() <= 1) {
    notes.push_back(fmt::format("column '{}' has {} in {} and is not used", feature.name,
                                counts.empty() ? "no values" : "a single category", options.fitted_rows));
    return std::nullopt;
  }
  // Dates and numbers in forms that parse_date and parse_number reject explain both a column
  // with too many categories and one that is encoded as categories, so both notes name them.
  std::string unread_values = unread_dates_note(counts) + decimal_commas_note(counts) +
                              thousands_separators_note(counts) + unit_symbols_note(counts);
  if (counts.size() > options.max_categories) {
    notes.push_back(
        fmt::format("column '{}' has {} categories in {}, more than {}, and is not used{}", feature.name,
                    counts.size(), options.fitted_rows, options.max_categories, unread_values));
    return std::nullopt;
  }
  if (!unread_values.empty())
    notes.push_back(fmt::format("column '{}' is one-hot encoded as categories{}", feature.name, unread_values));

  // Most frequent first; ties in name order, so the order does not depend on row order.
  std::vector<std::pair<std::string, std::size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& entry : sorted) feature.categories.push_back(entry.first);
  feature.mode = feature.categories.front();
  return feature;
}

}  // namespace

FeatureSchema fit_features(const Table& table, const ColumnSelection& selection,
                           const std::vector<std::size_t>& rows, const PreprocessOptions& options,
                           std::vector<std::string>& notes) {
  if (rows.empty()) throw UserError(fmt::format("{}: no training rows", table.source));
  FeatureSchema schema;
  for (std::size_t i = 0; i < selection.columns.size(); ++i) {
    std::size_t column = selection.columns[i];
    ColumnKind kind = selection.kinds[i];
    std::optional<FeatureColumn> feature =
        kind == ColumnKind::Categorical ? fit_categorical(table, column, rows, options, notes)
                                        : fit_numeric(table, column, kind, rows, options, notes);
    if (feature) schema.columns.push_back(std::move(*feature));
  }
  if (schema.columns.empty())
    throw UserError(
        fmt::format("{}: every selected column is constant or empty in {}, so there are no "
                    "features",
                    table.source, options.fitted_rows));
  return schema;
}

std::vector<std::size_t> match_schema(const FeatureSchema& schema, const Table& table) {
  std::vector<std::size_t> indices;
  std::vector<std::string> missing, mismatched;
  // One lookup table, since a search of the columns per feature takes quadratic time.
  std::unordered_map<std::string_view, std::size_t> column_of;
  for (std::size_t i = 0; i < table.columns.size(); ++i) column_of.emplace(table.columns[i].name, i);
  for (const FeatureColumn& feature : schema.columns) {
    auto found = column_of.find(feature.name);
    if (found == column_of.end()) {
      missing.push_back(feature.name);
      continue;
    }
    std::size_t index = found->second;
    indices.push_back(index);

    // A categorical feature accepts any text; numbers and dates must still parse.
    const Column& column = table.columns[index];
    bool all_missing = std::all_of(column.cells.begin(), column.cells.end(),
                                   [](const std::string& cell) { return is_missing(cell); });
    if (feature.kind != ColumnKind::Categorical && !all_missing &&
        infer_column_kind(column) != feature.kind) {
      // The first cell that does not parse as the model's kind shows what to fix.
      std::string example;
      for (std::size_t row = 0; row < column.cells.size(); ++row) {
        const std::string& cell = column.cells[row];
        if (is_missing(cell)) continue;
        bool parses = feature.kind == ColumnKind::Numeric ? parse_number(cell).has_value()
                                                          : parse_date(cell).has_value();
        if (!parses && names_infinity_or_nan(cell)) {
          example = fmt::format(", such as '{}' on line {}, not a finite number", cell,
                                table.row_lines.at(row));
          break;
        }
        if (!parses) {
          example = fmt::format(", such as '{}' on line {}; if '{}' marks missing values, pass {}",
                                cell, table.row_lines.at(row), cell, missing_option(table, {trim(cell)}));
          break;
        }
      }
      mismatched.push_back(fmt::format("'{}' (the model expects {} values, the file has {}{})",
                                       feature.name, column_kind_name(feature.kind),
                                       column_kind_name(infer_column_kind(column)), example));
    }
  }

  std::vector<std::string> problems;
  if (!missing.empty()) {
    problems.push_back(fmt::format("the model's feature column{} {} {} missing",
                                   missing.size() == 1 ? "" : "s", quoted_list(missing, 100),
                                   missing.size() == 1 ? "is" : "are"));
    std::vector<std::string> cased;
    for (const std::string& name : missing)
      if (auto index = table.find_column_ignoring_case(name))
        cased.push_back(fmt::format("the file's column '{}' differs from '{}' only in letter case",
                                    table.columns[*index].name, name));
    if (!cased.empty()) problems.back() += fmt::format(" ({}; rename {})", fmt::join(cased, "; "),
                                                       cased.size() == 1 ? "it" : "them");
  }
  if (!mismatched.empty()) {
    std::string list;
    for (const std::string& entry : mismatched) list += (list.empty() ? "" : ", ") + entry;
    problems.push_back("column types differ: " + list);
  }
  if (!problems.empty()) {
    std::string message = fmt::format("{} does not match the model's schema: ", table.source);
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw UserError(message + fmt::format(". The columns of the file are {}",
                                          table.quoted_column_names(100)));
  }
  return indices;
}

namespace {

// A numeric value as in the data: dates as yyyy-mm-dd, other numbers as short text.
std::string format_value(const FeatureColumn& feature, double value) {
  return feature.kind == ColumnKind::Date ? format_days(value) : format_number(value);
}

// "all 5 cells" or "2 of 5 cells".
std::string share_of(std::size_t count, std::size_t total, std::string_view noun) {
  return count == total ? fmt::format("all {} {}", total, noun)
                        : fmt::format("{} of {} {}", count, total, noun);
}

}  // namespace

std::vector<std::string> describe_filled_cells(const FeatureSchema& schema, const Table& table,
                                               const std::vector<std::size_t>& table_columns) {
  std::vector<std::string> notes;
  std::size_t rows = table.row_count();
  auto share = [&](std::size_t count) {
    return count == rows ? fmt::format("all {} cells", rows) : fmt::format("{} of {} cells", count, rows);
  };
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    const FeatureColumn& feature = schema.columns[i];
    const std::vector<std::string>& cells = table.columns[table_columns[i]].cells;
    CategoryIndex categories(feature);
    std::size_t blank = 0, unseen = 0, respelled = 0;
    // Cells that --missing emptied count as blank, and the note names them too.
    auto blank_words = [&](std::size_t feature_index) {
      std::size_t column = table_columns[feature_index];
      bool marked = column < table.marked_missing.size() && table.marked_missing[column] > 0;
      return marked ? "blank or marked missing" : "blank";
    };
    std::string example, respelled_example;
    for (const std::string& cell : cells) {
      if (is_missing(cell)) {
        ++blank;
      } else if (feature.kind == ColumnKind::Categorical) {
        std::optional<std::size_t> category = categories.find(cell);
        if (!category) {
          if (unseen++ == 0) example = cell;
        } else if (feature.categories[*category] != cell && respelled++ == 0) {
          respelled_example = fmt::format("'{}' for '{}'", cell, feature.categories[*category]);
        }
      }
    }
    if (blank > 0 && feature.kind == ColumnKind::Categorical)
      notes.push_back(fmt::format("column '{}': {} are {} and get the most frequent training category '{}'",
                                  feature.name, share(blank), blank_words(i), feature.mode));
    else if (blank > 0)
      notes.push_back(fmt::format("column '{}': {} are {} and get the training median {}", feature.name,
                                  share(blank), blank_words(i), format_value(feature, feature.median)));
    if (unseen > 0)
      notes.push_back(fmt::format("column '{}': {} hold categories that training never saw, such as '{}', and "
                                  "encode as no category; the model knows {}",
                                  feature.name, share(unseen), example, quoted_list(feature.categories, 10)));
    if (respelled > 0)
      notes.push_back(fmt::format("column '{}': {} spell a number of the model's categories another way, "
                                  "such as {}, and encode as that category",
                                  feature.name, share(respelled), respelled_example));
  }
  return notes;
}

std::vector<std::string> describe_clamped_negatives(const FeatureSchema& schema, const Table& table,
                                                    const std::vector<std::size_t>& table_columns,
                                                    const std::vector<std::size_t>& rows,
                                                    std::string_view cells_noun) {
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    const FeatureColumn& feature = schema.columns[i];
    if (!feature.log1p) continue;
    std::size_t column = table_columns[i];
    std::size_t negative = 0;
    std::size_t first = 0;
    for (std::size_t row : rows) {
      const std::string& cell = table.columns[column].cells[row];
      if (is_missing(cell) || !(parse_cell(table, row, column, feature.kind) < 0)) continue;
      if (negative++ == 0) first = row;
    }
    if (negative == 0) continue;
    notes.push_back(fmt::format(
        "column '{}': {} {} negative, such as '{}' on line {}, and {} as 0, because the "
        "model applies log1p to this column, which had no negative training value; check "
        "these values, or train on data that includes negative values",
        feature.name, share_of(negative, rows.size(), cells_noun), negative == 1 ? "is" : "are",
        table.columns[column].cells[first], table.row_lines[first],
        negative == 1 ? "counts" : "count"));
  }
  return notes;
}

namespace {

// Returns whether raw, a 0 or a 1, is a value of a training column of 0s and 1s. A flag's rare value
// lies far from the mean (a 1 in 200 is 14 standard deviations away), though training had
// it. value is raw after the column's log1p. A column of the two values value and other with
// mean m has the variance (m - value) (other - m), which identifies it.
bool is_flag_value(const FeatureColumn& feature, double raw, double value) {
  if (raw != 0 && raw != 1) return false;
  double other = feature.log1p ? std::log1p(1 - raw) : 1 - raw;
  double variance = (feature.mean - value) * (other - feature.mean);
  double expected = feature.scale * feature.scale;
  return std::fabs(variance - expected) <= 1e-6 * expected;
}

}  // namespace

std::vector<std::string> describe_far_values(const FeatureSchema& schema, const Table& table,
                                             const std::vector<std::size_t>& table_columns) {
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    const FeatureColumn& feature = schema.columns[i];
    if (feature.kind == ColumnKind::Categorical) continue;
    std::size_t column = table_columns[i];
    std::size_t far = 0;
    std::size_t furthest = 0;
    double furthest_deviations = 0;
    for (std::size_t row = 0; row < table.row_count(); ++row) {
      const std::string& cell = table.columns[column].cells[row];
      if (is_missing(cell)) continue;
      double raw = parse_cell(table, row, column, feature.kind);
      if (feature.log1p && raw < 0) continue;
      double value = feature.log1p ? std::log1p(raw) : raw;
      if (is_flag_value(feature, raw, value)) continue;
      // Divided first, because value - mean overflows near the float64 limit.
      double deviations = std::fabs(value / feature.scale - feature.mean / feature.scale);
      if (!(deviations > kFarDeviations)) continue;
      if (far++ == 0 || deviations > furthest_deviations) {
        furthest = row;
        furthest_deviations = deviations;
      }
    }
    if (far == 0) continue;

    // The values within kFarDeviations, back in the column's units.
    double low = feature.mean - kFarDeviations * feature.scale;
    double high = feature.mean + kFarDeviations * feature.scale;
    if (feature.log1p) {
      low = std::max(std::expm1(low), 0.0);
      high = std::expm1(high);
    }
    double value = parse_cell(table, furthest, column, feature.kind);
    bool beyond_float32 = std::fabs(value) > std::numeric_limits<float>::max();
    notes.push_back(fmt::format(
        "column '{}': {} more than {:g} standard deviations from the training mean (outside "
        "{} to {}), the furthest '{}' on line {}{}; at most 1% of a column's "
        "training values can lie that far from their mean, so check them",
        feature.name,
        far == 1 ? "1 cell is" : fmt::format("{} of {} cells are", far, table.row_count()),
        kFarDeviations, format_value(feature, low), format_value(feature, high),
        table.columns[column].cells[furthest], table.row_lines[furthest],
        beyond_float32 ? ", which is beyond the float32 range" : ""));
  }
  return notes;
}

std::vector<std::string> describe_blank_rows(const FeatureSchema& schema, const Table& table,
                                             const std::vector<std::size_t>& table_columns) {
  std::size_t blank_rows = 0;
  std::size_t first = 0;
  for (std::size_t row = 0; row < table.row_count(); ++row) {
    bool blank = std::all_of(table_columns.begin(), table_columns.end(), [&](std::size_t column) {
      return is_missing(table.columns[column].cells[row]);
    });
    if (blank && blank_rows++ == 0) first = row;
  }
  if (blank_rows == 0) return {};
  // "all 1 feature column" reads wrong, so a single column is "its one feature column".
  std::string feature_count = schema.columns.size() == 1 ? "its one feature column"
                                                         : "all " + count_of(schema.columns.size(), "feature column");
  if (blank_rows == 1)
    return {fmt::format("the row on line {} is blank in {}; it is still predicted, from the "
                        "training medians and most frequent categories alone, so its segment "
                        "says nothing about that customer",
                        table.row_lines[first], feature_count)};
  return {fmt::format("{} rows, the first on line {}, are blank in {}; they are still "
                      "predicted, from the training medians and most frequent categories alone, "
                      "so their segments say nothing about those customers",
                      blank_rows, table.row_lines[first], feature_count)};
}

namespace {

float numeric_feature(const FeatureColumn& feature, const Table& table, std::size_t row,
                      std::size_t column) {
  const std::string& cell = table.columns[column].cells[row];
  double value = is_missing(cell) ? feature.median : parse_cell(table, row, column, feature.kind);
  if (feature.log1p) value = std::log1p(std::max(value, 0.0));
  // A value and a mean of opposite signs near the float64 limit overflow when subtracted.
  double standardized = (value - feature.mean) / feature.scale;
  if (!std::isfinite(standardized)) standardized = value / feature.scale - feature.mean / feature.scale;
  // A standard deviation near the smallest double can make both quotients infinite.
  if (!(std::fabs(standardized) <= std::numeric_limits<float>::max()))
    throw UserError(fmt::format(
        "{} line {}, column '{}': '{}' is {} standard deviations from the training mean "
        "of the column (the model's standard deviation is {:.3g}), beyond the range of float32 "
        "features; check the value",
        table.source, table.row_lines[row], feature.name, cell,
        std::isfinite(standardized) ? fmt::format("{:.3g}", standardized) : std::string("too many"),
        feature.scale));
  return static_cast<float>(standardized);
}

}  // namespace

damo::Tensor transform_features(const FeatureSchema& schema, const Table& table,
                                const std::vector<std::size_t>& table_columns,
                                const std::vector<std::size_t>& rows) {
  DAMO_ASSERT(table_columns.size() == schema.columns.size(), "one table column per feature");
  auto width = static_cast<std::int64_t>(schema.width());
  damo::Tensor matrix(damo::DType::Float32, {static_cast<std::int64_t>(rows.size()), width});
  float* out = matrix.data<float>();

  std::vector<CategoryIndex> indexes;
  indexes.reserve(schema.columns.size());
  for (const FeatureColumn& feature : schema.columns) indexes.emplace_back(feature);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    float* features = out + static_cast<std::int64_t>(r) * width;
    for (std::size_t i = 0; i < schema.columns.size(); ++i) {
      const FeatureColumn& feature = schema.columns[i];
      if (feature.kind != ColumnKind::Categorical) {
        *features++ = numeric_feature(feature, table, rows[r], table_columns[i]);
        continue;
      }
      const std::string& cell = table.columns[table_columns[i]].cells[rows[r]];
      const std::string& category = is_missing(cell) ? feature.mode : cell;
      if (std::optional<std::size_t> position = indexes[i].find(category)) features[*position] = 1.0f;
      features += feature.categories.size();
    }
  }
  return matrix;
}

}  // namespace segment
