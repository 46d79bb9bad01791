// Column kinds: number and date parsing, the majority rule, cell errors and identifiers.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "demo/test_util.h"
#include "segment/column_types.h"
#include "segment/csv_table.h"

using namespace segment;
using namespace segment_test;

TEST_CASE("number parsing accepts decimals only") {
  CHECK(parse_number("12") == 12.0);
  CHECK(parse_number("-3.5") == -3.5);
  CHECK(parse_number("+1e3") == 1000.0);
  CHECK(parse_number(".5") == 0.5);
  CHECK(parse_number("-.25") == -0.25);
  CHECK_FALSE(parse_number("").has_value());
  CHECK_FALSE(parse_number("-").has_value());
  CHECK_FALSE(parse_number("nan").has_value());
  CHECK_FALSE(parse_number("inf").has_value());
  CHECK_FALSE(parse_number("-inf").has_value());
  CHECK_FALSE(parse_number("1,5").has_value());
  CHECK_FALSE(parse_number("0x10").has_value());
  CHECK_FALSE(parse_number("12 kg").has_value());
  CHECK_FALSE(parse_number("1e999").has_value());
}

TEST_CASE("date parsing gives days since 1970") {
  // References from Python: (date(y, m, d) - date(1970, 1, 1)).days.
  CHECK(parse_date("04-09-2012") == 15587.0);
  CHECK(parse_date("04/09/2012") == 15587.0);
  CHECK(parse_date("04.09.2012") == 15587.0);
  CHECK(parse_date("2012-09-04") == 15587.0);
  CHECK(parse_date("01-01-1970") == 0.0);
  CHECK(parse_date("31-12-1969") == -1.0);
  CHECK(parse_date("29-02-2000") == 11016.0);
  CHECK_FALSE(parse_date("29-02-2013").has_value());
  CHECK_FALSE(parse_date("31-04-2012").has_value());
  CHECK_FALSE(parse_date("4-9-2012").has_value());
  CHECK_FALSE(parse_date("04-09/2012").has_value());
  CHECK_FALSE(parse_date("2012-13-01").has_value());
  CHECK_FALSE(parse_date("Graduation").has_value());
}

TEST_CASE("column kind by majority") {
  CHECK(infer_column_kind({"x", {"1", "2", "", "3.5"}}) == ColumnKind::Numeric);
  CHECK(infer_column_kind({"x", {"1", "2", "n/a"}}) == ColumnKind::Numeric);
  CHECK(infer_column_kind({"x", {"1", "a", "b"}}) == ColumnKind::Categorical);
  CHECK(infer_column_kind({"x", {"1", "a"}}) == ColumnKind::Categorical);
  CHECK(infer_column_kind({"d", {"04-09-2012", "2013-01-02", ""}}) == ColumnKind::Date);
  CHECK(infer_column_kind({"e", {"", ""}}) == ColumnKind::Categorical);
}

TEST_CASE("bad numeric cell names line, column and value") {
  Table t = parse_csv("Fresh,Milk\n1,2\n3,4\n5,n/a\n", "w.csv");
  CHECK(parse_cell(t, 1, 1, ColumnKind::Numeric) == 4.0);
  std::string message = error_message([&] { parse_cell(t, 2, 1, ColumnKind::Numeric); });
  CHECK(contains(message, "w.csv line 4, column 'Milk'"));
  CHECK(contains(message, "'n/a' is not a number"));
}

