// Preprocessing: column selection, statistics from the training rows only, imputation,
// the log transform, one-hot encoding and the schema check before prediction.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "demo/test_util.h"
#include "segment/preprocess.h"

using namespace segment;
using namespace segment_test;

namespace {

// Rows 0-3 are the training rows; rows 4-5 hold values far outside them, which must not
// move any statistic.
const char* kTable =
    "CustomerID,amount,city,flat,label\n"
    "101,1,Porto,7,a\n"
    "102,2,Lisbon,7,b\n"
    "103,,Porto,7,a\n"
    "104,10,,7,b\n"
    "105,1000,Faro,9,a\n"
    "106,-50,Faro,9,b\n";

const std::vector<std::size_t> kTrainRows{0, 1, 2, 3};

PreprocessOptions no_log() {
  PreprocessOptions options;
  options.log_transform = false;
  return options;
}

}  // namespace

TEST_CASE("selection leaves out label and identifier") {
  Table t = parse_csv(kTable, "t.csv");
  ColumnSelection s = select_columns(t, "label", {});
  REQUIRE(s.columns.size() == 3);
  CHECK(t.columns[s.columns[0]].name == "amount");
  CHECK(t.columns[s.columns[1]].name == "city");
  CHECK(t.columns[s.columns[2]].name == "flat");
  CHECK(s.kinds[0] == ColumnKind::Numeric);
  CHECK(s.kinds[1] == ColumnKind::Categorical);
  REQUIRE(s.id_column.has_value());
  CHECK(*s.id_column == 0);
  REQUIRE(s.notes.size() == 1);
  CHECK(contains(s.notes[0], "'CustomerID' looks like a row identifier"));
}

TEST_CASE("selection options features, drop and categorical") {
  Table t = parse_csv(kTable, "t.csv");
  FeatureOptions drop;
  drop.drop = {"city"};
  drop.categorical = {"flat"};
  ColumnSelection s = select_columns(t, "label", drop);
  REQUIRE(s.columns.size() == 2);
  CHECK(t.columns[s.columns[1]].name == "flat");
  CHECK(s.kinds[1] == ColumnKind::Categorical);

  FeatureOptions chosen;
  chosen.features = {"flat", "CustomerID"};
  s = select_columns(t, "label", chosen);
  REQUIRE(s.columns.size() == 2);
  CHECK(t.columns[s.columns[0]].name == "flat");
  CHECK(t.columns[s.columns[1]].name == "CustomerID");
}

TEST_CASE("selection rejects unknown names") {
  Table t = parse_csv(kTable, "t.csv");
  FeatureOptions options;
  options.drop = {"amount", "colour", "size"};
  std::string message = error_message([&] { select_columns(t, "label", options); });
  CHECK(contains(message, "--drop names 'colour' and 'size' not in the table"));
  CHECK(contains(error_message([&] { select_columns(t, "segment", {}); }),
                 "column 'segment' (--label) not found"));
  FeatureOptions label_as_feature;
  label_as_feature.features = {"label"};
  CHECK(contains(error_message([&] { select_columns(t, "label", label_as_feature); }),
                 "lists the label column 'label'"));
  // A U+FEFF left in the first name is shown and explained.
  Table marked = parse_csv("\xEF\xBB\xBF\xEF\xBB\xBF" "amount,label\n1,a\n2,b\n", "m.csv");
  FeatureOptions amount;
  amount.features = {"amount"};
  CHECK(error_message([&] { select_columns(marked, "label", amount); }) ==
        "m.csv: --features names 'amount' not in the table; the columns are '<U+FEFF>amount' and "
        "'label'. The first name starts with U+FEFF, a second byte-order mark, which most editors "
        "do not show; remove one of the two marks at the start of the file, for example with "
        "tail -c +4 m.csv > fixed.csv");
}

