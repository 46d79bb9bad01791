// Label encoding and seeded stratified splits.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "demo/test_util.h"
#include "segment/split.h"

using namespace segment;
using namespace segment_test;

namespace {

// 298 rows of class 0 and 142 of class 1, interleaved like the wholesale Channel column.
std::vector<int> wholesale_like_classes() {
  std::vector<int> classes;
  for (int i = 0; i < 440; ++i) classes.push_back(i % 3 == 0 && i < 426 ? 1 : 0);
  return classes;
}

std::map<int, std::size_t> count_classes(const std::vector<int>& classes,
                                         const std::vector<std::size_t>& positions) {
  std::map<int, std::size_t> counts;
  for (std::size_t p : positions) ++counts[classes[p]];
  return counts;
}

}  // namespace

TEST_CASE("stratified split keeps class proportions") {
  std::vector<int> classes = wholesale_like_classes();
  REQUIRE(std::count(classes.begin(), classes.end(), 1) == 142);
  Split split = stratified_split(classes, 0.2, 7);
  auto test = count_classes(classes, split.test);
  auto train = count_classes(classes, split.train);
  // round(0.2 * 298) = 60 and round(0.2 * 142) = 28.
  CHECK(test[0] == 60);
  CHECK(test[1] == 28);
  CHECK(train[0] == 238);
  CHECK(train[1] == 114);

  std::vector<std::size_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.size() == 440);
  CHECK(std::is_sorted(split.test.begin(), split.test.end()));
}

TEST_CASE("stratified split is seeded") {
  std::vector<int> classes = wholesale_like_classes();
  CHECK(stratified_split(classes, 0.2, 7).test == stratified_split(classes, 0.2, 7).test);
  CHECK(stratified_split(classes, 0.2, 7).test != stratified_split(classes, 0.2, 8).test);
}

TEST_CASE("stratified split keeps a training row per class") {
  std::vector<int> classes{0, 0, 1, 1, 1, 1};
  Split split = stratified_split(classes, 0.9, 1);
  auto train = count_classes(classes, split.train);
  CHECK(train[0] == 1);
  CHECK(train[1] == 1);
  CHECK(split.test.size() == 4);
}

TEST_CASE("stratified split tests a row per class") {
  // 0.2 of two rows rounds to none, but every class of two or more rows is tested.
  std::vector<int> classes{0, 1, 0, 1};
  Split split = stratified_split(classes, 0.2, 1);
  auto test = count_classes(classes, split.test);
  CHECK(test[0] == 1);
  CHECK(test[1] == 1);
  CHECK(split.train.size() == 2);
  // A class with a single row, as in a validation split of few rows, stays in training.
  Split lone = stratified_split({0, 1, 1, 1}, 0.2, 1);
  CHECK(count_classes({0, 1, 1, 1}, lone.train)[0] == 1);
  CHECK(lone.test.size() == 1);
}

TEST_CASE("stratified split rejects bad fractions") {
  CHECK(contains(error_message([] { stratified_split({0, 1}, 0.0, 1); }), "--test-fraction 0"));
  CHECK(contains(error_message([] { stratified_split({0, 1}, 1.5, 1); }), "between 0 and 1"));
}

TEST_CASE("stratified folds cover every row once") {
  std::vector<int> classes = wholesale_like_classes();
  std::vector<Split> folds = stratified_folds(classes, 5, 3);
  REQUIRE(folds.size() == 5);
  std::vector<int> held_out(classes.size(), 0);
  for (const Split& fold : folds) {
    CHECK(fold.train.size() + fold.test.size() == 440);
    CHECK(fold.test.size() == 88);
    for (std::size_t p : fold.test) ++held_out[p];
    auto counts = count_classes(classes, fold.test);
    // 298 / 5 and 142 / 5, each within one row.
    CHECK(counts[0] >= 59);
    CHECK(counts[0] <= 60);
    CHECK(counts[1] >= 28);
    CHECK(counts[1] <= 29);
  }
  CHECK(std::all_of(held_out.begin(), held_out.end(), [](int n) { return n == 1; }));
  CHECK(contains(error_message([&] { stratified_folds(classes, 1, 3); }), "--folds 1"));
}

TEST_CASE("labels sort numbers by value") {
  Table t = parse_csv("x,seg\n0,10\n0,2\n0,\n0,1\n0,2\n0,10\n0,1\n", "l.csv");
  Labels labels = encode_labels(t, 1);
  CHECK(labels.segments == std::vector<std::string>{"1", "2", "10"});
  CHECK(labels.rows == std::vector<std::size_t>{0, 1, 3, 4, 5, 6});
  CHECK(labels.classes == std::vector<int>{2, 1, 0, 1, 2, 0});
  CHECK(labels.unlabelled == 1);
}

TEST_CASE("labels sort text by bytes") {
  Table t = parse_csv("y\nyes\nno\nno\nyes\n", "l.csv");
  Labels labels = encode_labels(t, 0);
  CHECK(labels.segments == std::vector<std::string>{"no", "yes"});
  CHECK(labels.classes == std::vector<int>{1, 0, 0, 1});
}

