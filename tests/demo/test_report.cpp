// Report formatting: table alignment, the text report and the JSON form.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "demo/test_util.h"
#include "segment/report.h"

using namespace segment;
using namespace segment_test;

namespace {

TrainingReport sample_report() {
  TrainingReport r;
  r.data = "data/w.csv";
  r.label = "Channel";
  r.segments = {"1", "2"};
  r.features = {"Fresh", "Milk"};
  r.notes = {"column 'x' is constant"};
  r.rows = 10;
  r.train_rows = 6;
  r.evaluated_rows = 4;
  r.evaluation = "test split";
  r.network = "2 -> 4 sigmoid -> 2 softmax";
  r.training = "sgd";
  r.epochs_run = 3;
  r.model = compute_metrics({0, 0, 1, 1}, {0, 1, 1, 1}, 2);
  r.baseline = compute_metrics({0, 0, 1, 1}, {0, 0, 0, 0}, 2);
  r.train_seconds = 0.5;
  r.compile_train_ms = 12.5;
  r.compile_predict_ms = 3.25;
  return r;
}

}  // namespace

TEST_CASE("table columns are aligned") {
  std::string table = format_table({{"segment", "F1"}, {"a", "0.500"}, {"longer", "1.000"}});
  CHECK(table == "  segment     F1\n  a        0.500\n  longer   1.000\n");
}

TEST_CASE("table cells show line breaks and raw bytes as escapes") {
  std::string table = format_table({{"note", "multi\nline", "12\xff", "tab\there", "caf\xc3\xa9"}}, false);
  CHECK(table == "  note  multi\\nline  12\\xff  tab\\there  caf\xc3\xa9\n");
}

TEST_CASE("table widths count characters, not bytes") {
  std::string table = format_table({{"name", "n"}, {"Zo\xc3\xab", "1"}, {"Zoe", "22"}}, true);
  CHECK(table == "  name   n\n  Zo\xc3\xab    1\n  Zoe   22\n");
}

TEST_CASE("text report holds scores, baseline and matrix") {
  std::string text = format_report(sample_report());
  CHECK(contains(text, "damo-segment: data/w.csv, label 'Channel'"));
  CHECK(contains(text, "note: column 'x' is constant"));
  CHECK(contains(text, "baseline ('1')"));
  CHECK(contains(text, "accuracy  0.750           0.500"));
  CHECK(contains(text, "  1                 1  1\n  2                 0  2\n"));
  CHECK(contains(text, "compile training step:  12.5 ms"));
}

TEST_CASE("text report notes a model no better than the baseline") {
  TrainingReport r = sample_report();
  CHECK_FALSE(contains(format_report(r), "than the baseline"));
  // Predicting the majority segment everywhere ties with the baseline on both scores.
  r.model = r.baseline;
  CHECK(contains(format_report(r), "note: the model scores no higher than the baseline in accuracy or "
                                   "macro-F1, so these features as read do not predict the segments"));
  // When training did not fit the rows, the note blames that and not the features.
  TrainingReport stuck = r;
  stuck.notes.push_back("the training loss ended at 0.7, not below the 0.6 of predicting each segment's share");
  CHECK(contains(format_report(stuck), "note: the model scores no higher than the baseline in accuracy "
                                       "or macro-F1, and training did not settle"));
  CHECK_FALSE(contains(format_report(stuck), "features as read do not predict"));
  // Above it in macro-F1 only, as on an imbalanced label.
  r.model = compute_metrics({0, 0, 0, 1}, {0, 0, 1, 1}, 2);
  r.baseline = compute_metrics({0, 0, 0, 1}, {0, 0, 0, 0}, 2);
  std::string text = format_report(r);
  CHECK(contains(text, "note: the model's accuracy is not above the baseline's"));
  // Class F1 0.800 and 0.667 against 0.857 and 0 for the baseline.
  CHECK(contains(text, "is the fairer comparison, and the model's macro-F1 of 0.733 is above the "
                       "baseline's 0.429\n"));
}

TEST_CASE("text report leaves a large matrix to the json") {
  TrainingReport r = sample_report();
  std::vector<int> truth, predicted;
  for (int c = 0; c < 41; ++c) {
    r.segments.push_back(fmt::format("s{}", c));
    truth.push_back(c);
    predicted.push_back((c + 1) % 41);
  }
  r.segments.erase(r.segments.begin(), r.segments.begin() + 2);
  r.model = compute_metrics(truth, predicted, 41);
  r.baseline = compute_metrics(truth, std::vector<int>(41, 0), 41);
  std::string text = format_report(r);
  CHECK(contains(text, "Confusion matrix: 41 segments are too many to print here (at most 40); --report-json writes it"));
  CHECK_FALSE(contains(text, "true \\ predicted"));
  CHECK(contains(report_json(r), "\"confusion\": [[0, 1, 0"));
}

TEST_CASE("json report holds the same numbers") {
  std::string json = report_json(sample_report());
  CHECK(contains(json, "\"label\": \"Channel\""));
  CHECK(contains(json, "\"accuracy\": 0.75"));
  CHECK(contains(json, "\"confusion\": [[1, 1], [0, 2]]"));
  CHECK(contains(json, "\"baseline_segment\": \"1\""));
  CHECK(contains(json, "\"compile_predict_ms\": 3.25"));
  CHECK(contains(json, "\"features\": [\"Fresh\", \"Milk\"]"));
  CHECK(json.front() == '{');
  CHECK(json.substr(json.size() - 2) == "}\n");
}

TEST_CASE("json report replaces bytes that are not UTF-8") {
  TrainingReport r = sample_report();
  // A Latin-1 e-acute, a stray continuation byte, a truncated sequence and an overlong
  // slash become U+FFFD; well-formed two-, three- and four-byte characters stay.
  r.features = {"caf\xe9", "a\x80z", "b\xe2\x82", "\xc0\xaf", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"};
  std::string json = report_json(r);
  CHECK(contains(json, "\"caf\\ufffd\""));
  CHECK(contains(json, "\"a\\ufffdz\""));
  CHECK(contains(json, "\"b\\ufffd\\ufffd\""));
  CHECK(contains(json, "\"\\ufffd\\ufffd\""));
  CHECK(contains(json, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
}
