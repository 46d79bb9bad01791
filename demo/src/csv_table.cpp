// CSV reading on top of libcsv. libcsv tokenizes fields and handles quoting. This file
// feeds it one physical line at a time, so that every row records the line it started on.
// It then checks the header and the field counts and stores the cells column by column.
#include "segment/csv_table.h"

#include <csv.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <unordered_map>

#include "damo/runtime/error.h"
#include "damo/runtime/io.h"
#include "segment/usage_error.h"
#include "text_util.h"

namespace segment {

using damo::UserError;

namespace {

// U+FEFF in UTF-8: a byte-order mark at the start of a file, an invisible character elsewhere.
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Returns text with each U+FEFF written as <U+FEFF>.
std::string show_byte_order_marks(std::string_view text) {
  std::string visible;
  for (std::size_t at = text.find(kByteOrderMark); at != std::string_view::npos;
       at = text.find(kByteOrderMark)) {
    visible += text.substr(0, at);
    visible += "<U+FEFF>";
    text.remove_prefix(at + kByteOrderMark.size());
  }
  return visible + std::string(text);
}

}  // namespace

std::optional<std::size_t> Table::find_column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return i;
  return std::nullopt;
}

std::optional<std::size_t> Table::find_column_ignoring_case(std::string_view name) const {
  std::string lower = to_lower(name);
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (to_lower(columns[i].name) == lower) return i;
  return std::nullopt;
}

std::size_t Table::require_column(std::string_view name, std::string_view role) const {
  if (auto index = find_column(name)) return *index;
  throw UsageError(fmt::format("{}: column '{}' ({}) not found; the columns are {}{}", source, name,
                               role, quoted_column_names(), unknown_column_hint({std::string(name)}, role)));
}

std::string Table::unknown_column_hint(const std::vector<std::string>& names, std::string_view option) const {
  std::string hint;
  for (const std::string& name : names)
    if (!find_column(name))
      if (auto cased = find_column_ignoring_case(name))
        hint += fmt::format("; '{}' differs from column '{}' only in letter case", name, columns[*cased].name);
  // "Note, free text" given unquoted reaches the option as 'Note' and ' free text'. The
  // suggestion repeats the option's other names around the quoted one.
  for (std::size_t first = 0; first < names.size(); ++first) {
    std::string joined = names[first];
    for (std::size_t last = first + 1; last < names.size(); ++last) {
      joined += "," + names[last];
      if (!find_column(joined)) continue;
      std::vector<std::string> entries(names.begin(), names.begin() + static_cast<long>(first));
      entries.push_back("\"" + joined + "\"");
      entries.insert(entries.end(), names.begin() + static_cast<long>(last) + 1, names.end());
      std::string list;
      for (const std::string& entry : entries) list += (list.empty() ? "" : ",") + entry;
      return hint + fmt::format("; a column name with a comma goes in double quotes, as in {} {}", option,
                                shell_quoted(list));
    }
  }
  return hint;
}

std::string Table::cell_location(std::size_t row, std::size_t column) const {
  return fmt::format("{} line {}, column '{}'", source, row_lines.at(row), columns.at(column).name);
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> names;
  for (const Column& column : columns) names.push_back(column.name);
  return names;
}

std::string Table::quoted_column_names(std::size_t limit) const {
  std::vector<std::string> names;
  bool marked = false;
  for (const Column& column : columns) {
    names.push_back(show_byte_order_marks(column.name));
    marked = marked || names.back() != column.name;
  }
  std::string text = quoted_list(names, limit);
  if (!marked) return text;

  // parse_csv drops one byte-order mark at the start of the file, and a second one ends up
  // in the first name. A mark inside quotes or after other text needs editing instead.
  if (second_byte_order_mark && !columns.empty() && columns.front().name.starts_with(kByteOrderMark))
    return text + fmt::format(". The first name starts with U+FEFF, a second byte-order mark, "
                              "which most editors do not show; remove one of the two marks at the "
                              "start of the file, for example with tail -c +4 {} > fixed.csv",
                              source);
  return text + ". <U+FEFF> is the character U+FEFF, which most editors do not show; delete it "
                "from the header";
}