TEST_CASE("selection rejects options without effect") {
  Table t = parse_csv(kTable, "t.csv");
  struct Case {
    FeatureOptions options;
    std::string message;
  };
  const Case cases[] = {
      {{{}, {"label"}, {}, {}}, "--drop lists the label column 'label', which is never a feature; leave it out of --drop"},
      {{{}, {}, {"label"}, {}},
       "--categorical lists the label column 'label', which is not a feature; labels are always segments, "
       "so leave it out"},
      {{{"amount"}, {"city"}, {}, {}}, "--drop has no effect with --features, which names every feature; give one of them"},
      {{{"amount"}, {}, {"city"}, {}},
       "--categorical names 'city', which is not among the --features; add it to --features or leave it out of "
       "--categorical"},
      {{{}, {}, {"CustomerID"}, {}},
       "--categorical names 'CustomerID', which looks like a row identifier and is not a feature; name it in "
       "--features to use it"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    CHECK(error_message([&] { select_columns(t, "label", c.options); }) == c.message);
  }
}

TEST_CASE("numeric statistics come from training rows only") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(schema.columns.size() == 2);
  const FeatureColumn& amount = schema.columns[0];
  CHECK(amount.name == "amount");
  // Training values 1, 2, (missing), 10: the median 2 fills the gap, so the values used
  // are 1, 2, 2, 10 with mean 3.75 and population variance 13.1875.
  CHECK(amount.median == 2.0);
  CHECK(amount.mean == doctest::Approx(3.75));
  CHECK(amount.scale == doctest::Approx(std::sqrt(13.1875)));
  CHECK_FALSE(amount.log1p);
}

TEST_CASE("categorical statistics come from training rows only") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  const FeatureColumn& city = schema.columns[1];
  CHECK(city.name == "city");
  REQUIRE(city.categories.size() == 2);
  CHECK(city.categories[0] == "Porto");
  CHECK(city.categories[1] == "Lisbon");
  CHECK(city.mode == "Porto");
  CHECK(schema.width() == 3);
  CHECK(schema.feature_names() == std::vector<std::string>{"amount", "city=Porto", "city=Lisbon"});
}

TEST_CASE("constant training column dropped with note") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "column 'flat' is constant (7) in the training rows and is not used");
  // Clustering fits on the whole table, and the note names it.
  PreprocessOptions whole = no_log();
  whole.fitted_rows = "the table";
  notes.clear();
  fit_features(t, select_columns(t, "label", {}), kTrainRows, whole, notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "column 'flat' is constant (7) in the table and is not used");
  // A constant date is printed as a date.
  Table dated = parse_csv("joined,amount,label\n2020-02-03,1,x\n2020-02-03,2,y\n2020-02-03,3,x\n", "d.csv");
  notes.clear();
  fit_features(dated, select_columns(dated, "label", {}), {0, 1, 2}, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "column 'joined' is constant (2020-02-03) in the training rows and is not used");
}

TEST_CASE("numbers beside a marker text get a note") {
  // Six of ten cells are NA, so the column is categorical, and the note suggests --missing.
  std::string text = "amount,label\n";
  for (int i = 0; i < 10; ++i) text += fmt::format("{},{}\n", i % 5 < 3 ? "NA" : fmt::format("{}.5", i), "xy"[i % 2]);
  Table t = parse_csv(text, "t.csv");
  std::vector<std::string> notes;
  fit_features(t, select_columns(t, "label", {}), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "column 'amount' holds numbers, but 6 of its filled cells hold 'NA', so it is one-hot "
                    "encoded as categories; if that marks missing values, pass --missing 'NA' to read it "
                    "as numbers");
}

TEST_CASE("no usable column names the fitted rows") {
  Table t = parse_csv("a,b,label\n1,x,p\n1,x,q\n", "same.csv");
  std::vector<std::string> notes;
  CHECK(error_message([&] { fit_features(t, select_columns(t, "label", {}), {0, 1}, no_log(), notes); }) ==
        "same.csv: every selected column is constant or empty in the training rows, so there are no "
        "features");
  PreprocessOptions whole = no_log();
  whole.fitted_rows = "the table";
  CHECK(error_message([&] { fit_features(t, select_columns(t, "label", {}), {0, 1}, whole, notes); }) ==
        "same.csv: every selected column is constant or empty in the table, so there are no features");
}

TEST_CASE("far values that set a scale get a note") {
  // Eight values between 1 and 2 and one of 1e300: the standard deviation is about 3e299,
  // and the middle half of the values spans about 0.5, far under 1/1000 of it.
  std::string text = "amount,label\n";
  for (int i = 0; i < 8; ++i) text += fmt::format("{},{}\n", 1 + i / 8.0, "xy"[i % 2]);
  text += "1e300,x\n";
  Table t = parse_csv(text, "t.csv");
  std::vector<std::size_t> rows(9);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), rows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("column 'amount': a few far values, such as '1e300' on line 10, set its scale "
                      "in the training rows, so the middle half of its values lies within ") == 0);
  CHECK(notes[0].find("check those cells, or leave the column out with --drop") != std::string::npos);
  // The column is still used.
  CHECK(schema.feature_names() == std::vector<std::string>{"amount"});

  // Values spread over their scale get no note, a skewed column included.
  notes.clear();
  Table spread = parse_csv("amount,label\n1,x\n2,y\n3,x\n4,y\n100,x\n", "t.csv");
  fit_features(spread, select_columns(spread, "label", {}), {0, 1, 2, 3, 4}, no_log(), notes);
  CHECK(notes.empty());
}

