// CSV reader: delimiters, quoting, line endings, the byte-order mark, missing cells, and
// the line, column and value in the errors for bad rows.
#include <doctest/doctest.h>

#include <string>

#include "damo/runtime/error.h"
#include "demo/test_util.h"
#include "segment/column_types.h"
#include "segment/csv_table.h"

using namespace segment;
using namespace segment_test;

TEST_CASE("csv comma with CRLF") {
  Table t = parse_csv("a,b,c\r\n1,2,3\r\n4,5,6\r\n", "t.csv");
  CHECK(t.delimiter == ',');
  REQUIRE(t.column_count() == 3);
  CHECK(t.columns[0].name == "a");
  CHECK(t.columns[2].name == "c");
  REQUIRE(t.row_count() == 2);
  CHECK(t.columns[2].cells[0] == "3");
  CHECK(t.columns[1].cells[1] == "5");
  CHECK(t.row_lines[0] == 2);
  CHECK(t.row_lines[1] == 3);
}

TEST_CASE("csv semicolon with quoted header and text") {
  Table t = parse_csv("\"age\";\"job\";\"y\"\n30;\"admin.\";\"no\"\n41;\"blue-collar\";\"yes\"\n",
                      "bank.csv");
  CHECK(t.delimiter == ';');
  REQUIRE(t.column_count() == 3);
  CHECK(t.columns[1].name == "job");
  CHECK(t.columns[1].cells[0] == "admin.");
  CHECK(t.columns[2].cells[1] == "yes");
}

TEST_CASE("csv tab with blank cells") {
  Table t = parse_csv("ID\tIncome\tKids\r\n1\t\t2\r\n2\t5000\t\r\n", "m.csv");
  CHECK(t.delimiter == '\t');
  REQUIRE(t.column_count() == 3);
  REQUIRE(t.row_count() == 2);
  CHECK(is_missing(t.columns[1].cells[0]));
  CHECK(t.columns[2].cells[0] == "2");
  CHECK(t.columns[1].cells[1] == "5000");
  CHECK(is_missing(t.columns[2].cells[1]));
}

TEST_CASE("csv spaces around cells are trimmed") {
  Table t = parse_csv("a, b\n 1 ,  \n", "t.csv");
  CHECK(t.columns[1].name == "b");
  CHECK(t.columns[0].cells[0] == "1");
  CHECK(is_missing(t.columns[1].cells[0]));
}

TEST_CASE("csv quoted cells keep their spaces") {
  Table t = parse_csv("code,amount\n\"  AB \",\" 12 \"\n\"AB\",\"  \"\n", "t.csv");
  CHECK(t.columns[0].cells[0] == "  AB ");
  CHECK(t.columns[0].cells[1] == "AB");
  // Numbers and blanks read the same with spaces inside the quotes.
  CHECK(parse_number(t.columns[1].cells[0]) == 12.0);
  CHECK(is_missing(t.columns[1].cells[1]));
}

TEST_CASE("csv byte-order mark is dropped") {
  Table t = parse_csv("\xEF\xBB\xBFname,x\nA,1\n", "bom.csv");
  CHECK(t.columns[0].name == "name");
  CHECK(t.find_column("name").has_value());
}

TEST_CASE("csv quoted delimiter, quote and line break") {
  std::string text =
      "name,note,x\n"
      "\"Smith, J\",\"said \"\"hi\"\"\",1\n"
      "B,\"two\nlines\",2\n"
      "C,plain,3\n";
  Table t = parse_csv(text, "q.csv");
  REQUIRE(t.row_count() == 3);
  CHECK(t.columns[0].cells[0] == "Smith, J");
  CHECK(t.columns[1].cells[0] == "said \"hi\"");
  CHECK(t.columns[1].cells[1] == "two\nlines");
  CHECK(t.row_lines[1] == 3);
  CHECK(t.row_lines[2] == 5);
}

TEST_CASE("csv blank lines skipped and counted") {
  Table t = parse_csv("a,b\n\n1,2\n   \n3,4", "blank.csv");
  REQUIRE(t.row_count() == 2);
  CHECK(t.row_lines[0] == 3);
  CHECK(t.row_lines[1] == 5);
  CHECK(t.columns[1].cells[1] == "4");
}

TEST_CASE("csv lone CR line endings") {
  Table t = parse_csv("a,b\r1,2\r3,4\r", "mac.csv");
  REQUIRE(t.row_count() == 2);
  CHECK(t.row_lines[1] == 3);
  CHECK(t.columns[0].cells[1] == "3");
}