TEST_CASE("labels that look continuous are rejected") {
  // 38 distinct amounts in 40 rows: more than 30 values and more than half of the rows.
  std::string text = "amount\n1.5\n1.5\n7\n7\n";
  for (int i = 0; i < 36; ++i) text += fmt::format("{}\n", 100 + 3 * i);
  Table amounts = parse_csv(text, "amounts.csv");
  CHECK(error_message([&] { encode_labels(amounts, 0); }) ==
        "amounts.csv: label column 'amount' has 38 distinct values in 40 labelled rows (36 of them "
        "on a single row), so it looks continuous or like an identifier; damo-segment predicts "
        "categories, so choose a column with a few segments of several rows each, or make "
        "segments with 'damo-segment cluster'");

  // 40 segments of 2 rows each are half of the rows, so they stay segments.
  std::string codes = "code\n";
  for (int i = 0; i < 80; ++i) codes += fmt::format("c{}\n", i % 40);
  Table segments = parse_csv(codes, "codes.csv");
  CHECK(encode_labels(segments, 0).segments.size() == 40);
  // 31 codes, 20 of them on a single row, are mostly single rows.
  std::string sparse = "code\n";
  for (int i = 0; i < 20; ++i) sparse += fmt::format("s{}\n", i);
  for (int i = 0; i < 88; ++i) sparse += fmt::format("m{}\n", i % 11);
  Table single = parse_csv(sparse, "sparse.csv");
  CHECK(contains(error_message([&] { encode_labels(single, 0); }),
                 "label column 'code' has 31 distinct values in 108 labelled rows (20 of them on a "
                 "single row)"));
}

TEST_CASE("label columns of dates are rejected") {
  // 35 dates on 3 rows each pass the rule for continuous labels, but are dates.
  std::string text = "joined\n";
  for (int i = 0; i < 105; ++i) text += fmt::format("2013-{:02}-{:02}\n", 1 + (i % 35) / 28, 1 + (i % 35) % 28);
  Table dates = parse_csv(text, "dates.csv");
  CHECK(error_message([&] { encode_labels(dates, 0); }) ==
        "dates.csv: label column 'joined' contains dates, 35 distinct ones in 105 labelled rows; "
        "damo-segment predicts categories, so choose a column with a few segments, or derive one "
        "from the dates (such as the year) first");
  // Three quarters as dates are few enough to be segments.
  std::string quarters = "quarter\n";
  for (int i = 0; i < 12; ++i) quarters += fmt::format("2013-{:02}-01\n", 1 + 3 * (i % 3));
  CHECK(encode_labels(parse_csv(quarters, "quarters.csv"), 0).segments.size() == 3);
}

TEST_CASE("labels need two segments of two rows") {
  Table one_segment = parse_csv("y\na\na\n", "one.csv");
  CHECK(contains(error_message([&] { encode_labels(one_segment, 0); }), "has 1 distinct value;"));
  Table single_row = parse_csv("y\na\na\nb\n", "single.csv");
  CHECK(error_message([&] { encode_labels(single_row, 0); }) ==
        "single.csv: segment 'b' of label column 'y' has a single row, on line 4; every segment "
        "needs at least two rows (merge or remove it)");
  // Numbers name the segment that the spellings merge into.
  Table number = parse_csv("y\n1\n01\n02\n", "number.csv");
  CHECK(error_message([&] { encode_labels(number, 0); }) ==
        "number.csv: segment '2' of label column 'y' has a single row, on line 4; every segment "
        "needs at least two rows (merge or remove it)");
}

TEST_CASE("labels name every single-row segment") {
  // They are listed in the order of their lines.
  Table two = parse_csv("y\nC\na\nB\na\n", "two.csv");
  CHECK(error_message([&] { encode_labels(two, 0); }) ==
        "two.csv: 2 segments of label column 'y' have a single row: 'C' on line 2 and 'B' on line 4; "
        "every segment needs at least two rows (merge or remove them)");
  Table blank = parse_csv("y,a\n,1\n,2\n,3\n", "blank.csv");
  CHECK(error_message([&] { encode_labels(blank, 0); }) ==
        "blank.csv: label column 'y' is blank in all 3 rows; fill in the segments, or choose "
        "another column with --label");
  // Ten are listed with their lines, the rest are counted.
  std::string text = "y\na\na\n";
  for (int i = 0; i < 12; ++i) text += fmt::format("s{:02}\n", i);
  Table many = parse_csv(text, "many.csv");
  CHECK(error_message([&] { encode_labels(many, 0); }) ==
        "many.csv: 12 segments of label column 'y' have a single row: 's00' on line 4, 's01' on line 5, "
        "'s02' on line 6, 's03' on line 7, 's04' on line 8, 's05' on line 9, 's06' on line 10, 's07' on "
        "line 11, 's08' on line 12, 's09' on line 13 and 2 more; every segment needs at least two rows "
        "(merge or remove them)");
}

