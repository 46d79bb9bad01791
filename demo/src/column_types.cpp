// Parsing of numeric and date cells, the majority rule for column kinds and the
// identifier heuristics.
#include "segment/column_types.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <map>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "damo/runtime/error.h"
#include "text_util.h"

namespace segment {

std::string_view column_kind_name(ColumnKind kind) {
  switch (kind) {
  case ColumnKind::Numeric: return "numeric";
  case ColumnKind::Date: return "date";
  case ColumnKind::Categorical: return "categorical";
  }
  return "categorical";
}

std::optional<ColumnKind> parse_column_kind(std::string_view name) {
  for (ColumnKind kind : {ColumnKind::Numeric, ColumnKind::Date, ColumnKind::Categorical})
    if (column_kind_name(kind) == name) return kind;
  return std::nullopt;
}

namespace {

// from_chars on the whole of text, which must start like a decimal number: from_chars
// also accepts "inf" and "nan", which are not data values here.
std::optional<std::errc> read_decimal(std::string_view text, double& value) {
  text = trim_view(text);
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    // from_chars would read "+-3" as -3.
    if (text.starts_with('-') || text.starts_with('+')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  char first = text.front() == '-' && text.size() > 1 ? text[1] : text.front();
  if (!(first >= '0' && first <= '9') && first != '.') return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  return error;
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  std::optional<std::errc> error = read_decimal(text, value);
  if (!error || *error != std::errc() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::string> exact_decimal(std::string_view text) {
  if (!parse_number(text)) return std::nullopt;
  text = trim_view(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }

  std::string digits;
  std::int64_t exponent = 0;
  bool fraction = false;
  std::size_t i = 0;
  for (; i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'); ++i) {
    if (text[i] == '.') {
      fraction = true;
      continue;
    }
    digits += text[i];
    if (fraction) --exponent;
  }
  if (i < text.size()) {
    // parse_number accepted the text, so an exponent follows: e or E, a sign, digits. Its
    // size saturates far beyond any finite float64.
    ++i;
    bool minus = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    std::int64_t power = 0;
    for (; i < text.size(); ++i) power = std::min<std::int64_t>(power * 10 + (text[i] - '0'), 1'000'000'000);
    exponent += minus ? -power : power;
  }

  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return std::string("0");
  digits.erase(0, first);
  std::size_t last = digits.find_last_not_of('0');
  exponent += static_cast<std::int64_t>(digits.size() - 1 - last);
  digits.erase(last + 1);
  return fmt::format("{}{}e{}", negative ? "-" : "", digits, exponent);
}

std::string plain_decimal(const std::string& exact) {
  std::string_view rest = exact;
  std::string sign;
  if (rest.starts_with('-')) {
    sign = "-";
    rest.remove_prefix(1);
  }
  std::size_t e = rest.find('e');
  if (e == std::string_view::npos) return exact;  // "0"
  std::string digits(rest.substr(0, e));
  std::int64_t exponent = std::stoll(std::string(rest.substr(e + 1)));
  auto length = static_cast<std::int64_t>(digits.size());
  // Beyond 40 written zeros, the scientific form is shorter to read.
  if (exponent >= 0 && exponent <= 40) return sign + digits + std::string(static_cast<std::size_t>(exponent), '0');
  if (exponent < 0 && length + exponent > 0)
    return sign + digits.substr(0, static_cast<std::size_t>(length + exponent)) + "." +
           digits.substr(static_cast<std::size_t>(length + exponent));
  if (exponent < 0 && -(length + exponent) <= 40)
    return sign + "0." + std::string(static_cast<std::size_t>(-(length + exponent)), '0') + digits;
  std::string mantissa = digits.substr(0, 1);
  if (length > 1) mantissa.append(".").append(digits, 1);
  return fmt::format("{}{}e{}", sign, mantissa, exponent + length - 1);
}

bool is_decimal_comma_number(std::string_view text) {
  std::size_t comma = text.find(',');
  if (comma == std::string_view::npos || text.find(',', comma + 1) != std::string_view::npos)
    return false;
  std::string dotted(text);
  dotted[comma] = '.';
  return parse_number(dotted).has_value();
}

bool may_separate_thousands(std::string_view text) {
  std::string digits = trim(text);
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.erase(0, 1);
  std::size_t comma = digits.find(',');
  if (comma < 1 || comma > 3 || digits.size() != comma + 4) return false;
  for (std::size_t i = 0; i < digits.size(); ++i)
    if (i != comma && (digits[i] < '0' || digits[i] > '9')) return false;
  return true;
}

std::optional<std::string> ungrouped_number(std::string_view text) {
  if (parse_number(text) || is_decimal_comma_number(text)) return std::nullopt;
  std::string_view rest = trim_view(text);
  std::string sign;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    sign = std::string(rest.substr(0, 1));
    rest.remove_prefix(1);
  }
  auto is_digits = [](std::string_view part) {
    return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  for (auto [separator, decimal_mark] : {std::pair{'.', ','}, std::pair{',', '.'}}) {
    std::size_t at = 0;
    while (at < rest.size() && at < 4 && rest[at] >= '0' && rest[at] <= '9') ++at;
    if (at < 1 || at > 3) continue;
    std::string digits(rest.substr(0, at));
    int groups = 0;
    while (at + 4 <= rest.size() && rest[at] == separator && is_digits(rest.substr(at + 1, 3))) {
      digits += rest.substr(at + 1, 3);
      at += 4;
      ++groups;
    }
    if (groups == 0) continue;
    if (at == rest.size()) return sign + digits;
    if (rest[at] != decimal_mark || !is_digits(rest.substr(at + 1))) continue;
    return sign + digits + "." + std::string(rest.substr(at + 1));
  }
  return std::nullopt;
}

bool is_out_of_range_number(std::string_view text) {
  double value = 0;
  std::optional<std::errc> error = read_decimal(text, value);
  return error && *error == std::errc::result_out_of_range;
}

namespace {

// The digits of text[begin, begin + count) as an integer, or -1 when one is not a digit.
int parse_digits(std::string_view text, std::size_t begin, std::size_t count) {
  int value = 0;
  for (std::size_t i = begin; i < begin + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<double> days_since_epoch(int year, int month, int day) {
  using namespace std::chrono;
  year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return static_cast<double>(sys_days(date).time_since_epoch().count());
}

}  // namespace

std::optional<double> parse_date(std::string_view text) {
  text = trim_view(text);
  if (text.size() != 10) return std::nullopt;

  // yyyy-mm-dd
  if (text[4] == '-' && text[7] == '-') {
    int year = parse_digits(text, 0, 4), month = parse_digits(text, 5, 2);
    int day = parse_digits(text, 8, 2);
    if (year < 0 || month < 0 || day < 0) return std::nullopt;
    return days_since_epoch(year, month, day);
  }

  // dd-mm-yyyy with one of three separators, the same one twice.
  char separator = text[2];
  if ((separator != '-' && separator != '/' && separator != '.') || text[5] != separator)
    return std::nullopt;
  int day = parse_digits(text, 0, 2), month = parse_digits(text, 3, 2);
  int year = parse_digits(text, 6, 4);
  if (year < 0 || month < 0 || day < 0) return std::nullopt;
  return days_since_epoch(year, month, day);
}

ColumnKind infer_column_kind(const Column& column) {
  std::size_t filled = 0, numbers = 0, dates = 0;
  for (const std::string& cell : column.cells) {
    if (is_missing(cell)) continue;
    ++filled;
    if (parse_number(cell) || is_out_of_range_number(cell))
      ++numbers;
    else if (parse_date(cell))
      ++dates;
  }
  if (filled == 0) return ColumnKind::Categorical;
  if (numbers * 2 > filled) return ColumnKind::Numeric;
  if (dates * 2 > filled) return ColumnKind::Date;
  return ColumnKind::Categorical;
}

namespace {

// Texts of the cells of column that are neither blank nor values of kind, with their counts.
std::map<std::string, std::size_t> unparsed_texts(const Table& table, std::size_t column, ColumnKind kind) {
  std::map<std::string, std::size_t> counts;
  for (const std::string& cell : table.columns[column].cells) {
    if (is_missing(cell)) continue;
    bool parses = kind == ColumnKind::Numeric ? parse_number(cell).has_value() : parse_date(cell).has_value();
    if (!parses) ++counts[trim(cell)];
  }
  return counts;
}

// Describes a cell whose text, such as NA, fills several cells of its column and is likely
// a missing-value marker, or returns "" when the text fills one cell only. The hint counts
// the text and the other repeated non-values of its column and of the table's other numeric
// and date columns, and gives one --missing option for up to five of them.
std::string repeated_text_hint(const Table& table, std::size_t row, std::size_t column, ColumnKind kind) {
  constexpr std::size_t kMaxTexts = 5;
  std::map<std::string, std::size_t> counts = unparsed_texts(table, column, kind);
  std::string text = trim(table.columns[column].cells[row]);
  if (counts[text] < 2) return "";
  std::vector<std::string> texts{text};
  auto listed = [&](const std::string& other) { return std::find(texts.begin(), texts.end(), other) != texts.end(); };
  std::vector<std::string> others;
  for (const auto& [other, count] : counts)
    if (!listed(other) && count >= 2 && texts.size() < kMaxTexts) {
      texts.push_back(other);
      others.push_back(fmt::format("{} hold '{}'", count, other));
    }
  for (std::size_t c = 0; c < table.column_count() && texts.size() < kMaxTexts; ++c) {
    if (c == column) continue;
    ColumnKind other_kind = infer_column_kind(table.columns[c]);
    if (other_kind != ColumnKind::Numeric && other_kind != ColumnKind::Date) continue;
    for (const auto& [other, count] : unparsed_texts(table, c, other_kind))
      if (!listed(other) && count >= 2 && texts.size() < kMaxTexts) {
        texts.push_back(other);
        others.push_back(fmt::format("{} cells of column '{}' hold '{}'", count, table.columns[c].name, other));
      }
  }
  std::string also = others.empty() ? "" : fmt::format(" (and {})", fmt::join(others, ", "));
  return fmt::format("{} cells of the column hold '{}'{}. If {} missing values, pass {} or "
                     "leave those cells empty; otherwise fix the values",
                     counts[text], text, also, texts.size() == 1 ? "it marks" : "they mark",
                     missing_option(table, texts));
}

}  // namespace

double parse_cell(const Table& table, std::size_t row, std::size_t column, ColumnKind kind) {
  const std::string& cell = table.columns.at(column).cells.at(row);
  DAMO_ASSERT(!is_missing(cell), "parse_cell called on a missing cell");
  if (kind == ColumnKind::Numeric) {
    if (auto value = parse_number(cell)) return *value;
    if (is_out_of_range_number(cell))
      throw damo::UserError(fmt::format(
          "{}: '{}' is out of the range of a 64-bit float (about 1e-308 to 1e308 in "
          "magnitude); fix the value, or leave the cell empty to mark it missing",
          table.cell_location(row, column), cell));
    if (is_decimal_comma_number(cell) && may_separate_thousands(cell)) {
      std::string joined = trim(cell);
      joined.erase(joined.find(','), 1);
      std::string dotted = trim(cell);
      dotted[dotted.find(',')] = '.';
      throw damo::UserError(
          fmt::format("{}: '{}' is not a number, but the column is numeric; its comma separates "
                      "either thousands ('{}') or decimals ('{}'), so write the number without "
                      "thousands separators and with a decimal point",
                      table.cell_location(row, column), cell, joined, dotted));
    }
    if (std::optional<std::string> plain = ungrouped_number(cell))
      throw damo::UserError(
          fmt::format("{}: '{}' is not a number, because it has thousands separators, but the column "
                      "is numeric; write it without thousands separators and with a decimal point, "
                      "as in '{}'",
                      table.cell_location(row, column), cell, *plain));
    if (is_decimal_comma_number(cell)) {
      std::string dotted = trim(cell);
      dotted[dotted.find(',')] = '.';
      throw damo::UserError(
          fmt::format("{}: '{}' is not a number, because it has a decimal comma, but the column "
                      "is numeric; write decimal points, as in '{}'",
                      table.cell_location(row, column), cell, dotted));
    }
    if (std::string marker = repeated_text_hint(table, row, column, kind); !marker.empty())
      throw damo::UserError(fmt::format("{}: '{}' is not a number, but the column is numeric; {}",
                                        table.cell_location(row, column), cell, marker));
    throw damo::UserError(
        fmt::format("{}: '{}' is not a number, but the column is numeric; fix "
                    "the value, or leave the cell empty to mark it missing",
                    table.cell_location(row, column), cell));
  }
  DAMO_ASSERT(kind == ColumnKind::Date, "parse_cell on a categorical column");
  if (auto value = parse_date(cell)) return *value;
  if (std::string marker = repeated_text_hint(table, row, column, kind); !marker.empty())
    throw damo::UserError(fmt::format("{}: '{}' is not a valid date, but the column contains dates; {}",
                                      table.cell_location(row, column), cell, marker));
  throw damo::UserError(
      fmt::format("{}: '{}' is not a valid date, but the column contains dates; write "
                  "it as yyyy-mm-dd, dd-mm-yyyy, dd/mm/yyyy or dd.mm.yyyy, or leave the cell empty",
                  table.cell_location(row, column), cell));
}

bool is_id_name(std::string_view name) {
  std::string lower = to_lower(name);
  if (lower == "id") return true;
  if (lower.size() < 3) return false;

  std::string_view tail = std::string_view(lower).substr(lower.size() - 3);
  if (tail == "_id" || tail == "-id" || tail == " id") return true;

  // camelCase or PascalCase: "CustomerID", "userId".
  std::string_view suffix = name.substr(name.size() - 2);
  char before = name[name.size() - 3];
  return (suffix == "ID" || suffix == "Id") && before >= 'a' && before <= 'z';
}

bool is_id_column(const Table& table, std::size_t column, ColumnKind kind) {
  const Column& cells = table.columns.at(column);
  if (is_id_name(cells.name)) return true;
  if (kind != ColumnKind::Numeric || table.row_count() < kMinRowsForDistinctIdRule) return false;

  // Distinct integers alone also describe spending amounts or ages, so the values must
  // number the rows: n distinct integers that fill a range of n, in any order (1..n,
  // 1001..1000+n). Up to 1% of the cells (at least one) may be blank, as when a row's number
  // was lost, and the range then spans between the filled count and n.
  std::size_t rows = table.row_count();
  std::size_t blanks_allowed = std::max<std::size_t>(1, rows / 100);
  std::size_t blanks = 0;
  std::unordered_set<double> seen;
  double low = 0;
  double high = 0;
  for (const std::string& cell : cells.cells) {
    if (is_missing(cell)) {
      if (++blanks > blanks_allowed) return false;
      continue;
    }
    std::optional<double> value = parse_number(cell);
    if (!value || *value != std::round(*value)) return false;
    if (!seen.insert(*value).second) return false;
    low = seen.size() == 1 ? *value : std::min(low, *value);
    high = seen.size() == 1 ? *value : std::max(high, *value);
  }
  double range = high - low + 1;
  return !seen.empty() && range >= static_cast<double>(seen.size()) && range <= static_cast<double>(rows);
}

}  // namespace segment