TEST_CASE("csv too many fields names line, column and value") {
  std::string message = error_message([] { parse_csv("a,b,c\n1,2,3\n4,5,6,7\n", "f.csv"); });
  CHECK(contains(message, "f.csv line 3"));
  CHECK(contains(message, "found 4 fields but the header has 3"));
  CHECK(contains(message, "'7'"));
  CHECK(contains(message, "column 'c'"));
}

TEST_CASE("csv too few fields names line, column and value") {
  std::string message = error_message([] { parse_csv("a;b;c\n1;2;3\n4;5\n", "f.csv"); });
  CHECK(contains(message, "f.csv line 3"));
  CHECK(contains(message, "found 2 fields but the header has 3"));
  CHECK(contains(message, "column 'b' with '5'"));
  CHECK(contains(message, "column 'c' has no value"));
}

TEST_CASE("csv reads UTF-8 text of every length") {
  // Two-, three- and four-byte sequences, the largest code point and a byte-order mark.
  Table t = parse_csv("\xEF\xBB\xBFgr\xC3\xB6\xC3\x9F" "e,city\n1,K\xC3\xB6ln\n2,\xE6\x9D\xB1\xE4\xBA\xAC\n"
                      "3,\xF0\x9F\x8C\x8D\xF4\x8F\xBF\xBF\n",
                      "utf8.csv");
  CHECK(t.columns[0].name == "gr\xC3\xB6\xC3\x9F" "e");
  CHECK(t.columns[1].cells == std::vector<std::string>{"K\xC3\xB6ln", "\xE6\x9D\xB1\xE4\xBA\xAC",
                                                       "\xF0\x9F\x8C\x8D\xF4\x8F\xBF\xBF"});
}

TEST_CASE("csv byte not UTF-8 names line and column") {
  const std::string advice =
      " is not UTF-8 text; save the file as UTF-8, for example with iconv -f latin1 -t utf-8 "
      "(for a Latin-1 file)";
  CHECK(error_message([] { parse_csv("name;city\nAna;Porto\nRen\xE9;Lyon\n", "l.csv"); }) ==
        "l.csv line 3, column 'name': byte 4 of the line (0xE9)" + advice);
  CHECK(error_message([] { parse_csv("name;city\nAna;Cr\xE9teil\n", "l.csv"); }) ==
        "l.csv line 2, column 'city': byte 7 of the line (0xE9)" + advice);
  CHECK(error_message([] { parse_csv("na\xEFve;city\nA;B\n", "l.csv"); }) ==
        "l.csv line 1, header field 1: byte 3 of the line (0xEF)" + advice);
  // A quoted value across lines: the byte is on line 3, in the value that starts on line 2.
  CHECK(error_message([] { parse_csv("a,b\n1,\"x\ny\xE9\"\n", "l.csv"); }) ==
        "l.csv line 3, column 'b': byte 2 of the line (0xE9)" + advice);
  CHECK(error_message([] { parse_csv("a,b\n1,2,\xE9\n", "l.csv"); }) ==
        "l.csv line 2, field 3: byte 5 of the line (0xE9)" + advice);
  // A malformed quote before the byte leaves the field unknown.
  CHECK(error_message([] { parse_csv("a,b\n\"x\"y,\xE9\n", "l.csv"); }) ==
        "l.csv line 2: byte 6 of the line (0xE9)" + advice);
}

TEST_CASE("csv malformed quote names the line") {
  std::string message = error_message([] { parse_csv("a,b\n1,2\n\"x\"y,3\n", "bad.csv"); });
  CHECK(contains(message, "bad.csv line 3, column 'a'"));
  CHECK(contains(message, "malformed quoted value near '\"x\"y'"));
}

TEST_CASE("csv unterminated quote names the starting line") {
  std::string message = error_message([] { parse_csv("a,b\n1,2\n3,\"open\n4,5\n", "open.csv"); });
  CHECK(contains(message, "open.csv line 3"));
  CHECK(contains(message, "never closed"));
}

TEST_CASE("csv empty input rejected") {
  CHECK(
      contains(error_message([] { parse_csv("", "empty.csv"); }), "empty.csv: the file is empty"));
  CHECK(contains(error_message([] { parse_csv("\r\n \n", "blank.csv"); }), "the file is empty"));
}

