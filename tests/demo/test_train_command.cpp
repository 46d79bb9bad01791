// The train and predict commands on the shipped tables: the quality of the default
// network, a train -> save -> load -> predict round trip, and damaged model files.
#include <doctest/doctest.h>

#include <algorithm>

#include <fmt/format.h>

#include "demo/test_util.h"
#include "segment/predict_command.h"
#include "segment/report.h"
#include "segment/split.h"
#include "segment/train_command.h"

using namespace segment;
using namespace segment_test;

namespace {

// One epoch per fold on a written table with the label column "label".
TrainRequest quick_folds(const std::string& path, int folds) {
  TrainRequest request;
  request.data = path;
  request.label = "label";
  request.folds = folds;
  request.training.epochs = 1;
  return request;
}

TrainRequest wholesale_request() {
  TrainRequest request;
  request.data = shipped_data("wholesale_customers.csv");
  request.label = "Channel";
  return request;
}

}  // namespace

TEST_CASE("default network beats the quality bar in cross-validation") {
  // One 88-row test split moves by 1.1 points per row, so the bar is checked on the
  // pooled predictions of 5 stratified folds (every row predicted once).
  TrainRequest request = wholesale_request();
  request.folds = 5;
  TrainOutcome outcome = train_and_evaluate(request);
  const TrainingReport& r = outcome.report;
  CHECK(r.evaluated_rows == 440);
  CHECK(r.folds.size() == 5);
  CHECK(r.model.accuracy >= 0.89);
  CHECK(r.model.macro_f1 >= 0.87);
  CHECK(r.baseline.accuracy == doctest::Approx(298.0 / 440));
  CHECK(r.model.accuracy > r.baseline.accuracy + 0.15);
}

TEST_CASE("test split report is consistent") {
  TrainOutcome outcome = train_and_evaluate(wholesale_request());
  const TrainingReport& r = outcome.report;
  CHECK(r.rows == 440);
  CHECK(r.evaluated_rows == 88);
  CHECK(r.train_rows + r.validation_rows == 352);
  CHECK(r.segments == std::vector<std::string>{"1", "2"});
  CHECK(r.features.size() == 7);
  CHECK(r.network == "7 -> 64 sigmoid -> 2 softmax");
  CHECK(r.model.confusion[0][0] + r.model.confusion[0][1] == 60);
  CHECK(r.model.confusion[1][0] + r.model.confusion[1][1] == 28);
  CHECK(r.baseline_class == 0);
  CHECK(r.baseline.accuracy == doctest::Approx(60.0 / 88));
  CHECK(r.epochs_run == TrainOptions{}.epochs);
  CHECK(r.model.accuracy > 0.8);
}

TEST_CASE("early stopping reports the epoch whose weights are kept") {
  TrainRequest request = wholesale_request();
  request.training.epochs = 200;
  request.training.patience = 3;
  TrainOutcome outcome = train_and_evaluate(request);
  const TrainingReport& r = outcome.report;
  // The run stops 3 epochs after the lowest validation loss, whose weights it keeps.
  REQUIRE(r.epochs_run < 200);
  CHECK(r.kept_epoch == r.epochs_run - 3);
  CHECK(contains(format_report(r), fmt::format("weights of epoch {} kept (lowest validation loss)",
                                               r.kept_epoch)));
  CHECK(contains(report_json(r), fmt::format("\"kept_epoch\": {},", r.kept_epoch)));
  // Without early stopping no epoch is singled out.
  CHECK(train_and_evaluate(wholesale_request()).report.kept_epoch == 0);
}

TEST_CASE("cross-validation reports the saved model") {
  TrainRequest request = wholesale_request();
  request.folds = 3;
  request.training.patience = 3;
  TrainOutcome outcome = train_and_evaluate(request);
  const TrainingReport& r = outcome.report;
  // The saved model trains on all 440 rows less its 10% validation share.
  CHECK(r.final_train_rows == 396);
  CHECK(r.final_validation_rows == 44);
  REQUIRE(r.final_epochs_run > 3);
  CHECK(r.final_kept_epoch == r.final_epochs_run - 3);
  CHECK(r.kept_epoch == 0);
  CHECK(contains(format_report(r),
                 fmt::format("saved model:  trained after the folds on 396 rows (44 for validation); "
                             "{} epochs run, weights of epoch {} kept",
                             r.final_epochs_run, r.final_kept_epoch)));
  CHECK(contains(report_json(r),
                 fmt::format("\"final_model\": {{\"train_rows\": 396, \"validation_rows\": 44, "
                             "\"epochs_run\": {}, \"kept_epoch\": {}}},",
                             r.final_epochs_run, r.final_kept_epoch)));
  // A test split has no separate saved model.
  CHECK(contains(report_json(train_and_evaluate(wholesale_request()).report), "\"final_model\": null,"));
}