namespace {

// Occurrences of delimiter outside double quotes in one line.
std::size_t count_outside_quotes(std::string_view line, char delimiter) {
  std::size_t count = 0;
  bool in_quotes = false;
  for (char c : line) {
    if (c == '"') in_quotes = !in_quotes;
    if (!in_quotes && c == delimiter) ++count;
  }
  return count;
}

}  // namespace

namespace {

// libcsv trims "space" characters around unquoted fields and by default counts the tab as
// one, which would swallow tab delimiters. These two predicates replace that default.
int is_space_or_tab(unsigned char c) { return c == ' ' || c == '\t'; }
int is_space_only(unsigned char c) { return c == ' '; }

// A completed row as libcsv reported it, before any checks.
struct RawRow {
  std::int64_t line = 0;
  std::vector<std::string> fields;
};

// Output of the libcsv callbacks. They only collect, because the checks throw and an
// exception must not unwind through libcsv's C frames.
struct CallbackState {
  std::vector<std::string> fields;
  std::vector<RawRow> rows;
  std::int64_t row_start_line = 0;
  bool row_open = false;
};

void on_field(void* data, std::size_t size, void* user) {
  auto& state = *static_cast<CallbackState*>(user);
  const char* text = data ? static_cast<const char*>(data) : "";
  state.fields.emplace_back(text, data ? size : 0);
}

void on_row_end(int /*terminator*/, void* user) {
  auto& state = *static_cast<CallbackState*>(user);
  state.rows.push_back(RawRow{state.row_start_line, std::move(state.fields)});
  state.fields.clear();
  state.row_open = false;
}

// Splits text into physical lines, each with its terminator (LF, CRLF or a lone CR).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    lines.push_back(text.substr(start, i + 1 - start));
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

// True when libcsv will start a row on this line, because it contains more than spaces,
// line ends and (unless the tab is the delimiter) tabs.
bool starts_row(std::string_view line, char delimiter) {
  for (char c : line) {
    if (c == ' ' || c == '\r' || c == '\n') continue;
    if (c == '\t' && delimiter != '\t') continue;
    return true;
  }
  return false;
}

// Text files never contain NUL bytes, while images, archives and other binary files
// nearly always do. Stopping there gives a clear message instead of a table of garbage.
void reject_binary(const std::vector<std::string_view>& lines, const std::string& source) {
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find('\0') != std::string_view::npos)
      throw UserError(
          fmt::format("{} line {}: found a NUL byte, so this is a binary file rather than CSV "
                      "text; pass a CSV file",
                      source, i + 1));
}

struct ParserDeleter {
  void operator()(csv_parser* parser) const {
    csv_free(parser);
    delete parser;
  }
};

std::unique_ptr<csv_parser, ParserDeleter> make_parser(char delimiter) {
  std::unique_ptr<csv_parser, ParserDeleter> parser(new csv_parser{});
  if (csv_init(parser.get(), CSV_STRICT | CSV_STRICT_FINI) != 0)
    throw damo::RuntimeError("libcsv could not allocate a parser");
  csv_set_delim(parser.get(), static_cast<unsigned char>(delimiter));
  csv_set_space_func(parser.get(), delimiter == '\t' ? is_space_only : is_space_or_tab);
  return parser;
}

// Returns the delimiter as messages show it: the character, or \t for a tab.
std::string printable_delimiter(char delimiter) {
  return delimiter == '\t' ? std::string("\\t") : std::string(1, delimiter);
}

std::string delimiter_name(char delimiter) {
  if (delimiter == '\t') return "tab";
  if (delimiter == ';') return "semicolon";
  if (delimiter == ',') return "comma";
  return fmt::format("'{}'", printable_delimiter(delimiter));
}

void set_header(Table& table, const RawRow& row) {
  // The field of each name seen so far, so that duplicates are found in linear time. A search
  // of the columns per name made a header of 50,000 columns take seconds.
  std::unordered_map<std::string, std::size_t> field_of;
  table.header_line = row.line;
  for (std::size_t i = 0; i < row.fields.size(); ++i) {
    std::string name = trim(row.fields[i]);
    // An unnamed column stays until drop_unnamed_columns checks that it is blank.
    if (name.empty()) {
      table.columns.push_back(Column{name, {}});
      continue;
    }
    if (auto [previous, added] = field_of.emplace(name, i); !added)
      throw UserError(
          fmt::format("{} line {}: the header names column '{}' twice (fields {} and "
                      "{}); rename one of them",
                      table.source, row.line, name, previous->second + 1, i + 1));
    table.columns.push_back(Column{name, {}});
  }
}