TEST_CASE("csv header problems rejected") {
  std::string repeated = error_message([] { parse_csv("a,b,a\n1,2,3\n", "h.csv"); });
  CHECK(contains(repeated, "h.csv line 1"));
  CHECK(contains(repeated, "names column 'a' twice (fields 1 and 3)"));
  std::string unnamed = error_message([] { parse_csv("a,,c\n1,,3\n4,5,6\n", "h.csv"); });
  CHECK(contains(unnamed, "h.csv line 1: header field 2 is empty, but line 3 has '5' in that column; give "
                          "every column a name"));
  CHECK(contains(error_message([] { parse_csv(",\n,\n", "h.csv"); }), "every header field is empty"));
}

TEST_CASE("csv unnamed blank columns dropped") {
  // A spreadsheet export that ends every line with empty fields.
  Table t = parse_csv("a;b;;\r\n1;2;;\r\n3;4; ;\r\n", "x.csv");
  REQUIRE(t.column_count() == 2);
  CHECK(t.columns[0].name == "a");
  CHECK(t.columns[1].name == "b");
  CHECK(t.columns[1].cells == std::vector<std::string>{"2", "4"});
  CHECK(t.header_line == 1);
  // Until the unnamed columns are dropped, messages call them by their field number.
  CHECK(contains(error_message([] { parse_csv("a;b;;\n1;2;;\n3;4\n", "x.csv"); }),
                 "x.csv line 3: found 2 fields but the header has 4 (semicolon-delimited); the row ends "
                 "at column 'b' with '4', so unnamed field 3 has no value"));
}

TEST_CASE("csv sep line names the delimiter") {
  Table t = parse_csv("sep=;\r\nname;amount\r\nSmith, J;3\r\n", "x.csv");
  CHECK(t.delimiter == ';');
  REQUIRE(t.column_count() == 2);
  CHECK(t.columns[0].cells == std::vector<std::string>{"Smith, J"});
  CHECK(t.row_lines == std::vector<std::int64_t>{3});
  CHECK(t.header_line == 2);
  Table tabs = parse_csv("sep=\t\na\tb\n1\t2\n", "t.csv");
  CHECK(tabs.delimiter == '\t');
  CHECK(tabs.column_count() == 2);
  // A header named "sep=x" with a letter is an ordinary column name.
  Table named = parse_csv("sep=x\n1\n", "n.csv");
  CHECK(named.columns[0].name == "sep=x");
  CHECK(contains(error_message([] { parse_csv("sep=,\n\n", "s.csv"); }), "s.csv: the file has only its 'sep=' line"));
  // Forms that spreadsheet programs write: padded with the delimiter, capitals, quoted.
  for (const char* line : {"sep=;;;;", "SEP=;", "sep=; ", "\"sep=;\""}) {
    INFO(line);
    Table padded = parse_csv(std::string(line) + "\nname;amount\nAna;3\n", "p.csv");
    CHECK(padded.delimiter == ';');
    CHECK(padded.column_count() == 2);
  }
  CHECK(contains(error_message([] { parse_csv("sep=|\na|b\n1|2\n3\n", "p.csv"); }),
                 "found 1 fields but the header has 2 ('|'-delimited)"));
  // A sep line that the header does not follow.
  CHECK(error_message([] { parse_csv("sep=;\nname,amount\nAna,3\n", "c.csv"); }) ==
        "c.csv line 1 names the delimiter ';' (sep=;), but the header on line 2 has none and is "
        "comma-delimited; fix or delete the sep line");
  // A single column has no delimiter to find.
  CHECK(parse_csv("sep=;\nname\nAna\n", "one.csv").column_count() == 1);
}

TEST_CASE("csv pipe delimiter needs a sep line") {
  CHECK(error_message([] { parse_csv("\nChannel|Region|Fresh\n2|3|12669\n2|3|7057\n", "p.csv"); }) ==
        "p.csv line 2: the header has no comma, semicolon or tab, the delimiters that are detected, "
        "but it and the lines after it split evenly at '|'; add the line sep=| before the header to "
        "name that delimiter");
  Table named = parse_csv("sep=|\nChannel|Region|Fresh\n2|3|12669\n", "p.csv");
  CHECK(named.column_count() == 3);
  // A column whose name or cells merely contain a '|' stays one column.
  CHECK(parse_csv("a|b\n1\n2|3\n", "one.csv").column_count() == 1);
  CHECK(parse_csv("name|x,amount\nAna,3\n", "comma.csv").column_count() == 2);
  CHECK(parse_csv("\"a|b\"\n1\n", "quoted.csv").column_count() == 1);
}