TEST_CASE("decimal comma cell names the decimal point") {
  CHECK(is_decimal_comma_number("12669,5"));
  CHECK(is_decimal_comma_number("-0,25"));
  CHECK_FALSE(is_decimal_comma_number("12669"));
  CHECK_FALSE(is_decimal_comma_number("1,234,5"));
  CHECK_FALSE(is_decimal_comma_number("a,5"));
  CHECK_FALSE(parse_number("12669,5").has_value());

  Table t = parse_csv("Fresh;Milk\n1;2\n3;4\n5;12669,5\n", "w.csv");
  CHECK(error_message([&] { parse_cell(t, 2, 1, ColumnKind::Numeric); }) ==
        "w.csv line 4, column 'Milk': '12669,5' is not a number, because it has a decimal comma, "
        "but the column is numeric; write decimal points, as in '12669.5'");

  // Three digits after the comma may be thousands, so the message gives both readings.
  CHECK(may_separate_thousands("1,234"));
  CHECK(may_separate_thousands(" -12,500"));
  CHECK_FALSE(may_separate_thousands("12669,5"));
  CHECK_FALSE(may_separate_thousands("1234,567"));
  CHECK_FALSE(may_separate_thousands(",123"));
  CHECK_FALSE(may_separate_thousands("1,2345"));
  Table grouped = parse_csv("seg,amount\nA,500\nB,\"1,234\"\n", "g.csv");
  CHECK(error_message([&] { parse_cell(grouped, 1, 1, ColumnKind::Numeric); }) ==
        "g.csv line 3, column 'amount': '1,234' is not a number, but the column is numeric; its "
        "comma separates either thousands ('1234') or decimals ('1.234'), so write the number "
        "without thousands separators and with a decimal point");
}

TEST_CASE("numbers with thousands separators") {
  CHECK(ungrouped_number("12.669,00") == "12669.00");
  CHECK(ungrouped_number(" -1.234.567,5 ") == "-1234567.5");
  CHECK(ungrouped_number("1.234.567") == "1234567");
  CHECK(ungrouped_number("1,234.50") == "1234.50");
  CHECK(ungrouped_number("1,234,567") == "1234567");
  CHECK(ungrouped_number("+12,669.00") == "+12669.00");
  // Texts that other rules read or explain.
  CHECK_FALSE(ungrouped_number("1.234"));
  CHECK_FALSE(ungrouped_number("1,234"));
  CHECK_FALSE(ungrouped_number("214,00"));
  // Groups of other sizes, mixed separators and missing digits.
  CHECK_FALSE(ungrouped_number("12.66,00"));
  CHECK_FALSE(ungrouped_number("1.2345,00"));
  CHECK_FALSE(ungrouped_number("1234.567,00"));
  CHECK_FALSE(ungrouped_number("1.234.567.8"));
  CHECK_FALSE(ungrouped_number("1.234,"));
  CHECK_FALSE(ungrouped_number("1,234,56"));
  CHECK_FALSE(ungrouped_number("1.234,567.8"));
  CHECK_FALSE(ungrouped_number("a.234,00"));

  Table t = parse_csv("Fresh;Milk\n1;2\n3;4\n5;12.669,00\n", "w.csv");
  CHECK(error_message([&] { parse_cell(t, 2, 1, ColumnKind::Numeric); }) ==
        "w.csv line 4, column 'Milk': '12.669,00' is not a number, because it has thousands "
        "separators, but the column is numeric; write it without thousands separators and with a "
        "decimal point, as in '12669.00'");
}

TEST_CASE("bad date cell names line, column and value") {
  Table t = parse_csv("Dt\n04-09-2012\n31-02-2013\n", "m.csv");
  CHECK(parse_cell(t, 0, 0, ColumnKind::Date) == 15587.0);
  std::string message = error_message([&] { parse_cell(t, 1, 0, ColumnKind::Date); });
  CHECK(contains(message, "m.csv line 3, column 'Dt'"));
  CHECK(contains(message, "'31-02-2013' is not a valid date"));
}

TEST_CASE("identifier names") {
  for (const char* name :
       {"id", "ID", "Id", "CustomerID", "userId", "customer_id", "row-id", "Client ID"}) {
    CAPTURE(name);
    CHECK(is_id_name(name));
  }
  for (const char* name : {"Paid", "VOID", "idle", "Income", "Kidhome", "I"}) {
    CAPTURE(name);
    CHECK_FALSE(is_id_name(name));
  }
}