// Returns how messages name a column: "column 'NAME'", or "unnamed field N" for a column
// without a header name, before drop_unnamed_columns removes it.
std::string column_label(const Table& table, std::size_t index) {
  const std::string& name = table.columns[index].name;
  return name.empty() ? fmt::format("unnamed field {}", index + 1) : fmt::format("column '{}'", name);
}

// Builds the message for a row with the wrong number of fields. It names the column and
// value where the row stops matching the header.
std::string field_count_message(const Table& table, const RawRow& row) {
  std::size_t expected = table.column_count();
  std::size_t found = row.fields.size();
  std::string prefix = fmt::format(
      "{} line {}: found {} fields but the header has {} ({}-"
      "delimited)",
      table.source, row.line, found, expected, delimiter_name(table.delimiter));
  if (found > expected)
    return fmt::format(
        "{}; field {} holds '{}' after {}, the last column. Quote values "
        "that contain the delimiter",
        prefix, expected + 1, trim(row.fields[expected]), column_label(table, expected - 1));
  DAMO_ASSERT(found > 0, "libcsv reported a row without fields");
  return fmt::format(
      "{}; the row ends at {} with '{}', so {} has no value. "
      "Check for a missing delimiter",
      prefix, column_label(table, found - 1), trim(row.fields[found - 1]), column_label(table, found));
}

void append_row(Table& table, const RawRow& row) {
  if (row.fields.size() != table.column_count()) throw UserError(field_count_message(table, row));
  for (std::size_t i = 0; i < row.fields.size(); ++i)
    table.columns[i].cells.push_back(row.fields[i]);
  table.row_lines.push_back(row.line);
}

// Drops the columns whose header field is empty and whose cells are all blank, such as the
// trailing empty fields of some spreadsheet exports. An unnamed column with a value is an error.
void drop_unnamed_columns(Table& table) {
  std::vector<Column> named;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    Column& column = table.columns[i];
    if (!column.name.empty()) {
      named.push_back(std::move(column));
      continue;
    }
    auto filled = std::find_if(column.cells.begin(), column.cells.end(),
                               [](const std::string& cell) { return !is_missing(cell); });
    if (filled != column.cells.end()) {
      auto row = static_cast<std::size_t>(filled - column.cells.begin());
      throw UserError(fmt::format("{} line {}: header field {} is empty, but line {} has '{}' in that "
                                  "column; give every column a name",
                                  table.source, table.header_line, i + 1, table.row_lines[row], *filled));
    }
  }
  if (named.empty())
    throw UserError(fmt::format("{} line {}: every header field is empty; give every column a name",
                                table.source, table.header_line));
  table.columns = std::move(named);
}

void take_rows(Table& table, CallbackState& state) {
  for (const RawRow& row : state.rows) {
    if (table.columns.empty())
      set_header(table, row);
    else
      append_row(table, row);
  }
  state.rows.clear();
}

// Field counts of the complete records in lines parsed with delimiter, quoted fields across
// lines included; nullopt when libcsv rejects the text.
std::optional<std::vector<std::size_t>> record_widths(const std::vector<std::string_view>& lines,
                                                      char delimiter) {
  auto parser = make_parser(delimiter);
  CallbackState state;
  for (std::string_view line : lines) {
    if (csv_parse(parser.get(), line.data(), line.size(), on_field, on_row_end, &state) != line.size())
      return std::nullopt;
    if (!line.ends_with('\n') && !line.ends_with('\r') &&
        csv_parse(parser.get(), "\n", 1, on_field, on_row_end, &state) != 1)
      return std::nullopt;
  }
  std::vector<std::size_t> widths;
  for (const RawRow& row : state.rows) widths.push_back(row.fields.size());
  return widths;
}