TEST_CASE("decimal commas get a note") {
  Table t = parse_csv("amount;label\n\"1,5\";x\n\"2,25\";y\n\"1,5\";x\n\"3,0\";y\n", "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(schema.columns.size() == 1);
  CHECK(schema.columns[0].kind == ColumnKind::Categorical);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "column 'amount' is one-hot encoded as categories; its values are numbers with decimal "
        "commas such as '1,5', which are not read as numbers: write them with decimal points");

  // Whole numbers among them are numbers too; one text value means the column is text.
  Table mixed = parse_csv("amount;label\n\"1,5\";x\n7;y\n\"2,5\";x\n\"3,5\";y\n", "mixed.csv");
  notes.clear();
  fit_features(mixed, select_columns(mixed, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].starts_with("column 'amount' is one-hot encoded as categories; its values are numbers "
                             "with decimal commas such as '1,5'"));
  // Commas followed by three digits each may separate thousands.
  Table grouped = parse_csv("amount;label\n\"1,500\";x\n\"2,250\";y\n\"3,500\";x\n\"4,000\";y\n", "g.csv");
  notes.clear();
  fit_features(grouped, select_columns(grouped, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "column 'amount' is one-hot encoded as categories; its values are numbers with commas such "
        "as '1,500', which separate thousands or decimals and are not read as numbers: write them "
        "without thousands separators and with decimal points");
  Table text = parse_csv("amount;label\n\"1,5\";x\nn/a;y\n\"2,5\";x\n\"3,5\";y\n", "text.csv");
  notes.clear();
  fit_features(text, select_columns(text, "label", {}), kTrainRows, no_log(), notes);
  CHECK(notes.empty());
}

TEST_CASE("decimal commas noted in a dropped column") {
  // 150 distinct values are more than 100 categories, so the column is dropped, and the
  // note gives the reason it is not numeric. Every third value is a whole number.
  std::string csv = "Fresh;Milk;Channel\n";
  std::vector<std::size_t> rows;
  for (int i = 0; i < 150; ++i) {
    csv += i % 3 == 0 ? fmt::format("{};{};{}\n", i, i % 7, "xy"[i % 2])
                      : fmt::format("\"{},5\";{};{}\n", i, i % 7, "xy"[i % 2]);
    rows.push_back(static_cast<std::size_t>(i));
  }
  Table t = parse_csv(csv, "wholesale.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "Channel", {}), rows, no_log(), notes);
  REQUIRE(schema.columns.size() == 1);
  CHECK(schema.columns[0].name == "Milk");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "column 'Fresh' has 150 categories in the training rows, more than 100, and is not used; "
        "its values are numbers with decimal commas such as '1,5', which are not read as numbers: "
        "write them with decimal points");
}

TEST_CASE("thousands separators noted") {
  // Spreadsheets in many European locales write 12669 as '12.669,00'.
  Table european = parse_csv("Fresh;label\n12.669,00;x\n214,00;y\n1.762,50;x\n7.057,00;y\n", "e.csv");
  std::vector<std::string> notes;
  fit_features(european, select_columns(european, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "column 'Fresh' is one-hot encoded as categories; its values are numbers with thousands "
        "separators such as '1.762,50', which are not read as numbers: write them without thousands "
        "separators and with a decimal point, as in '1762.50'");
  // Commas between thousands and a decimal point, quoted in a comma-delimited table.
  Table english = parse_csv("Fresh,label\n\"1,234.50\",x\n\"12,669.00\",y\n310.25,x\n\"2,001.75\",y\n", "u.csv");
  notes.clear();
  fit_features(english, select_columns(english, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "numbers with thousands separators such as '1,234.50', which are not read as "
                           "numbers: write them without thousands separators and with a decimal point, "
                           "as in '1234.50'"));
  // With a currency sign, the sign's note asks to remove both.
  Table dollars = parse_csv("Fresh;label\n$1,234.50;x\n$12,669.00;y\n$310.25;x\n$2,001.75;y\n", "s.csv");
  notes.clear();
  fit_features(dollars, select_columns(dollars, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "numbers with a '$' sign such as '$1,234.50', which are not read as numbers: "
                           "write them without the sign and without thousands separators"));
  // One text that is no number means the column is text.
  Table text = parse_csv("Fresh;label\n12.669,00;x\nnone;y\n1.762,50;x\n7.057,00;y\n", "t.csv");
  notes.clear();
  fit_features(text, select_columns(text, "label", {}), kTrainRows, no_log(), notes);
  CHECK(notes.empty());
}

TEST_CASE("currency and percent signs noted") {
  // '$' before and '%' or '€' after a number; a plain number among them is fine.
  Table dollars = parse_csv("amount,label\n$12669,x\n$7057,y\n6353,x\n$13265,y\n", "d.csv");
  std::vector<std::string> notes;
  fit_features(dollars, select_columns(dollars, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] ==
        "column 'amount' is one-hot encoded as categories; its values are numbers with a '$' sign "
        "such as '$12669', which are not read as numbers: write them without the sign");
  Table percents = parse_csv("rate;label\n45%;x\n12,5 %;y\n3 \u20AC;x\n7%;y\n", "p.csv");
  notes.clear();
  fit_features(percents, select_columns(percents, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "numbers with a '%' sign such as '12,5 %'"));
  // A minus before the sign, and commas that separate thousands.
  Table signed_amounts = parse_csv("amount;label\n-$310;x\n$26,181;y\n$7057;x\n-$13,265;y\n", "s.csv");
  notes.clear();
  fit_features(signed_amounts, select_columns(signed_amounts, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "numbers with a '$' sign such as '$26,181', which are not read as numbers: write "
                           "them without the sign and without thousands separators"));
  // One text that is not a number means the column is text.
  Table text = parse_csv("amount,label\n$12669,x\nnone,y\n$6353,x\n$13265,y\n", "t.csv");
  notes.clear();
  fit_features(text, select_columns(text, "label", {}), kTrainRows, no_log(), notes);
  CHECK(notes.empty());
}

TEST_CASE("dates in other forms get a note") {
  Table t = parse_csv("joined,seen,label\n12/31/2013,2013-01-02 10:00,x\n1/2/2014,2013-01-03 11:00,y\n"
                      "12/31/2013,2013-01-02 10:00,x\n1/2/2014,2013-01-04 12:00,y\n",
                      "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == "column 'joined' is one-hot encoded as categories; its values look like dates such as "
                    "'1/2/2014', which are not read as dates: write them as yyyy-mm-dd, dd-mm-yyyy, "
                    "dd/mm/yyyy or dd.mm.yyyy without a time");
  CHECK(notes[1].starts_with("column 'seen' is one-hot encoded as categories; its values look like dates "
                             "such as '2013-01-02 10:00'"));
  // Plain categories get no such note.
  Table plain = parse_csv("city,label\nPorto,x\nFaro,y\nPorto,x\nFaro,y\n", "plain.csv");
  std::vector<std::string> none;
  fit_features(plain, select_columns(plain, "label", {}), kTrainRows, no_log(), none);
  CHECK(none.empty());
}

TEST_CASE("extreme values keep finite statistics") {
  // Squares of 1e200 overflow a double, and 1e20 and 1.00000000000001e20 differ only in
  // their last bits. Neither column is constant.
  std::string text = "huge,close,label\n";
  for (int i = 0; i < 10; ++i)
    text += i % 2 ? "1.5e200,1.00000000000001e20,x\n" : "-1.5e200,1e20,y\n";
  Table t = parse_csv(text, "t.csv");
  std::vector<std::size_t> rows(10);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), rows, no_log(), notes);
  CHECK(notes.empty());
  REQUIRE(schema.columns.size() == 2);
  CHECK(schema.columns[0].mean == doctest::Approx(0.0));
  CHECK(schema.columns[0].scale == doctest::Approx(1.5e200));
  CHECK(schema.columns[1].scale > 0);
  CHECK(std::isfinite(schema.columns[1].scale));
}