TEST_CASE("csv header only gives no rows") {
  Table t = parse_csv("a,b\n", "h.csv");
  CHECK(t.column_count() == 2);
  CHECK(t.row_count() == 0);
}

TEST_CASE("csv delimiter detection") {
  CHECK(detect_delimiter("a,b,c") == ',');
  CHECK(detect_delimiter("a;b;c") == ';');
  CHECK(detect_delimiter("a\tb\tc") == '\t');
  CHECK(detect_delimiter("single") == ',');
  CHECK(detect_delimiter("\"x,y\";\"z\"") == ';');
  CHECK(detect_delimiter("a,b;c,d") == ',');
  // Commas in the names of a tab-separated header: the rows decide.
  CHECK(detect_delimiter("Income, k$\tSpend, k$\tseg", {"50\t30\tA", "60\t20\tB"}) == '\t');
  CHECK(detect_delimiter("Income, k$\tSpend, k$\tseg") == ',');
  // Rows that agree with no delimiter leave the choice to the header.
  CHECK(detect_delimiter("a;b;c", {"1;2", "x"}) == ';');
  // Commas inside fields split some files evenly too, so tab and semicolon go first.
  CHECK(detect_delimiter("Spend, EUR;Visits, n\n", {"1,5;2,5\n", "2,5;3,5\n"}) == ';');
  CHECK(detect_delimiter("Name, full\tCity, State\tspend\n",
                         {"Smith, J\tAustin, TX\t5\n", "Doe, A\tBoston, MA\t7\n"}) == '\t');
  // A quoted field across lines is one record.
  CHECK(detect_delimiter("Income, k$\tSpending, score\tSegment\n",
                         {"1\t\"multi\n", "line\"\tA\n", "2\t3\tB\n"}) == '\t');
}

TEST_CASE("csv require_column lists the columns") {
  Table t = parse_csv("Fresh,Milk\n1,2\n", "w.csv");
  CHECK(t.require_column("Milk", "--label") == 1);
  std::string message = error_message([&] { t.require_column("Chanel", "--label"); });
  CHECK(contains(message, "column 'Chanel' (--label) not found"));
  CHECK(contains(message, "'Fresh' and 'Milk'"));
}

TEST_CASE("csv require_column shows U+FEFF in names") {
  // A file that starts with two byte-order marks keeps the second in its first name.
  Table twice = parse_csv("\xEF\xBB\xBF\xEF\xBB\xBF" "Channel,Region\n1,2\n", "w.csv");
  CHECK(twice.columns[0].name == "\xEF\xBB\xBF" "Channel");
  CHECK(error_message([&] { twice.require_column("Channel", "--label"); }) ==
        "w.csv: column 'Channel' (--label) not found; the columns are '<U+FEFF>Channel' and "
        "'Region'. The first name starts with U+FEFF, a second byte-order mark, which most editors "
        "do not show; remove one of the two marks at the start of the file, for example with "
        "tail -c +4 w.csv > fixed.csv");
  Table inside = parse_csv("Channel,Reg\xEF\xBB\xBFion\n1,2\n", "w.csv");
  CHECK(error_message([&] { inside.require_column("Region", "--features"); }) ==
        "w.csv: column 'Region' (--features) not found; the columns are 'Channel' and "
        "'Reg<U+FEFF>ion'. <U+FEFF> is the character U+FEFF, which most editors do not show; "
        "delete it from the header");
  // A mark inside the quotes of the first name is no second mark of the file, so cutting
  // the file's first bytes would not help.
  Table quoted = parse_csv("\"\xEF\xBB\xBF" "seg\",x\nA,1\n", "w.csv");
  CHECK_FALSE(quoted.second_byte_order_mark);
  CHECK(error_message([&] { quoted.require_column("seg", "--label"); }) ==
        "w.csv: column 'seg' (--label) not found; the columns are '<U+FEFF>seg' and 'x'. "
        "<U+FEFF> is the character U+FEFF, which most editors do not show; delete it from the "
        "header");
  CHECK(twice.second_byte_order_mark);
}

