// Malformed CSV files through damo-segment's reader: each row is one kind of damage with
// the message that reports it, or the table that a lenient but well-defined rule gives.
#include <doctest/doctest.h>

#include <string>

#include "reliability_util.h"
#include "segment/column_types.h"
#include "segment/csv_table.h"

using namespace segment;
using damo::reliability::message_of;

namespace {

struct BadCsv {
  const char* damage;
  std::string text;
  std::string message;
};


std::string parse_error(const std::string& text) {
  return message_of<damo::UserError>([&] { parse_csv(text, "t.csv"); });
}

}  // namespace

TEST_CASE("malformed csv files raise UserError naming the line") {
  const BadCsv rows[] = {
      {"empty file", "", "t.csv: the file is empty; expected a header row with the column names"},
      {"only blank lines", "\n\r\n  \n",
       "t.csv: the file is empty; expected a header row with the column names"},
      {"byte-order mark only", "\xEF\xBB\xBF",
       "t.csv: the file is empty; expected a header row with the column names"},
      {"too many fields", "a,b\n1,2\n3,4,5\n",
       "t.csv line 3: found 3 fields but the header has 2 (comma-delimited); field 3 holds '5' "
       "after column 'b', the last column. Quote values that contain the delimiter"},
      {"too few fields", "a,b,c\n1,2,3\n4,5\n",
       "t.csv line 3: found 2 fields but the header has 3 (comma-delimited); the row ends at "
       "column 'b' with '5', so column 'c' has no value. Check for a missing delimiter"},
      {"empty header name", "a,,c\n1,2,3\n",
       "t.csv line 1: header field 2 is empty, but line 2 has '2' in that column; give every column a name"},
      {"repeated header name", "a,b,a\n1,2,3\n",
       "t.csv line 1: the header names column 'a' twice (fields 1 and 3); rename one of them"},
      {"text after a closing quote", "a,b\n\"1\"x,2\n",
       "t.csv line 2, column 'a': malformed quoted value near '\"1\"x'; a value in quotes must end "
       "with a quote followed by the delimiter or the line end, and a quote inside it is written "
       "as \"\""},
      {"quote inside an unquoted field", "a,b\n1\"2,3\n",
       "t.csv line 2, column 'a': the unquoted value '1\"2' contains a quote (\"); put the value in "
       "quotes and double each quote inside it, as \"a\"\"b\""},
      {"quote inside an unquoted header", "a,b\"c\n1,2\n",
       "t.csv line 1, field 2: the unquoted value 'b\"c' contains a quote (\"); put the value in "
       "quotes and double each quote inside it, as \"a\"\"b\""},
      {"unterminated quote", "a,b\n1,\"2\n3,4\n",
       "t.csv line 2: a quoted field that starts in this row is never closed; add the closing "
       "quote"},
      {"rows delimited differently from the header", "a;b;c\n1,2,3\n",
       "t.csv line 2: found 1 fields but the header has 3 (semicolon-delimited); the row ends at "
       "column 'a' with '1,2,3', so column 'b' has no value. Check for a missing delimiter"},
      {"PNG bytes", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", 20),
       "t.csv line 3: found a NUL byte, so this is a binary file rather than CSV text; pass a "
       "CSV file"},
      {"UTF-16 text", std::string("\xFF\xFE" "a\0,\0b\0\n\0", 10),
       "t.csv: the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8, for "
       "example with iconv -f utf-16 -t utf-8"},
      {"Latin-1 text", "name,b\nK\xf6ln,1\n",
       "t.csv line 2, column 'name': byte 2 of the line (0xF6) is not UTF-8 text; save the file as UTF-8, for example with "
       "iconv -f latin1 -t utf-8 (for a Latin-1 file)"},
      {"overlong UTF-8 form", "a,b\n\xc0\xaf,1\n",
       "t.csv line 2, column 'a': byte 1 of the line (0xC0) is not UTF-8 text; save the file as UTF-8, for example with "
       "iconv -f latin1 -t utf-8 (for a Latin-1 file)"},
      {"UTF-16 surrogate in UTF-8", "a,b\nx\xed\xa0\x80,1\n",
       "t.csv line 2, column 'a': byte 2 of the line (0xED) is not UTF-8 text; save the file as UTF-8, for example with "
       "iconv -f latin1 -t utf-8 (for a Latin-1 file)"},
      {"NUL bytes in a row", std::string("a,b\n1,\0\0\n", 9),
       "t.csv line 2: found a NUL byte, so this is a binary file rather than CSV text; pass a "
       "CSV file"},
  };
  for (const BadCsv& row : rows) {
    INFO(row.damage);
    CHECK(parse_error(row.text) == row.message);
  }
}

TEST_CASE("csv line ending, mark and blank line variants give one table") {
  const std::pair<const char*, std::string> variants[] = {
      {"LF", "id,x\n1,2.5\n2,3\n"},
      {"CRLF", "id,x\r\n1,2.5\r\n2,3\r\n"},
      {"CR", "id,x\r1,2.5\r2,3\r"},
      {"mixed line endings", "id,x\r\n1,2.5\r2,3\n"},
      {"byte-order mark", "\xEF\xBB\xBFid,x\n1,2.5\n2,3\n"},
      {"blank lines", "\n\nid,x\n\n1,2.5\n   \n2,3\n\n"},
      {"no final line break", "id,x\n1,2.5\n2,3"},
      {"quoted cells", "\"id\",\"x\"\n\"1\",\"2.5\"\n2,\"3\"\n"},
  };
  for (const auto& [what, text] : variants) {
    INFO(what);
    Table table = parse_csv(text, "t.csv");
    REQUIRE(table.column_count() == 2);
    CHECK(table.column_names() == std::vector<std::string>{"id", "x"});
    REQUIRE(table.row_count() == 2);
    CHECK(table.columns[1].cells == std::vector<std::string>{"2.5", "3"});
  }
}

TEST_CASE("csv header only gives an empty table") {
  Table table = parse_csv("a,b,c\n", "t.csv");
  CHECK(table.column_count() == 3);
  CHECK(table.row_count() == 0);
}

TEST_CASE("csv with another delimiter reads as one column") {
  // A colon is not a delimiter, so the header is one column; asking for a column by name
  // then lists what the reader saw.
  Table table = parse_csv("a:b:c\n1:2:3\n", "t.csv");
  CHECK(table.column_names() == std::vector<std::string>{"a:b:c"});
  CHECK(message_of<damo::UserError>([&] { table.require_column("b", "the label"); }) ==
        "t.csv: column 'b' (the label) not found; the columns are 'a:b:c'");
  // Lines that split evenly at '|' ask for a sep line instead.
  CHECK(message_of<damo::UserError>([] { parse_csv("a|b|c\n1|2|3\n", "t.csv"); })
            .ends_with("add the line sep=| before the header to name that delimiter"));
}

TEST_CASE("csv non-numeric cell in a numeric column names the cell") {
  Table table = parse_csv("id,amount\n1,2.5\n2,3\n3,abc\n4,7\n", "t.csv");
  std::size_t amount = table.require_column("amount", "a feature");
  REQUIRE(infer_column_kind(table.columns[amount]) == ColumnKind::Numeric);
  CHECK(parse_cell(table, 0, amount, ColumnKind::Numeric) == 2.5);
  CHECK(message_of<damo::UserError>([&] { parse_cell(table, 2, amount, ColumnKind::Numeric); }) ==
        "t.csv line 4, column 'amount': 'abc' is not a number, but the column is numeric; fix the "
        "value, or leave the cell empty to mark it missing");
}