TEST_CASE("transform imputes, standardizes and one-hot encodes") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  ColumnSelection selection = select_columns(t, "label", {});
  FeatureSchema schema = fit_features(t, selection, kTrainRows, no_log(), notes);
  std::vector<std::size_t> columns = match_schema(schema, t);
  damo::Tensor x = transform_features(schema, t, columns, {2, 3, 4, 5});
  REQUIRE(x.shape() == damo::Dims{4, 3});

  double scale = std::sqrt(13.1875);
  // Row 2: amount missing -> median 2; city Porto.
  CHECK(x.get_double(0) == doctest::Approx((2 - 3.75) / scale));
  CHECK(x.get_double(1) == 1.0);
  CHECK(x.get_double(2) == 0.0);
  // Row 3: amount 10; city missing -> mode Porto.
  CHECK(x.get_double(3) == doctest::Approx((10 - 3.75) / scale));
  CHECK(x.get_double(4) == 1.0);
  CHECK(x.get_double(5) == 0.0);
  // Row 4: amount 1000; city Faro was never seen in training -> all zeros.
  CHECK(x.get_double(6) == doctest::Approx((1000 - 3.75) / scale));
  CHECK(x.get_double(7) == 0.0);
  CHECK(x.get_double(8) == 0.0);
}

TEST_CASE("numeric categories match by value") {
  // "1", "1.0" and "01" spell one number, so --categorical makes them one category, named
  // by the most frequent spelling. "3" is one category of its own.
  Table t = parse_csv("code,label\n1,a\n1.0,b\n01,a\n1,b\n3,a\n3,b\n", "codes.csv");
  FeatureOptions options;
  options.categorical = {"code"};
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", options), {0, 1, 2, 3, 4, 5}, no_log(), notes);
  REQUIRE(schema.columns.size() == 1);
  CHECK(schema.columns[0].categories == std::vector<std::string>{"1", "3"});
  CHECK(schema.columns[0].mode == "1");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "column 'code': numbers of equal value are one category: '01', '1' and '1.0' as '1'");

  // New spellings of a known value encode as that category; other numbers and text as none.
  Table fresh = parse_csv("code\n1.00\n3e0\n4\nx\n", "fresh.csv");
  std::vector<std::size_t> columns = match_schema(schema, fresh);
  damo::Tensor x = transform_features(schema, fresh, columns, {0, 1, 2, 3});
  REQUIRE(x.shape() == damo::Dims{4, 2});
  CHECK(x.get_double(0) == 1.0);
  CHECK(x.get_double(1) == 0.0);
  CHECK(x.get_double(2) == 0.0);
  CHECK(x.get_double(3) == 1.0);
  for (std::int64_t i = 4; i < 8; ++i) CHECK(x.get_double(i) == 0.0);
  std::vector<std::string> filled = describe_filled_cells(schema, fresh, columns);
  REQUIRE(filled.size() == 2);
  CHECK(filled[0] == "column 'code': 2 of 4 cells hold categories that training never saw, such as '4', "
                     "and encode as no category; the model knows '1' and '3'");
  CHECK(filled[1] == "column 'code': 2 of 4 cells spell a number of the model's categories another way, "
                     "such as '1.00' for '1', and encode as that category");
}