TEST_CASE("distinct integer column is an identifier") {
  std::string text = "code,amount\n";
  for (int i = 0; i < 25; ++i)
    text += std::to_string(1000 + (i * 7) % 25) + "," + std::to_string(i % 5) + "\n";
  Table t = parse_csv(text, "ids.csv");
  CHECK(is_id_column(t, 0, ColumnKind::Numeric));
  CHECK_FALSE(is_id_column(t, 1, ColumnKind::Numeric));
  CHECK_FALSE(is_id_column(t, 0, ColumnKind::Categorical));

  Table small = parse_csv("code,amount\n1,5\n2,6\n3,7\n", "small.csv");
  CHECK_FALSE(is_id_column(small, 0, ColumnKind::Numeric));
}

TEST_CASE("distinct amounts in a small table are features") {
  // Shuffled 1..30 numbers the rows. Distinct amounts do not, in any order, and neither do
  // 30 distinct ages, sorted or not, nor increasing codes with gaps.
  std::string text = "shuffled,spend,sparse,age,sorted_spend,gapped\n";
  for (int i = 0; i < 30; ++i)
    text += fmt::format("{},{},{},{},{},{}\n", (i * 7) % 30 + 1, 100 + (i * 37) % 900 * 13,
                        1000 * ((i * 11) % 30), 20 + (i * 13) % 31 * 2 % 60, 50 + i * i, 500 + 7 * i);
  Table t = parse_csv(text, "amounts.csv");
  CHECK(is_id_column(t, 0, ColumnKind::Numeric));
  // One blank number still numbers the rows; two of 30 are more than the one allowed.
  std::string one_blank = "n,x\n";
  std::string two_blank = "n,x\n";
  for (int i = 1; i <= 30; ++i) {
    one_blank += fmt::format("{},{}\n", i == 7 ? "" : std::to_string(i), i % 2);
    two_blank += fmt::format("{},{}\n", i == 7 || i == 30 ? "" : std::to_string(i), i % 2);
  }
  CHECK(is_id_column(parse_csv(one_blank, "one.csv"), 0, ColumnKind::Numeric));
  CHECK_FALSE(is_id_column(parse_csv(two_blank, "two.csv"), 0, ColumnKind::Numeric));
  for (std::size_t c = 1; c < 6; ++c) {
    CAPTURE(t.columns[c].name);
    CHECK_FALSE(is_id_column(t, c, ColumnKind::Numeric));
  }

  // The first 60 customers of the wholesale table: four spending columns hold distinct
  // integers there, and all six stay features.
  Table wholesale = read_csv(shipped_data("wholesale_customers.csv"));
  std::string first = "Fresh,Milk,Grocery,Frozen,Detergents_Paper,Delicassen\n";
  for (std::size_t r = 0; r < 60; ++r) {
    for (std::size_t c = 2; c < 8; ++c) first += wholesale.columns[c].cells[r] + (c == 7 ? "\n" : ",");
  }
  Table sixty = parse_csv(first, "sixty.csv");
  for (std::size_t c = 0; c < 6; ++c) {
    CAPTURE(sixty.columns[c].name);
    CHECK_FALSE(is_id_column(sixty, c, ColumnKind::Numeric));
  }
}

TEST_CASE("exact decimal of number texts") {
  CHECK(exact_decimal("3") == "3e0");
  CHECK(exact_decimal("3.0") == "3e0");
  CHECK(exact_decimal("03") == "3e0");
  CHECK(exact_decimal("+3") == "3e0");
  CHECK(exact_decimal(".3e1") == "3e0");
  CHECK(exact_decimal("30.50") == "305e-1");
  CHECK(exact_decimal("3.05E+1") == "305e-1");
  CHECK(exact_decimal("-0.0") == "0");
  CHECK(exact_decimal("0e5") == "0");
  CHECK(exact_decimal("-1200") == "-12e2");
  // float64 rounds these pairs to one double, but their decimals differ.
  CHECK(exact_decimal("9007199254740992") != exact_decimal("9007199254740993"));
  CHECK(exact_decimal("0.1") != exact_decimal("0.10000000000000001"));
  CHECK_FALSE(exact_decimal("NA").has_value());
  CHECK_FALSE(exact_decimal("1,5").has_value());
  CHECK_FALSE(exact_decimal("inf").has_value());
  // from_chars alone would read "+-3" as -3.
  CHECK_FALSE(parse_number("+-3").has_value());
  CHECK_FALSE(parse_number("++3").has_value());
  CHECK(parse_number("+3") == 3.0);
}