// Returns the error for a field that libcsv's strict mode rejects at byte parsed of line,
// which is a quote inside an unquoted value or text after a closing quote. The message names
// the value and its column, whose position is the number of fields the row has so far.
UserError malformed_field(const Table& table, const CallbackState& state, const std::string& source,
                          std::int64_t line_number, std::string_view line, std::size_t parsed) {
  std::size_t position = state.fields.size();
  std::string column = table.columns.empty() || position >= table.columns.size()
                           ? fmt::format("field {}", position + 1)
                           : column_label(table, position);
  std::size_t start = line.rfind(table.delimiter, parsed == 0 ? 0 : parsed - 1);
  start = start == std::string_view::npos ? 0 : start + 1;
  std::size_t end = line.find(table.delimiter, parsed);
  std::string_view value = line.substr(start, (end == std::string_view::npos ? line.size() : end) - start);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  if (state.row_start_line == line_number && !value.starts_with('"'))
    return UserError(fmt::format("{} line {}, {}: the unquoted value '{}' contains a quote (\"); put the "
                                 "value in quotes and double each quote inside it, as \"a\"\"b\"",
                                 source, line_number, column, value));
  return UserError(fmt::format("{} line {}, {}: malformed quoted value near '{}'; a value in quotes must "
                               "end with a quote followed by the delimiter or the line end, and a quote "
                               "inside it is written as \"\"",
                               source, line_number, column, value));
}

// Names the field that byte at of lines[line] falls in: "column 'NAME'", "header field N"
// or "field N" past the header's last column. libcsv parses the text before the byte, and
// the fields it completes in the open row give the field's position. Returns "" when libcsv
// rejects the text before the byte (a malformed quote), so the error names no field.
std::string field_of_byte(const std::vector<std::string_view>& lines, std::size_t line,
                          std::size_t at, char delimiter) {
  auto parser = make_parser(delimiter);
  CallbackState state;
  for (std::size_t i = 0; i <= line; ++i) {
    std::string_view text = i == line ? lines[i].substr(0, at) : lines[i];
    if (csv_parse(parser.get(), text.data(), text.size(), on_field, on_row_end, &state) != text.size())
      return "";
  }
  std::size_t position = state.fields.size();
  if (state.rows.empty()) return fmt::format("header field {}", position + 1);
  const std::vector<std::string>& header = state.rows.front().fields;
  if (position >= header.size()) return fmt::format("field {}", position + 1);
  return fmt::format("column '{}'", trim(header[position]));
}

// Throws for the first byte that is not UTF-8 text, naming its line, its column and the
// byte. Text in another encoding (Latin-1, Windows-1252) would make names and categories
// that differ in one letter look alike, and would not match the same table saved as UTF-8.
void reject_invalid_utf8(const std::vector<std::string_view>& lines, char delimiter,
                         const std::string& source) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::size_t at = invalid_utf8_at(lines[i]);
    if (at == std::string_view::npos) continue;
    std::string field = field_of_byte(lines, i, at, delimiter);
    throw UserError(fmt::format(
        "{} line {}{}: byte {} of the line (0x{:02X}) is not UTF-8 text; save the file as UTF-8, for example "
        "with iconv -f latin1 -t utf-8 (for a Latin-1 file)",
        source, i + 1, field.empty() ? "" : ", " + field, at + 1,
        static_cast<unsigned char>(lines[i][at])));
  }
}

// Returns the delimiter that a line such as "sep=;" names, or nullopt for any other line. The
// delimiter is one character other than a quote, a letter, a digit or a space. Spreadsheet
// programs also write "SEP=;", "sep=;;;;" (the line saved as a row) and "\"sep=;\"".
std::optional<char> delimiter_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.size() >= 2 && line.front() == '"' && line.back() == '"') line = line.substr(1, line.size() - 2);
  if (line.size() < 5 || to_lower(line.substr(0, 4)) != "sep=") return std::nullopt;
  auto c = static_cast<unsigned char>(line[4]);
  if (c == '"' || c == ' ' || c >= 0x80 || std::isalnum(c) || (std::iscntrl(c) && c != '\t')) return std::nullopt;
  for (char rest : line.substr(5))
    if (rest != static_cast<char>(c) && rest != ' ' && rest != '\t') return std::nullopt;
  return static_cast<char>(c);
}