TEST_CASE("text categories keep every spelling") {
  // One cell that is not a number keeps the column's categories as written.
  std::map<std::string, std::size_t> counts{{"1", 2}, {"1.0", 1}, {"one", 1}};
  CHECK(merge_equal_numbers(counts).empty());
  CHECK(counts.size() == 3);
  std::map<std::string, std::size_t> numbers{{"2", 1}, {"2.0", 1}, {"5", 4}};
  std::vector<std::string> merged = merge_equal_numbers(numbers);
  REQUIRE(merged.size() == 1);
  // A tie between spellings goes to the first in text order.
  CHECK(merged[0] == "'2' and '2.0' as '2'");
  CHECK(numbers == std::map<std::string, std::size_t>{{"2", 2}, {"5", 4}});
  // Codes that float64 cannot tell apart stay apart.
  std::map<std::string, std::size_t> codes{{"9007199254740992", 1}, {"9007199254740993", 1}};
  CHECK(merge_equal_numbers(codes).empty());
  CHECK(codes.size() == 2);
}

TEST_CASE("filled cells get notes") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  std::vector<std::string> filled = describe_filled_cells(schema, t, match_schema(schema, t));
  REQUIRE(filled.size() == 3);
  CHECK(filled[0] == "column 'amount': 1 of 6 cells are blank and get the training median 2");
  CHECK(filled[1] == "column 'city': 1 of 6 cells are blank and get the most frequent training category 'Porto'");
  CHECK(filled[2] == "column 'city': 2 of 6 cells hold categories that training never saw, such as 'Faro', "
                     "and encode as no category; the model knows 'Porto' and 'Lisbon'");

  Table blank = parse_csv("CustomerID,amount,city,flat\n1,,Porto,7\n2,,Lisbon,7\n", "blank.csv");
  std::vector<std::string> all_blank = describe_filled_cells(schema, blank, match_schema(schema, blank));
  REQUIRE(all_blank.size() == 1);
  CHECK(all_blank[0] == "column 'amount': all 2 cells are blank and get the training median 2");
}