TEST_CASE("labels differing in case get a note") {
  Table t = parse_csv("seg\nRetail\nretail\nHoreca\n\" Retail\"\nHoreca\nretail\n\" Retail\"\nRetail\n",
                      "case.csv");
  Labels labels = encode_labels(t, 0);
  CHECK(labels.segments == std::vector<std::string>{" Retail", "Horeca", "Retail", "retail"});
  CHECK(labels.notes == std::vector<std::string>{
                            "label column 'seg': ' Retail', 'Retail' and 'retail' differ only in letter case "
                            "or surrounding spaces, so they are 3 separate segments; if they are one segment, "
                            "write them the same way in the table"});
  // A variant on a single row is named in the error too.
  Table single = parse_csv("seg\nRetail\nRetail\nretail\nHoreca\nHoreca\n", "single.csv");
  CHECK(error_message([&] { encode_labels(single, 0); }) ==
        "single.csv: segment 'retail' of label column 'seg' has a single row, on line 4; every segment "
        "needs at least two rows (merge or remove it); label column 'seg': 'Retail' and 'retail' differ "
        "only in letter case or surrounding spaces, so they are 2 separate segments; if they are one "
        "segment, write them the same way in the table");
  // Segments that differ in other letters get no note.
  Table distinct = parse_csv("seg\nRetail\nRetailer\nRetail\nRetailer\n", "distinct.csv");
  CHECK(encode_labels(distinct, 0).notes.empty());
}

TEST_CASE("unlabelled rows named by line") {
  Table no_blanks = parse_csv("x,seg\n1,a\n2,b\n", "none.csv");
  CHECK(describe_unlabelled(no_blanks, 1) == "");
  Table one_blank = parse_csv("x,seg\n1,a\n2,\n3,b\n", "one.csv");
  CHECK(describe_unlabelled(one_blank, 1) == "1 row has no 'seg' value (line 3) and is not used");
  Table two_blanks = parse_csv("x,seg\n1,a\n2,\n3,b\n\n4,\n", "two.csv");
  CHECK(describe_unlabelled(two_blanks, 1) ==
        "2 rows have no 'seg' value (lines 3 and 6) and are not used");
  std::string text = "x,seg\n0,a\n";
  for (int i = 1; i <= 7; ++i) text += fmt::format("{},\n", i);
  Table seven_blanks = parse_csv(text, "seven.csv");
  CHECK(describe_unlabelled(seven_blanks, 1) ==
        "7 rows have no 'seg' value (lines 3, 4, 5, 6, 7 and 2 more) and are not used");
}

TEST_CASE("numeric labels written differently are one segment") {
  Table t = parse_csv("x,label\n1,1\n2,1.0\n3,01\n4,2\n5,2.00\n6,-0\n7,0\n8,2.5\n9,2.50\n", "labels.csv");
  Labels labels = encode_labels(t, 1);
  CHECK(labels.segments == std::vector<std::string>{"0", "1", "2", "2.5"});
  CHECK(labels.classes == std::vector<int>{1, 1, 1, 2, 2, 0, 0, 3, 3});
  // Each merge gets a note, in segment order.
  CHECK(labels.notes == std::vector<std::string>{
                            "label column 'label': '-0' and '0' are one number, so they form the one segment '0'",
                            "label column 'label': '1', '1.0' and '01' are one number, so they form the one segment '1'",
                            "label column 'label': '2' and '2.00' are one number, so they form the one segment '2'",
                            "label column 'label': '2.5' and '2.50' are one number, so they form the one segment '2.5'"});
  Table merged = parse_csv("y\n1\n1.0\n", "merged.csv");
  CHECK(contains(error_message([&] { encode_labels(merged, 0); }),
                 "has 1 distinct value; a classifier needs at least two segments; label column 'y': '1' and "
                 "'1.0' are one number"));

  // Values are compared as exact decimals: distinct large codes and long decimals stay
  // apart although float64 rounds them to one number, and 9007199254740992.0 is
  // 9007199254740992.
  Table large = parse_csv("x,label\n1,9007199254740993\n2,9007199254740993\n3,9007199254740992\n"
                          "4,9007199254740992.0\n5,12345678901234567891\n6,12345678901234567891\n"
                          "7,0.1\n8,0.1\n9,0.10000000000000000001\n10,0.10000000000000000001\n",
                          "large.csv");
  CHECK(encode_labels(large, 1).segments ==
        std::vector<std::string>{"0.1", "0.10000000000000000001", "9007199254740992", "9007199254740993",
                                 "12345678901234567891"});

  // Text labels keep their spelling.
  Table text = parse_csv("x,label\n1,a\n2,a\n3,1\n4,1.0\n5,1\n6,1.0\n", "text.csv");
  Labels text_labels = encode_labels(text, 1);
  CHECK(text_labels.segments == std::vector<std::string>{"1", "1.0", "a"});
  CHECK(text_labels.notes == std::vector<std::string>{
                                 "label column 'label': '1' and '1.0' stay separate segments although they are "
                                 "one number, because the column also holds text such as 'a'"});
}