// Returns '|' when the header has no comma, semicolon or tab outside quotes, but it and the
// sampled records split at '|' into the same number of fields, two or more; else nullopt.
// detect_delimiter does not try '|', so such a file would read as one column.
std::optional<char> undetected_delimiter(std::string_view header_line, const std::vector<std::string_view>& sample) {
  for (char delimiter : {',', ';', '\t'})
    if (count_outside_quotes(header_line, delimiter) > 0) return std::nullopt;
  constexpr char kPipe = '|';
  if (count_outside_quotes(header_line, kPipe) == 0) return std::nullopt;
  std::vector<std::string_view> lines{header_line};
  lines.insert(lines.end(), sample.begin(), sample.end());
  std::optional<std::vector<std::size_t>> widths = record_widths(lines, kPipe);
  if (!widths || widths->empty() || widths->front() < 2) return std::nullopt;
  if (!std::all_of(widths->begin(), widths->end(), [&](std::size_t w) { return w == widths->front(); }))
    return std::nullopt;
  return kPipe;
}

}  // namespace

char detect_delimiter(std::string_view header_line, const std::vector<std::string_view>& next_lines) {
  // The first delimiter that splits the header and every sampled record into the same
  // number of fields, two or more, wins. Tab and semicolon come first, because commas
  // often stand inside unquoted fields (names such as "Smith, J", decimal commas) and
  // would split those files evenly too.
  if (!next_lines.empty()) {
    std::vector<std::string_view> lines{header_line};
    lines.insert(lines.end(), next_lines.begin(), next_lines.end());
    for (char candidate : {'\t', ';', ','}) {
      std::optional<std::vector<std::size_t>> widths = record_widths(lines, candidate);
      if (!widths || widths->size() < 2 || widths->front() < 2) continue;
      if (std::all_of(widths->begin(), widths->end(), [&](std::size_t w) { return w == widths->front(); }))
        return candidate;
    }
  }

  std::size_t commas = count_outside_quotes(header_line, ',');
  std::size_t semicolons = count_outside_quotes(header_line, ';');
  std::size_t tabs = count_outside_quotes(header_line, '\t');
  if (semicolons > commas && semicolons >= tabs) return ';';
  if (tabs > commas && tabs > semicolons) return '\t';
  return ',';
}

Table parse_csv(std::string_view text, const std::string& source) {
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
    throw UserError(fmt::format("{}: the file is UTF-16 text (it starts with a UTF-16 byte-order mark); "
                                "save it as UTF-8, for example with iconv -f utf-16 -t utf-8",
                                source));
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  std::vector<std::string_view> lines = split_lines(text);

  Table table;
  table.source = source;
  table.second_byte_order_mark = text.starts_with(kByteOrderMark);
  reject_binary(lines, source);
  std::size_t first = 0;
  while (first < lines.size() && !starts_row(lines[first], '\t')) ++first;
  if (first == lines.size())
    throw UserError(
        fmt::format("{}: the file is empty; expected a header row with the column "
                    "names",
                    source));
  // Spreadsheet programs write "sep=;" as the first line to name the delimiter.
  std::optional<char> named_delimiter = delimiter_line(lines[first]);
  std::size_t start = 0;
  if (named_delimiter) {
    start = first + 1;
    first = start;
    while (first < lines.size() && !starts_row(lines[first], '\t')) ++first;
    if (first == lines.size())
      throw UserError(fmt::format("{}: the file has only its 'sep=' line; expected a header row with "
                                  "the column names after it",
                                  source));
  }
  // Samples up to 20 following lines with more than blanks. detect_delimiter parses them
  // into records and ignores a record that the sample cuts off.
  std::vector<std::string_view> sample;
  for (std::size_t i = first + 1; i < lines.size() && sample.size() < 20; ++i)
    if (starts_row(lines[i], '\t')) sample.push_back(lines[i]);
  table.delimiter = named_delimiter ? *named_delimiter : detect_delimiter(lines[first], sample);
  if (named_delimiter && count_outside_quotes(lines[first], *named_delimiter) == 0) {
    char found = detect_delimiter(lines[first], sample);
    if (found != *named_delimiter && count_outside_quotes(lines[first], found) > 0)
      throw UserError(fmt::format("{} line {} names the delimiter '{}' (sep={}), but the header on line "
                                  "{} has none and is {}-delimited; fix or delete the sep line",
                                  source, start, printable_delimiter(*named_delimiter),
                                  printable_delimiter(*named_delimiter), first + 1, delimiter_name(found)));
  }
  if (!named_delimiter)
    if (std::optional<char> other = undetected_delimiter(lines[first], sample))
      throw UserError(fmt::format("{} line {}: the header has no comma, semicolon or tab, the delimiters "
                                  "that are detected, but it and the lines after it split evenly at "
                                  "'{}'; add the line sep={} before the header to name that delimiter",
                                  source, first + 1, *other, *other));
  reject_invalid_utf8(lines, table.delimiter, source);

  auto parser = make_parser(table.delimiter);
  CallbackState state;
  for (std::size_t i = start; i < lines.size(); ++i) {
    std::int64_t line_number = static_cast<std::int64_t>(i) + 1;
    if (!state.row_open && starts_row(lines[i], table.delimiter)) {
      state.row_start_line = line_number;
      state.row_open = true;
    }
    std::size_t parsed =
        csv_parse(parser.get(), lines[i].data(), lines[i].size(), on_field, on_row_end, &state);
    if (parsed != lines[i].size()) throw malformed_field(table, state, source, line_number, lines[i], parsed);
    take_rows(table, state);
  }

  if (csv_fini(parser.get(), on_field, on_row_end, &state) != 0)
    throw UserError(
        fmt::format("{} line {}: a quoted field that starts in this row is never "
                    "closed; add the closing quote",
                    source, state.row_start_line));
  take_rows(table, state);
  drop_unnamed_columns(table);
  return table;
}