TEST_CASE("blank date cells note the median as a date") {
  Table t = parse_csv("joined,label\n2013-07-01,a\n2013-07-10,b\n2013-07-20,a\n", "dates.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), {0, 1, 2}, {}, notes);
  Table blank = parse_csv("joined,other\n,1\n2014-01-01,2\n", "blank.csv");
  std::vector<std::string> filled = describe_filled_cells(schema, blank, match_schema(schema, blank));
  REQUIRE(filled.size() == 1);
  CHECK(filled[0] == "column 'joined': 1 of 2 cells are blank and get the training median 2013-07-10");
}

TEST_CASE("values far from the training mean get a note") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(schema.columns[0].name == "amount");
  // The training values 1, 2, 10 and the median 2 for the blank cell.
  double mean = 3.75, deviation = std::sqrt(52.75 / 4);
  REQUIRE(schema.columns[0].mean == doctest::Approx(mean));
  REQUIRE(schema.columns[0].scale == doctest::Approx(deviation));
  std::string range = fmt::format("outside {:.6g} to {:.6g}", mean - 10 * deviation, mean + 10 * deviation);
  std::vector<std::string> far = describe_far_values(schema, t, match_schema(schema, t));
  REQUIRE(far.size() == 1);
  CHECK(far[0] == "column 'amount': 2 of 6 cells are more than 10 standard deviations from the "
                  "training mean (" + range + "), the furthest '1000' on line 6; at most 1% of "
                  "a column's training values can lie that far from their mean, so check them");

  Table near = parse_csv("amount,city\n40,Porto\n-32,Porto\n", "near.csv");
  CHECK(describe_far_values(schema, near, match_schema(schema, near)).empty());
  Table huge = parse_csv("amount,city\n5,Porto\n-1e39,Porto\n", "huge.csv");
  far = describe_far_values(schema, huge, match_schema(schema, huge));
  REQUIRE(far.size() == 1);
  CHECK(far[0] == "column 'amount': 1 cell is more than 10 standard deviations from the training "
                  "mean (" + range + "), the furthest '-1e39' on line 3, which is beyond the "
                  "float32 range; at most 1% of a column's training values can lie that far from "
                  "their mean, so check them");
}

TEST_CASE("rare values of 0/1 flags are not far") {
  // One 1 among 300 rows is 17 standard deviations from the mean, but training had it. The
  // flag is skewed, so with the default options it is log1p-transformed too.
  std::string text = "complained,rare_zero,label\n";
  std::vector<std::size_t> rows;
  for (int i = 0; i < 300; ++i) {
    text += fmt::format("{},{},{}\n", i == 7 ? 1 : 0, i == 9 ? 0 : 1, "xy"[i % 2]);
    rows.push_back(static_cast<std::size_t>(i));
  }
  Table t = parse_csv(text, "t.csv");
  for (bool log_transform : {false, true}) {
    INFO("log transform " << log_transform);
    PreprocessOptions options = no_log();
    options.log_transform = log_transform;
    std::vector<std::string> notes;
    FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), rows, options, notes);
    REQUIRE(schema.columns.size() == 2);
    CHECK(schema.columns[0].log1p == log_transform);
    Table flags = parse_csv("complained,rare_zero\n1,0\n0,1\n1,0\n", "new.csv");
    CHECK(describe_far_values(schema, flags, match_schema(schema, flags)).empty());
    // A 2 was never a value of the flag.
    Table two = parse_csv("complained,rare_zero\n2,1\n", "two.csv");
    std::vector<std::string> far = describe_far_values(schema, two, match_schema(schema, two));
    REQUIRE(far.size() == 1);
    CHECK(contains(far[0], "column 'complained': 1 cell is more than 10 standard deviations"));
  }
}

TEST_CASE("negative values in a log1p column get a note") {
  std::string text = "amount,label\n";
  for (double v : {1, 1, 2, 2, 3, 3, 4, 5, 8, 100}) text += fmt::format("{},x\n", v);
  Table t = parse_csv(text, "skew.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", {}), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {}, notes);
  REQUIRE(schema.columns[0].log1p);

  Table input = parse_csv("amount\n3\n-5\n0\n-0.5\n", "input.csv");
  std::vector<std::size_t> columns = match_schema(schema, input);
  std::vector<std::string> negative = describe_clamped_negatives(schema, input, columns, {0, 1, 2, 3});
  REQUIRE(negative.size() == 1);
  CHECK(negative[0] == "column 'amount': 2 of 4 cells are negative, such as '-5' on line 3, and "
                       "count as 0, because the model applies log1p to this column, which had no "
                       "negative training value; check these values, or train on data that "
                       "includes negative values");
  // The negative cells get their own note, not one for their distance as well.
  CHECK(describe_far_values(schema, input, columns).empty());
  CHECK(describe_clamped_negatives(schema, input, columns, {0, 2}).empty());
}