TEST_CASE("plain decimal of exact values") {
  CHECK(plain_decimal("0") == "0");
  CHECK(plain_decimal("3e0") == "3");
  CHECK(plain_decimal("12e2") == "1200");
  CHECK(plain_decimal("305e-1") == "30.5");
  CHECK(plain_decimal("1e-3") == "0.001");
  CHECK(plain_decimal("-25e-1") == "-2.5");
  CHECK(plain_decimal("1e300") == "1e300");
  CHECK(plain_decimal("15e-301") == "1.5e-300");
  CHECK(plain_decimal(*exact_decimal("9007199254740992.0")) == "9007199254740992");
}

TEST_CASE("repeated texts suggest one missing option") {
  // NA and - each fill two cells, and x one, so the message suggests NA and - together.
  Table t = parse_csv("amount\nNA\n1\n-\nNA\n-\nx\n", "t.csv");
  CHECK(error_message([&] { parse_cell(t, 0, 0, ColumnKind::Numeric); }) ==
        "t.csv line 2, column 'amount': 'NA' is not a number, but the column is numeric; 2 cells of the "
        "column hold 'NA' (and 2 hold '-'). If they mark missing values, pass --missing "
        "'NA,-' or leave those cells empty; otherwise fix the values");
  CHECK(error_message([&] { parse_cell(t, 5, 0, ColumnKind::Numeric); }).find("fix the value, or leave the cell "
                                                                              "empty") != std::string::npos);
  Table dates = parse_csv("joined\n2020-01-01\nnever\nnever\n", "d.csv");
  CHECK(error_message([&] { parse_cell(dates, 1, 0, ColumnKind::Date); }) ==
        "d.csv line 3, column 'joined': 'never' is not a valid date, but the column contains dates; 2 cells "
        "of the column hold 'never'. If it marks missing values, pass --missing 'never' or leave those "
        "cells empty; otherwise fix the values");
}

TEST_CASE("missing option spans other columns") {
  // price and joined contain '?' and 'never' twice. city is categorical, so its 'n/a' is
  // a category and stays out of the option.
  Table t = parse_csv(
      "amount,price,city,joined\n"
      "NA,?,n/a,2020-01-01\n"
      "1,2,Oslo,never\n"
      "NA,?,n/a,never\n"
      "3,4,Rome,2020-02-01\n"
      "5,6,Rome,2020-03-01\n",
      "t.csv");
  CHECK(error_message([&] { parse_cell(t, 0, 0, ColumnKind::Numeric); }) ==
        "t.csv line 2, column 'amount': 'NA' is not a number, but the column is numeric; 2 cells of the "
        "column hold 'NA' (and 2 cells of column 'price' hold '?', 2 cells of column 'joined' hold "
        "'never'). If they mark missing values, pass --missing 'NA,?,never' or leave those cells empty; "
        "otherwise fix the values");
  // A text already listed from the column in error is not repeated.
  Table same = parse_csv("a,b\nNA,NA\nNA,NA\n1,2\n3,4\n5,6\n", "s.csv");
  CHECK(error_message([&] { parse_cell(same, 0, 1, ColumnKind::Numeric); }) ==
        "s.csv line 2, column 'b': 'NA' is not a number, but the column is numeric; 2 cells of the "
        "column hold 'NA'. If it marks missing values, pass --missing 'NA' or leave those cells "
        "empty; otherwise fix the values");
}