Table read_csv(const std::string& path) { return parse_csv(damo::read_file(path), path); }

std::string missing_option(const Table& table, const std::vector<std::string>& texts) {
  std::vector<std::string> markers = table.missing_markers;
  for (const std::string& text : texts)
    if (std::find(markers.begin(), markers.end(), text) == markers.end()) markers.push_back(text);
  std::string list;
  for (const std::string& marker : markers) {
    if (!list.empty()) list += ',';
    if (marker.find_first_of(",\"") == std::string::npos) {
      list += marker;
      continue;
    }
    list += '"';
    for (char c : marker) list += c == '"' ? std::string("\"\"") : std::string(1, c);
    list += '"';
  }
  return "--missing " + shell_quoted(list);
}

std::vector<std::string> mark_missing(Table& table, const std::vector<std::string>& markers,
                                      const std::vector<std::size_t>& columns) {
  std::vector<std::string> notes;
  if (markers.empty()) return notes;
  for (const std::string& marker : markers)
    if (std::find(table.missing_markers.begin(), table.missing_markers.end(), marker) == table.missing_markers.end())
      table.missing_markers.push_back(marker);
  table.marked_missing.resize(table.column_count(), 0);
  std::vector<std::size_t> chosen = columns;
  if (chosen.empty())
    for (std::size_t i = 0; i < table.column_count(); ++i) chosen.push_back(i);
  for (std::size_t column : chosen) {
    std::vector<std::size_t> counts(markers.size(), 0);
    for (std::string& cell : table.columns.at(column).cells) {
      // A quoted cell keeps its spaces, so they are dropped here, as numbers drop them.
      auto found = std::find(markers.begin(), markers.end(), trim(cell));
      if (found == markers.end()) continue;
      ++counts[static_cast<std::size_t>(found - markers.begin())];
      ++table.marked_missing[column];
      cell.clear();
    }
    std::vector<std::string> parts;
    for (std::size_t m = 0; m < markers.size(); ++m)
      if (counts[m] > 0)
        parts.push_back(fmt::format("'{}' in {} cell{}", markers[m], counts[m], counts[m] == 1 ? "" : "s"));
    if (parts.empty()) continue;
    std::string list = parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) list += (i + 1 == parts.size() ? " and " : ", ") + parts[i];
    notes.push_back(fmt::format("column '{}': {} read as missing (--missing)", table.columns[column].name, list));
  }
  return notes;
}

std::string format_csv_row(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    const std::string& field = fields[i];
    bool needs_quotes = field.find_first_of(",\"\r\n") != std::string::npos ||
                        (!field.empty() && (field.front() == ' ' || field.back() == ' '));
    if (!needs_quotes) {
      line += field;
      continue;
    }
    line += '"';
    for (char c : field) {
      if (c == '"') line += '"';
      line += c;
    }
    line += '"';
  }
  line += '\n';
  return line;
}

}  // namespace segment