TEST_CASE("rows blank in every feature column get a note") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);
  REQUIRE(schema.columns.size() == 2);
  Table two = parse_csv("CustomerID,amount,city\n1,,\n2,3,\n3,,\n", "two.csv");
  std::vector<std::string> blank = describe_blank_rows(schema, two, match_schema(schema, two));
  REQUIRE(blank.size() == 1);
  CHECK(blank[0] == "2 rows, the first on line 2, are blank in all 2 feature columns; they are "
                    "still predicted, from the training medians and most frequent categories "
                    "alone, so their segments say nothing about those customers");
  Table one = parse_csv("CustomerID,amount,city\n1,4,Porto\n2,,\n", "one.csv");
  blank = describe_blank_rows(schema, one, match_schema(schema, one));
  REQUIRE(blank.size() == 1);
  CHECK(blank[0] == "the row on line 3 is blank in all 2 feature columns; it is still predicted, "
                    "from the training medians and most frequent categories alone, so its "
                    "segment says nothing about that customer");
  Table none = parse_csv("CustomerID,amount,city\n1,4,\n2,,Faro\n", "none.csv");
  CHECK(describe_blank_rows(schema, none, match_schema(schema, none)).empty());
}

TEST_CASE("log transform for skewed non-negative columns") {
  std::string text = "amount,shifted,label\n";
  double values[] = {1, 1, 2, 2, 3, 3, 4, 5, 8, 100};
  for (double v : values) text += fmt::format("{},{},x\n", v, v - 50);
  Table t = parse_csv(text, "skew.csv");
  std::vector<std::size_t> rows{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

  std::vector<double> amounts(std::begin(values), std::end(values));
  CHECK(skewness(amounts) > 2.0);
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), rows, {}, notes);
  REQUIRE(schema.columns.size() == 2);
  CHECK(schema.columns[0].log1p);
  // The shifted copy has the same skewness but negative values, so it stays linear.
  CHECK_FALSE(schema.columns[1].log1p);

  double mean = 0;
  for (double v : values) mean += std::log1p(v) / 10;
  CHECK(schema.columns[0].mean == doctest::Approx(mean));

  PreprocessOptions high;
  high.skew_threshold = 10;
  notes.clear();
  CHECK_FALSE(fit_features(t, select_columns(t, "label", {}), rows, high, notes).columns[0].log1p);
}

TEST_CASE("skewness and median against hand values") {
  // Values 0, 0, 3: mean 1, m2 = 2, m3 = 2, skewness 2 / 2^1.5.
  CHECK(skewness({0, 0, 3}) == doctest::Approx(2 / std::pow(2.0, 1.5)));
  CHECK(skewness({4, 4, 4}) == 0.0);
  CHECK(median({5, 1, 3}) == 3.0);
  CHECK(median({4, 1, 3, 2}) == 2.5);
  // The two middle values add up beyond the float64 range.
  CHECK(median({1.7e308, 1.0e308}) == doctest::Approx(1.35e308));
  CHECK(median({-1.7e308, -1.1e308}) == doctest::Approx(-1.4e308));
}

TEST_CASE("values near the float64 limit standardize") {
  // 1.7e308 minus a mean of the other sign overflows unless computed in steps.
  std::string text = "a,label\n";
  for (int i = 0; i < 6; ++i) text += i < 4 ? "1.7e308,x\n" : "-1.7e308,y\n";
  Table t = parse_csv(text, "t.csv");
  std::vector<std::size_t> rows = {0, 1, 2, 3, 4, 5};
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), rows, no_log(), notes);
  CHECK(notes.empty());
  REQUIRE(schema.columns.size() == 1);
  CHECK(schema.columns[0].mean == doctest::Approx(1.7e308 / 3));
  damo::Tensor features = transform_features(schema, t, {0}, rows);
  // Four rows at +1.7e308 and two at -1.7e308 standardize to sqrt(2)/2 and -sqrt(2).
  CHECK(features.get_double(0) == doctest::Approx(std::sqrt(0.5)).epsilon(1e-6));
  CHECK(features.get_double(5) == doctest::Approx(-std::sqrt(2.0)).epsilon(1e-6));
}

