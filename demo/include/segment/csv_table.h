// Table: a CSV file read into columns of text cells. Every row keeps the file line it
// started on, so later stages can name the line, column and value of a bad cell.
//
// The reader accepts what spreadsheet exports and public data sets contain. The first row
// is the header. The delimiter is a comma, semicolon or tab, detected from the header
// line. Fields may be in double quotes, with "" for a literal quote and with line breaks
// inside. Lines end in LF, CRLF or CR, and a UTF-8 byte-order mark is dropped. Blank lines
// are skipped. A cell that is empty after trimming spaces and tabs is a missing value and
// is stored as "".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segment {

/// One column of a table: its header name and one trimmed text cell per row.
struct Column {
  std::string name;
  std::vector<std::string> cells;
};

struct Table {
  /// File name (or "<string>") used in messages.
  std::string source;
  char delimiter = ',';
  /// True when the file starts with two UTF-8 byte-order marks, of which parse_csv drops one.
  bool second_byte_order_mark = false;
  std::vector<Column> columns;
  /// 1-based file line of the header row.
  std::int64_t header_line = 0;
  /// 1-based file line on which each row starts.
  std::vector<std::int64_t> row_lines;
  /// The texts that mark_missing read as missing values, and per column how many cells it
  /// emptied (empty until mark_missing runs).
  std::vector<std::string> missing_markers;
  std::vector<std::size_t> marked_missing;

  std::size_t row_count() const { return row_lines.size(); }
  std::size_t column_count() const { return columns.size(); }

  /// Index of the column with exactly that name, or nullopt.
  std::optional<std::size_t> find_column(std::string_view name) const;
  /// Index of the first column whose name equals name when ASCII letter case is ignored, or
  /// nullopt.
  std::optional<std::size_t> find_column_ignoring_case(std::string_view name) const;
  /// Index of the column with that name; throws UsageError that names the option or role
  /// the name came from and lists the table's columns.
  std::size_t require_column(std::string_view name, std::string_view role) const;
  /// Suggestions for names that option gave and the table lacks, or "": the column that
  /// differs from one only in letter case, and double quotes where names that the option's
  /// commas split join into a column name. Each starts with "; ".
  std::string unknown_column_hint(const std::vector<std::string>& names, std::string_view option) const;
  /// "FILE line N, column 'NAME'": the prefix of a message about one cell.
  std::string cell_location(std::size_t row, std::size_t column) const;
  /// Header names in file order.
  std::vector<std::string> column_names() const;
  /// Quotes the header names for a message, at most limit of them, and writes each invisible
  /// U+FEFF as <U+FEFF>. When a name contains one, a sentence follows that explains it and
  /// how to remove it.
  std::string quoted_column_names(std::size_t limit = 12) const;
};

/// True when a cell is a missing value.
inline bool is_missing(std::string_view cell) {
  return cell.find_first_not_of(" \t") == std::string_view::npos;
}

/// Empties the cells of the given columns (every column when columns is empty) whose text,
/// without surrounding spaces, is one of markers, such as "NA" or "?", so that they read as
/// missing values. Matching is exact and case-sensitive. Returns one note per column that had such cells, naming the
/// markers and how many cells held each.
std::vector<std::string> mark_missing(Table& table, const std::vector<std::string>& markers,
                                      const std::vector<std::size_t>& columns = {});

/// The --missing option that adds texts to the table's markers, quoted for a POSIX shell:
/// "--missing 'NA'", or "--missing '?,NA'" after --missing '?', and an entry with a comma
/// or a double quote in double quotes ("--missing '\"N,A\"'").
std::string missing_option(const Table& table, const std::vector<std::string>& texts);

/// The delimiter of a table: the first of tab, semicolon and comma that splits the header
/// line and every record of next_lines (a sample of the following lines) into the same
/// number of fields, two or more. When none does, whichever occurs most often outside
/// double quotes in the header; comma for a one-column header.
char detect_delimiter(std::string_view header_line, const std::vector<std::string_view>& next_lines = {});

/// Parses CSV text; source names the text in messages. Throws UserError for an empty input,
/// a NUL byte (a binary file), a header with an empty or repeated name, a row whose field
/// count differs from the header's, and a malformed or unterminated quoted field. The message names the line, and
/// the column and value where there is one.
Table parse_csv(std::string_view text, const std::string& source);

/// Reads and parses a CSV file; throws UserError naming the path when it cannot be read.
Table read_csv(const std::string& path);

/// One CSV line (comma-delimited, LF-terminated), quoting the fields that contain a comma,
/// a quote, a line break or surrounding spaces.
std::string format_csv_row(const std::vector<std::string>& fields);

}  // namespace segment