TEST_CASE("csv row formatting quotes what needs it") {
  CHECK(format_csv_row({"a", "b c", "1.5"}) == "a,b c,1.5\n");
  CHECK(format_csv_row({"x,y", "say \"hi\"", " pad"}) == "\"x,y\",\"say \"\"hi\"\"\",\" pad\"\n");
  Table t = parse_csv(format_csv_row({"h1", "h2"}) + format_csv_row({"x,y", "say \"hi\""}), "rt");
  CHECK(t.columns[0].cells[0] == "x,y");
  CHECK(t.columns[1].cells[0] == "say \"hi\"");
}

TEST_CASE("csv shipped tables parse with their documented shapes") {
  struct Expected {
    const char* file;
    std::size_t rows, columns;
    char delimiter;
  };
  for (Expected e : {Expected{"wholesale_customers.csv", 440, 8, ','},
                     Expected{"marketing_campaign.csv", 2240, 29, '\t'},
                     Expected{"bank_marketing.csv", 4521, 17, ';'}}) {
    CAPTURE(e.file);
    Table t = read_csv(shipped_data(e.file));
    CHECK(t.row_count() == e.rows);
    CHECK(t.column_count() == e.columns);
    CHECK(t.delimiter == e.delimiter);
  }
  Table marketing = read_csv(shipped_data("marketing_campaign.csv"));
  std::size_t income = marketing.require_column("Income", "test");
  std::size_t blanks = 0;
  for (const std::string& cell : marketing.columns[income].cells) blanks += is_missing(cell);
  CHECK(blanks == 24);
  Table bank = read_csv(shipped_data("bank_marketing.csv"));
  CHECK(bank.columns[1].name == "job");
  CHECK(bank.columns[1].cells[0] == "unemployed");
}

TEST_CASE("csv mall table parses when present") {
  std::string path = mall_customers_path();
  if (!file_exists(path)) {
    MESSAGE("skipped: " << path << " is not present");
    return;
  }
  Table t = read_csv(path);
  CHECK(t.row_count() == 200);
  CHECK(t.column_count() == 5);
  CHECK(t.columns[3].name == "Annual Income (k$)");
}

TEST_CASE("csv missing markers match exactly") {
  Table t = parse_csv("a,b,c\nNA,na,NA\n?,NA ,x\n NA ,1,?\n", "t.csv");
  // Cells are trimmed when read, so " NA " matches, while "na" differs in case.
  std::vector<std::string> notes = mark_missing(t, {"NA", "?"}, {0, 1});
  CHECK(t.columns[0].cells == std::vector<std::string>{"", "", ""});
  CHECK(t.columns[1].cells == std::vector<std::string>{"na", "", "1"});
  // Column c was not chosen, so it keeps its markers.
  CHECK(t.columns[2].cells == std::vector<std::string>{"NA", "x", "?"});
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == "column 'a': 'NA' in 2 cells and '?' in 1 cell read as missing (--missing)");
  CHECK(notes[1] == "column 'b': 'NA' in 1 cell read as missing (--missing)");
  // Without a column list every column is marked.
  std::vector<std::string> all = mark_missing(t, {"?"});
  REQUIRE(all.size() == 1);
  CHECK(all[0] == "column 'c': '?' in 1 cell read as missing (--missing)");
  CHECK(mark_missing(t, {}).empty());
  CHECK(t.missing_markers == std::vector<std::string>{"NA", "?"});
  CHECK(t.marked_missing == std::vector<std::size_t>{3, 1, 1});
}

TEST_CASE("csv missing markers drop spaces inside quotes") {
  Table t = parse_csv("a\n\" NA \"\n\" 42 \"\n", "t.csv");
  mark_missing(t, {"NA"});
  CHECK(t.columns[0].cells[0].empty());
  CHECK(t.columns[0].cells[1] == " 42 ");
}

TEST_CASE("csv missing option quotes for the shell") {
  Table t = parse_csv("a\n1\n", "t.csv");
  CHECK(missing_option(t, {"NA"}) == "--missing 'NA'");
  CHECK(missing_option(t, {"N,A"}) == "--missing '\"N,A\"'");
  CHECK(missing_option(t, {"say \"no\""}) == "--missing '\"say \"\"no\"\"\"'");
  CHECK(missing_option(t, {"n'a"}) == "--missing 'n'\\''a'");
  CHECK(missing_option(t, {"NA", "-"}) == "--missing 'NA,-'");
  // Markers already given come first, and a text among them is not repeated.
  t.missing_markers = {"?", "NA"};
  CHECK(missing_option(t, {"-"}) == "--missing '?,NA,-'");
  CHECK(missing_option(t, {"NA"}) == "--missing '?,NA'");
}