TEST_CASE("a value beyond the float32 feature range is an error") {
  Table train = parse_csv("a,label\n1,x\n2,y\n3,x\n4,y\n", "train.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(train, select_columns(train, "label", {}), {0, 1, 2, 3}, no_log(), notes);
  Table fresh = parse_csv("a\n2\n1e43\n", "new.csv");
  std::string message = error_message([&] { transform_features(schema, fresh, {0}, {0, 1}); });
  CHECK(contains(message, "new.csv line 3, column 'a': '1e43' is 8.94e+42 standard deviations"));
  CHECK(contains(message, "check the value"));
  // With the smallest normal standard deviation, value / scale and mean / scale are both
  // inf, so the distance has no number.
  schema.columns[0].mean = 1;
  schema.columns[0].scale = 2.2250738585072014e-308;
  Table far = parse_csv("a\n308\n", "far.csv");
  std::string tiny = error_message([&] { transform_features(schema, far, {0}, {0}); });
  CHECK(contains(tiny, "far.csv line 2, column 'a': '308' is too many standard deviations from the "
                       "training mean of the column (the model's standard deviation is 2.23e-308)"));
}

TEST_CASE("date column becomes days") {
  Table t = parse_csv("joined,label\n01-01-1970,a\n03-01-1970,b\n", "d.csv");
  std::vector<std::string> notes;
  FeatureSchema schema = fit_features(t, select_columns(t, "label", {}), {0, 1}, {}, notes);
  REQUIRE(schema.columns.size() == 1);
  CHECK(schema.columns[0].kind == ColumnKind::Date);
  CHECK(schema.columns[0].mean == 1.0);
  CHECK(schema.columns[0].scale == 1.0);
}

TEST_CASE("bad cell in numeric column during fit") {
  Table t = parse_csv("amount,label\n1,a\n2,b\n3,a\nabc,b\n", "bad.csv");
  std::vector<std::string> notes;
  std::string message = error_message([&] {
    fit_features(t, select_columns(t, "label", {}), {0, 1, 2, 3}, {}, notes);
  });
  CHECK(contains(message, "bad.csv line 5, column 'amount': 'abc' is not a number"));
}

TEST_CASE("schema mismatch names the columns") {
  Table t = parse_csv(kTable, "t.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(t, select_columns(t, "label", {}), kTrainRows, no_log(), notes);

  Table renamed = parse_csv("CustomerID,amount_eur,town\n1,5,Porto\n", "new.csv");
  std::string message = error_message([&] { match_schema(schema, renamed); });
  CHECK(contains(message, "new.csv does not match the model's schema"));
  CHECK(contains(message, "'amount' and 'city' are missing"));
  CHECK(contains(message, "'amount_eur'"));
  CHECK_FALSE(contains(message, "letter case"));

  Table cased = parse_csv("amount,City\n5,Porto\n", "cased.csv");
  message = error_message([&] { match_schema(schema, cased); });
  CHECK(contains(message, "the model's feature column 'city' is missing (the file's column 'City' differs from "
                          "'city' only in letter case; rename it)"));
  Table both = parse_csv("AMOUNT,City\n5,Porto\n", "both.csv");
  message = error_message([&] { match_schema(schema, both); });
  CHECK(contains(message, "the model's feature columns 'amount' and 'city' are missing (the file's column "
                          "'AMOUNT' differs from 'amount' only in letter case; the file's column 'City' "
                          "differs from 'city' only in letter case; rename them)"));

  Table text = parse_csv("amount,city\nlots,Porto\nfew,Faro\n", "text.csv");
  message = error_message([&] { match_schema(schema, text); });
  CHECK(contains(message, "'amount' (the model expects numeric values, the file has categorical, "
                          "such as 'lots' on line 2; if 'lots' marks missing values, pass --missing 'lots')"));

  Table reordered = parse_csv("city,extra,amount\nPorto,1,5\n", "ok.csv");
  CHECK(match_schema(schema, reordered) == std::vector<std::size_t>{2, 0});
}

TEST_CASE("shipped wholesale table selection") {
  Table t = read_csv(shipped_data("wholesale_customers.csv"));
  ColumnSelection s = select_columns(t, "Channel", {});
  CHECK(s.columns.size() == 7);
  CHECK_FALSE(s.id_column.has_value());
  Table m = read_csv(shipped_data("marketing_campaign.csv"));
  ColumnSelection ms = select_columns(m, "Response", {});
  REQUIRE(ms.id_column.has_value());
  CHECK(m.columns[*ms.id_column].name == "ID");
  std::size_t date = m.require_column("Dt_Customer", "test");
  auto position = std::find(ms.columns.begin(), ms.columns.end(), date) - ms.columns.begin();
  CHECK(ms.kinds.at(static_cast<std::size_t>(position)) == ColumnKind::Date);
}