TEST_CASE("held-out predictions agree with the report") {
  // The test split: one entry per test row, in line order, scored like the report.
  TrainOutcome split = train_and_evaluate(wholesale_request());
  REQUIRE(split.held_out.size() == 88);
  std::size_t correct = 0, actual_retail = 0;
  for (std::size_t i = 0; i < split.held_out.size(); ++i) {
    const HeldOutPrediction& e = split.held_out[i];
    if (i > 0) CHECK(e.line > split.held_out[i - 1].line);
    CHECK(e.fold == 0);
    CHECK(e.id.empty());
    REQUIRE(e.probabilities.size() == 2);
    CHECK(e.probabilities[0] + e.probabilities[1] == doctest::Approx(1).epsilon(1e-5));
    CHECK(e.predicted == (e.probabilities[1] > e.probabilities[0] ? 1 : 0));
    correct += e.actual == e.predicted;
    actual_retail += e.actual == 1;
  }
  CHECK(actual_retail == 28);
  CHECK(static_cast<double>(correct) / 88 == doctest::Approx(split.report.model.accuracy));

  // Folds: every labelled row once, predicted by the fold that left it out.
  TrainRequest request = wholesale_request();
  request.folds = 4;
  request.training.epochs = 3;
  TrainOutcome folds = train_and_evaluate(request);
  REQUIRE(folds.held_out.size() == 440);
  std::vector<int> per_fold(5, 0);
  correct = 0;
  for (std::size_t i = 0; i < folds.held_out.size(); ++i) {
    const HeldOutPrediction& e = folds.held_out[i];
    CHECK(e.line == static_cast<std::int64_t>(i) + 2);  // the header is line 1
    REQUIRE(e.fold >= 1);
    REQUIRE(e.fold <= 4);
    ++per_fold[static_cast<std::size_t>(e.fold)];
    correct += e.actual == e.predicted;
  }
  CHECK(per_fold == std::vector<int>{0, 110, 110, 110, 110});
  CHECK(static_cast<double>(correct) / 440 == doctest::Approx(folds.report.model.accuracy));

  std::string text = held_out_csv(folds);
  CHECK(text.rfind("line,fold,actual,predicted,probability_1,probability_2\n", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 441);
  const HeldOutPrediction& first = folds.held_out[0];
  CHECK(contains(text, fmt::format("\n2,{},{},", first.fold, first.actual == 0 ? "1" : "2")));
}

TEST_CASE("probabilities that are not numbers name the row") {
  Table table = parse_csv("a,b\n1,2\n3,4\n", "new.csv");
  std::vector<std::string> notes;
  FeatureSchema schema =
      fit_features(table, select_columns(table, "", {}), {0, 1}, PreprocessOptions{}, notes);
  damo::Tensor features = damo::Tensor::from_list({{0.5, -1.0}, {2.0, -3e38}}, damo::DType::Float32);
  damo::Tensor fine = damo::Tensor::from_list({{0.25, 0.75}, {0.5, 0.5}}, damo::DType::Float32);
  require_finite_probabilities(fine, features, schema, table, {0, 1});
  damo::Tensor broken = damo::Tensor::from_list({{0.25, 0.75}, {NAN, NAN}}, damo::DType::Float32);
  std::string message = error_message(
      [&] { require_finite_probabilities(broken, features, schema, table, {0, 1}); });
  CHECK(contains(message, "new.csv line 3: the segment probabilities of the model for this row are "
                          "not numbers"));
  CHECK(contains(message, "The furthest is 'b' at -3e+38 standard deviations"));
}

TEST_CASE("no hidden layer is softmax regression") {
  TrainRequest request = wholesale_request();
  request.hidden = {};
  request.folds = 5;
  TrainOutcome outcome = train_and_evaluate(request);
  const TrainingReport& r = outcome.report;
  CHECK(r.network == "7 -> 2 softmax");
  CHECK(outcome.model.weights.size() == 2);
  CHECK(outcome.model.weights[0].shape() == std::vector<std::int64_t>{7, 2});
  CHECK(r.model.accuracy > r.baseline.accuracy + 0.15);
}

TEST_CASE("train save load predict round trip") {
  std::string dir = temp_dir("round_trip");
  TrainOutcome outcome = train_and_evaluate(wholesale_request());
  save_model(dir + "/wholesale.model", outcome.model);
  Model loaded = load_model(dir + "/wholesale.model");
  CHECK(loaded.segments == outcome.model.segments);
  CHECK(loaded.label == "Channel");
  CHECK(loaded.schema.feature_names() == outcome.report.features);

  // The loaded model predicts exactly what the trained one does on the same table.
  Table table = read_csv(shipped_data("wholesale_customers.csv"));
  Predictions original = predict_table(outcome.model, table);
  Predictions reloaded = predict_table(loaded, table);
  CHECK(reloaded.rows == original.rows);

  std::size_t rows = run_predict(dir + "/wholesale.model", shipped_data("wholesale_customers.csv"),
                                 dir + "/predictions.csv");
  CHECK(rows == 440);
  Table written = read_csv(dir + "/predictions.csv");
  REQUIRE(written.column_count() == 4);
  CHECK(written.column_names() ==
        std::vector<std::string>{"line", "segment", "probability_1", "probability_2"});
  CHECK(written.row_count() == 440);
  CHECK(written.columns[0].cells[0] == "2");

  // Predictions agree with the labels on most rows, and probabilities sum to 1.
  std::size_t agree = 0;
  for (std::size_t row = 0; row < 440; ++row) {
    agree += written.columns[1].cells[row] == table.columns[0].cells[row];
    double sum =
        std::stod(written.columns[2].cells[row]) + std::stod(written.columns[3].cells[row]);
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
  CHECK(agree >= 0.85 * 440);
}

TEST_CASE("predict copies the identifier column") {
  std::string dir = temp_dir("predict_id");
  TrainRequest request;
  request.data = shipped_data("marketing_campaign.csv");
  request.label = "Response";
  request.training.epochs = 2;
  TrainOutcome outcome = train_and_evaluate(request);
  CHECK(outcome.model.id_column == "ID");
  bool date_feature = false;
  for (const FeatureColumn& column : outcome.model.schema.columns)
    date_feature =
        date_feature || (column.name == "Dt_Customer" && column.kind == ColumnKind::Date);
  CHECK(date_feature);
  CHECK(contains(fmt::format("{}", fmt::join(outcome.report.notes, "\n")),
                 "'Z_Revenue' is constant"));

  Table table = read_csv(shipped_data("marketing_campaign.csv"));
  Predictions predictions = predict_table(outcome.model, table);
  CHECK(predictions.header.front() == "ID");
  CHECK(predictions.rows.front().front() == table.columns[0].cells.front());
  CHECK(predictions.rows.size() == 2240);
}

TEST_CASE("predict rejects a table of another schema") {
  std::string dir = temp_dir("predict_mismatch");
  TrainRequest request = wholesale_request();
  request.training.epochs = 1;
  save_model(dir + "/m.model", train_and_evaluate(request).model);
  write_text(dir + "/other.csv", "Channel,Region,Fresh,Milk,Frozen\n1,3,100,200,300\n");
  std::string message =
      error_message([&] { run_predict(dir + "/m.model", dir + "/other.csv", dir + "/out.csv"); });
  CHECK(contains(message, "does not match the model's schema"));
  CHECK(contains(message, "'Grocery', 'Detergents_Paper' and 'Delicassen' are missing"));
  CHECK_FALSE(file_exists(dir + "/out.csv"));
}

TEST_CASE("damaged model files are rejected") {
  std::string dir = temp_dir("damaged_model");
  TrainRequest request = wholesale_request();
  request.training.epochs = 1;
  save_model(dir + "/m.model", train_and_evaluate(request).model);
  std::string bytes = read_text(dir + "/m.model");

  write_text(dir + "/truncated.model", bytes.substr(0, bytes.size() - 10));
  std::string truncated = error_message([&] {
    run_predict(dir + "/truncated.model", shipped_data("wholesale_customers.csv"),
                dir + "/out.csv");
  });
  CHECK(contains(truncated, "truncated.model is truncated"));

  std::string flipped = bytes;
  flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 0x01);
  write_text(dir + "/flipped.model", flipped);
  CHECK(contains(error_message([&] { load_model(dir + "/flipped.model"); }),
                 "flipped.model is corrupted"));

  std::string version = bytes;
  version[8] = 7;
  write_text(dir + "/version.model", version);
  CHECK(contains(error_message([&] { load_model(dir + "/version.model"); }),
                 "model format version 7"));
}

TEST_CASE("train rejects bad settings") {
  TrainRequest request = wholesale_request();
  request.test_fraction = 1.0;
  CHECK(contains(error_message([&] { train_and_evaluate(request); }), "--test-fraction 1"));
  request = wholesale_request();
  request.training.optimizer.learning_rate = -1;
  CHECK(contains(error_message([&] { train_and_evaluate(request); }), "--lr -1 is invalid"));
  request = wholesale_request();
  request.hidden = {64, 0};
  CHECK(contains(error_message([&] { train_and_evaluate(request); }), "--hidden 0"));
  request = wholesale_request();
  request.training.patience = 5;
  request.validation_fraction = 0;
  CHECK(contains(error_message([&] { train_and_evaluate(request); }), "--patience needs"));
}

TEST_CASE("train on bank table with quoted text") {
  TrainRequest request;
  request.data = shipped_data("bank_marketing.csv");
  request.label = std::string{"y"};
  request.features.drop = {"duration"};
  request.training.epochs = 1;
  TrainOutcome outcome = train_and_evaluate(request);
  CHECK(outcome.report.segments == std::vector<std::string>{"no", "yes"});
  // round(0.2 * 4000) + round(0.2 * 521) = 800 + 104.
  CHECK(outcome.report.evaluated_rows == 904);
  // 6 numeric columns plus 12 + 3 + 4 + 2 + 2 + 2 + 3 + 12 + 4 categories.
  CHECK(outcome.report.features.size() == 50);
  CHECK(outcome.model.id_column.empty());
}

TEST_CASE("train on mall table when present") {
  std::string path = mall_customers_path();
  if (!file_exists(path)) {
    MESSAGE("skipped: " << path << " is not present");
    return;
  }
  TrainRequest request;
  request.data = path;
  request.label = "Gender";
  request.training.epochs = 2;
  TrainOutcome outcome = train_and_evaluate(request);
  CHECK(outcome.model.id_column == "CustomerID");
  CHECK(outcome.report.segments == std::vector<std::string>{"Female", "Male"});
  CHECK(outcome.report.features ==
        std::vector<std::string>{"Age", "Annual Income (k$)", "Spending Score (1-100)"});
}

TEST_CASE("test split share note for small segments") {
  // 40 segments of 3 rows: each keeps one test row, a third of the table.
  std::string dir = temp_dir("train_small_segments");
  std::string text = "a,b,label\n";
  for (int i = 0; i < 120; ++i)
    text += std::to_string((i * 13) % 17) + "," + std::to_string((i * 7) % 11) + ",c" + std::to_string(i % 40) + "\n";
  write_text(dir + "/small.csv", text);
  TrainRequest request;
  request.data = dir + "/small.csv";
  request.label = "label";
  request.training.epochs = 1;
  TrainOutcome outcome = train_and_evaluate(request);
  CHECK(outcome.report.evaluated_rows == 40);
  bool noted = std::any_of(outcome.report.notes.begin(), outcome.report.notes.end(), [](const std::string& note) {
    return note == "the test split holds 40 of 120 rows (33%), not the 20% asked for, because each segment keeps "
                   "at least one test row and one training row";
  });
  CHECK(noted);
  // The shipped table splits as asked and gets no such note.
  TrainOutcome wholesale = train_and_evaluate(wholesale_request());
  for (const std::string& note : wholesale.report.notes) CHECK_FALSE(contains(note, "the test split holds"));
}

TEST_CASE("fold note for segments with fewer rows than folds") {
  // Segment 'rare' has 2 of 40 rows, so with 5 folds 3 folds test none of it.
  std::string dir = temp_dir("train_rare_segment");
  std::string text = "a,b,label\n";
  for (int i = 0; i < 40; ++i)
    text += fmt::format("{},{},{}\n", (i * 13) % 17, (i * 7) % 11, i < 2 ? "rare" : (i % 2 == 0 ? "x" : "y"));
  write_text(dir + "/rare.csv", text);
  TrainOutcome outcome = train_and_evaluate(quick_folds(dir + "/rare.csv", 5));
  std::size_t noted = std::count(outcome.report.notes.begin(), outcome.report.notes.end(),
                                 "segment 'rare' has 2 labelled rows, fewer than the 5 folds, so 3 of the "
                                 "folds test none of its rows");
  CHECK(noted == 1);
  for (const std::string& note : outcome.report.notes) CHECK_FALSE(contains(note, "segment 'x'"));
}

TEST_CASE("note for more features than training rows") {
  // 40 rows of 50 numeric columns: each of 2 folds trains on 20 rows less its validation rows.
  std::string dir = temp_dir("train_wide");
  std::string text;
  for (int c = 0; c < 50; ++c) text += fmt::format("f{},", c);
  text += "label\n";
  for (int i = 0; i < 40; ++i) {
    for (int c = 0; c < 50; ++c) text += fmt::format("{},", (i * (c + 3)) % 17);
    text += i % 2 == 0 ? "x\n" : "y\n";
  }
  write_text(dir + "/wide.csv", text);
  TrainOutcome outcome = train_and_evaluate(quick_folds(dir + "/wide.csv", 2));
  // Columns 14, 31 and 48 are constant and left out.
  REQUIRE(outcome.report.features.size() == 47);
  std::size_t noted = 0;
  for (const std::string& note : outcome.report.notes)
    if (note.starts_with("the network has 47 input features but only ")) ++noted;
  CHECK(noted == 1);
  // The shipped table has 7 features for 316 training rows.
  TrainOutcome wholesale = train_and_evaluate(wholesale_request());
  for (const std::string& note : wholesale.report.notes) CHECK_FALSE(contains(note, "input features"));
}

TEST_CASE("train refuses a network larger than memory before allocating it") {
  // 10^12 weights need terabytes; the check runs before any weight exists.
  TrainRequest request = wholesale_request();
  request.hidden = {100'000'000'000};
  std::string message;
  try {
    train_and_evaluate(request);
  } catch (const damo::RuntimeError& e) {
    message = e.what();
  }
  CHECK(message.starts_with("out of memory: the network 7 -> 100000000000 sigmoid -> 2 softmax has 1000000000002 "
                            "weights and needs about "));
  CHECK(contains(message, "GiB to train on 317 rows, but the system has "));
}

TEST_CASE("a bad cell in any labelled row stops training before it starts") {
  // Line 6 of the wholesale table lands in the test split of the default seed; its cell is
  // still read before the first epoch.
  std::string dir = temp_dir("train_bad_test_row");
  std::string text = read_text(shipped_data("wholesale_customers.csv"));
  std::size_t line_start = 0;
  for (int line = 1; line < 6; ++line) line_start = text.find('\n', line_start) + 1;
  std::size_t comma = text.find(',', text.find(',', line_start) + 1);  // after Channel and Region
  std::size_t next = text.find(',', comma + 1);
  text.replace(comma + 1, next - comma - 1, "abc");  // the Fresh cell
  write_text(dir + "/bad.csv", text);
  TrainRequest request = wholesale_request();
  request.data = dir + "/bad.csv";
  int epochs = 0;
  std::string message = error_message([&] {
    train_and_evaluate(request, [&](const EpochProgress&) { ++epochs; });
  });
  CHECK(contains(message, "bad.csv line 6, column 'Fresh': 'abc' is not a number"));
  CHECK(epochs == 0);
}

TEST_CASE("batch size above the training rows is reported as used") {
  TrainRequest request = wholesale_request();
  request.training.batch_size = 1000000;
  request.training.epochs = 1;
  TrainOutcome split = train_and_evaluate(request);
  const TrainingReport& r = split.report;
  CAPTURE(r.training);
  CHECK(contains(r.training, fmt::format(", batch {}, 1 epochs", r.train_rows)));
  CHECK_FALSE(contains(r.training, "1000000"));
  CHECK(std::count(r.notes.begin(), r.notes.end(),
                   fmt::format("--batch-size 1000000 is more than the {} training rows, so each "
                               "epoch is a single batch of every training row",
                               r.train_rows)) == 1);

  request.training.batch_size = 32;
  TrainOutcome small = train_and_evaluate(request);
  CHECK(contains(small.report.training, ", batch 32, 1 epochs"));
  for (const std::string& note : small.report.notes) CHECK_FALSE(contains(note, "--batch-size"));
}

TEST_CASE("negative held-out values in a log1p column get a note") {
  // Row 6 (line 7) is the only negative amount, so the fold that leaves it out fits log1p
  // on the skewed amounts of the other rows.
  std::string dir = temp_dir("train_negative_held_out");
  std::string text = "amount,other,label\n";
  for (int i = 0; i < 60; ++i) {
    std::string amount = i == 5 ? "-3" : std::to_string(i % 10 == 0 ? 500 : i % 7);
    text += fmt::format("{},{},{}\n", amount, (i * 7) % 11, i % 2 ? "a" : "b");
  }
  write_text(dir + "/negative.csv", text);
  TrainOutcome outcome = train_and_evaluate(quick_folds(dir + "/negative.csv", 2));
  std::vector<std::string> negative;
  for (const std::string& note : outcome.report.notes)
    if (contains(note, "negative")) negative.push_back(note);
  REQUIRE(negative.size() == 1);
  CHECK(negative[0].starts_with("fold "));
  CHECK(contains(negative[0], ": column 'amount': 1 of "));
  CHECK(contains(negative[0], " held-out cells is negative, such as '-3' on line 7, and counts as 0"));
}
