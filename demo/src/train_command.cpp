// The train command: one stratified test split or k folds, each fitted and scored the same
// way, then the report and the model.
#include "segment/train_command.h"

#include <fmt/format.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>

#include <algorithm>

#include "damo/runtime/error.h"
#include "segment/predict_command.h"
#include "segment/split.h"
#include "text_util.h"

namespace segment {

using damo::UserError;

void validate_request(const TrainRequest& r) {
  auto reject = [](const std::string& option, const std::string& value, const char* range) {
    throw UserError(fmt::format("{} {} is invalid; use {}", option, value, range));
  };
  for (std::int64_t size : r.hidden)
    if (size < 1) reject("--hidden", std::to_string(size), "positive layer sizes such as 64,32");
  // Training runs in float32, so each setting must keep its range after rounding to it:
  // --lr 1e-50 would become 0 and --momentum 0.99999999 would become 1.
  const OptimizerOptions& o = r.training.optimizer;
  auto f32 = [](double v) { return static_cast<float>(v); };
  if (!(f32(o.learning_rate) >= std::numeric_limits<float>::min() && std::isfinite(f32(o.learning_rate))))
    reject("--lr", fmt::format("{}", o.learning_rate), "a rate > 0 within float32's range (1e-38 to 3e38)");
  if (!(o.momentum >= 0 && f32(o.momentum) < 1))
    reject("--momentum", fmt::format("{}", o.momentum), "a value in [0, 1) that stays below 1 in float32 (at most 0.99999994)");
  if (!(o.l2 >= 0 && std::isfinite(f32(o.l2))))
    reject("--l2", fmt::format("{}", o.l2), "a weight >= 0 within float32's range (up to 3e38)");
  if (!(o.dropout >= 0 && f32(o.dropout) < 1))
    reject("--dropout", fmt::format("{}", o.dropout), "a rate in [0, 1) that stays below 1 in float32 (at most 0.99999994)");
  if (r.training.batch_size < 1) reject("--batch-size", "0", "at least 1");
  if (r.training.epochs < 1) reject("--epochs", std::to_string(r.training.epochs), "at least 1");
  if (r.training.patience < 0)
    reject("--patience", std::to_string(r.training.patience), "0 (off) or more epochs");
  if (!(r.test_fraction > 0 && r.test_fraction < 1))
    reject("--test-fraction", fmt::format("{}", r.test_fraction), "a share in (0, 1) such as 0.2");
  if (r.folds == 1 || r.folds < 0)
    reject("--folds", std::to_string(r.folds), "2 or more folds, or 0 for a test split");
  if (!(r.validation_fraction >= 0 && r.validation_fraction < 1))
    reject("--validation-fraction", fmt::format("{}", r.validation_fraction),
           "a share in [0, 1) such as 0.1");
  if (r.training.patience > 0 && r.validation_fraction == 0)
    throw UserError("--patience needs validation rows; set --validation-fraction above 0");
}

namespace {

struct Dataset {
  Table table;
  /// Notes on the cells that --missing emptied, and the columns as read before, whose
  /// identifier cells --predictions copies (empty without --missing).
  std::vector<std::string> missing_notes;
  std::vector<Column> columns_as_read;
  ColumnSelection selection;
  Labels labels;
};

// One network fitted on a set of labelled positions, with its preprocessing.
struct Fit {
  FeatureSchema schema;
  std::vector<std::size_t> feature_columns;
  std::unique_ptr<Network> network;
  TrainResult training;
  std::size_t train_rows = 0;
  std::size_t validation_rows = 0;
  int majority = 0;
};

std::vector<std::size_t> table_rows(const Labels& labels,
                                    const std::vector<std::size_t>& positions) {
  return gather(labels.rows, positions);
}

LabelledData labelled_data(const Dataset& d, const Fit& fit,
                           const std::vector<std::size_t>& positions) {
  return LabelledData{
      transform_features(fit.schema, d.table, fit.feature_columns, table_rows(d.labels, positions)),
      gather(d.labels.classes, positions)};
}

void add_notes(std::vector<std::string>& notes, const std::vector<std::string>& more) {
  for (const std::string& note : more)
    if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
}

// Bytes of memory the system can still give this process (MemAvailable in /proc/meminfo),
// or 0 when it cannot be read.
std::uint64_t available_memory_bytes() {
  std::FILE* file = std::fopen("/proc/meminfo", "r");
  if (file == nullptr) return 0;
  char line[256];
  std::uint64_t kib = 0;
  while (std::fgets(line, sizeof line, file) != nullptr)
    if (std::sscanf(line, "MemAvailable: %" SCNu64 " kB", &kib) == 1) break;
  std::fclose(file);
  return kib * 1024;
}

// Refuses a network whose training would need more memory than the system has left, before
// any of it is allocated: with overcommitted memory, the allocations themselves would
// succeed and the system would run out part way through training. The estimate counts the
// weights with everything kept per weight (gradients, update values, optimizer state and
// copies), the activations of a batch forward and backward, one prediction pass over the
// evaluated rows and the program itself.
void check_network_memory(const NetworkLayout& layout, const TrainRequest& r, std::size_t rows) {
  std::vector<std::int64_t> sizes = {layout.inputs};
  sizes.insert(sizes.end(), layout.hidden.begin(), layout.hidden.end());
  sizes.push_back(layout.classes);
  double weights = 0, widths = 0, widest = 0;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    weights += static_cast<double>(sizes[i]) * static_cast<double>(sizes[i + 1]) + static_cast<double>(sizes[i + 1]);
    widths += static_cast<double>(sizes[i + 1]);
    widest = std::max(widest, static_cast<double>(sizes[i + 1]));
  }
  // Adam keeps two values per weight, momentum one, plain gradient descent none.
  double state = 0;
  if (r.training.optimizer.kind == OptimizerKind::Adam) state = 2;
  if (r.training.optimizer.kind == OptimizerKind::Momentum) state = 1;
  double batch = static_cast<double>(std::min(r.training.batch_size, rows));
  // Peak memory of two hidden layers of 2000 and 4000 units, measured: about 37 bytes per
  // weight with gradient descent, 41 with momentum and 50 with Adam, over a base of 60 MiB.
  double per_weight = 4 * (9.5 + 1.5 * state);
  double base = 64.0 * 1024 * 1024;
  double bytes = base + weights * per_weight + 4 * (3 * batch * widths + 2 * static_cast<double>(rows) * widest);
  std::uint64_t available = available_memory_bytes();
  if (available == 0 || bytes <= static_cast<double>(available)) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  throw damo::RuntimeError(fmt::format(
      "out of memory: the network {} has {:.0f} weights and needs about {:.1f} GiB to train on {} "
      "rows, but the system has {:.1f} GiB available",
      describe_layout(layout), weights, bytes / kGiB, rows, static_cast<double>(available) / kGiB));
}

// Fits the preprocessing and the network on positions, less the validation share.
// evaluated_positions are the rows that the fit predicts afterwards; note_prefix starts the
// notes on them ("fold 2: " with cross-validation).
Fit fit_network(const Dataset& d, const std::vector<std::size_t>& positions,
                const std::vector<std::size_t>& evaluated_positions, const std::string& note_prefix,
                const TrainRequest& r, const ProgressCallback& progress,
                std::vector<std::string>& notes) {
  // Hold out validation rows from the training positions, stratified like the test split.
  std::vector<std::size_t> fit_positions = positions, validation_positions;
  if (r.validation_fraction > 0) {
    Split inner = stratified_split(gather(d.labels.classes, positions), r.validation_fraction,
                                   r.training.seed + 1);
    fit_positions = gather(positions, inner.train);
    validation_positions = gather(positions, inner.test);
    // Each segment keeps at least one row for fitting, so small segments shrink the share.
    // Folds with the same shortfall share one note.
    double share = static_cast<double>(validation_positions.size()) / static_cast<double>(positions.size());
    std::string text;
    if (validation_positions.empty())
      text = fmt::format(
          "no training rows are held out for validation, because each segment keeps at least one "
          "row for fitting; training runs without validation{}",
          r.training.patience > 0 ? ", so --patience has no effect" : "");
    else if (std::abs(share - r.validation_fraction) > 0.05)
      text = fmt::format(
          "{} of {} training rows ({:.0f}%) are held out for validation, not the {:.0f}% asked "
          "for, because each segment keeps at least one row for fitting",
          validation_positions.size(), positions.size(), 100 * share, 100 * r.validation_fraction);
    bool noted = std::any_of(notes.begin(), notes.end(), [&](const std::string& note) {
      return note.size() >= text.size() && note.compare(note.size() - text.size(), text.size(), text) == 0;
    });
    if (!text.empty() && !noted) notes.push_back(note_prefix + text);
  }

  Fit fit;
  std::vector<std::string> fit_notes;
  fit.schema = fit_features(d.table, d.selection, table_rows(d.labels, fit_positions), r.preprocess,
                            fit_notes);
  add_notes(notes, fit_notes);
  fit.feature_columns = match_schema(fit.schema, d.table);
  // Rows outside the fitting rows may be negative in a column that log1p transforms.
  std::vector<std::size_t> held_out_positions = validation_positions;
  held_out_positions.insert(held_out_positions.end(), evaluated_positions.begin(),
                            evaluated_positions.end());
  for (const std::string& note :
       describe_clamped_negatives(fit.schema, d.table, fit.feature_columns,
                                  table_rows(d.labels, held_out_positions), "held-out cells"))
    notes.push_back(note_prefix + note);
  fit.train_rows = fit_positions.size();
  fit.validation_rows = validation_positions.size();

  LabelledData train = labelled_data(d, fit, fit_positions);
  std::optional<LabelledData> validation;
  if (!validation_positions.empty()) validation = labelled_data(d, fit, validation_positions);
  int classes = static_cast<int>(d.labels.segments.size());
  fit.majority = majority_class(train.classes, classes);

  NetworkLayout layout{static_cast<std::int64_t>(fit.schema.width()), r.hidden, classes,
                       r.activation};
  check_network_memory(layout, r, std::max(train.classes.size(), d.labels.classes.size() - fit_positions.size()));
  fit.network = std::make_unique<Network>(layout, r.training.seed);
  fit.training = train_network(*fit.network, train, validation, r.training, progress);
  // Guessing every segment equally likely has a loss of log(classes). A finite loss far above
  // it means that the weights ran away, which the accuracy alone does not show.
  double guess_loss = std::log(static_cast<double>(classes));
  bool noted = std::any_of(notes.begin(), notes.end(), [](const std::string& note) {
    return note.starts_with("the training loss ended at");
  });
  // Predicting each segment's share of the training rows for every row has a loss of the
  // shares' entropy. A network whose loss ends no lower did not settle, so a poor score then
  // shows nothing about the features.
  std::vector<double> shares(static_cast<std::size_t>(classes), 0.0);
  for (int c : train.classes) shares[static_cast<std::size_t>(c)] += 1.0 / static_cast<double>(train.classes.size());
  double share_loss = 0;
  for (double share : shares)
    if (share > 0) share_loss -= share * std::log(share);
  if (!noted && fit.training.final_loss > 10 * std::max(guess_loss, 0.1))
    notes.push_back(fmt::format(
        "the training loss ended at {:.4g}, far above the {:.4g} of guessing every segment equally "
        "likely, so training diverged; lower --lr (now {})",
        fit.training.final_loss, guess_loss, r.training.optimizer.learning_rate));
  else if (!noted && !train.classes.empty() && fit.training.final_loss >= share_loss)
    notes.push_back(fmt::format(
        "the training loss ended at {:.4g}, not below the {:.4g} of predicting each segment's share "
        "of the training rows, so training did not settle; lower --lr (now {}), use smaller "
        "--hidden layers or train more --epochs",
        fit.training.final_loss, share_loss, r.training.optimizer.learning_rate));
  return fit;
}

// Predicts the rows at positions, appends one held-out entry per row and returns the
// predicted classes.
std::vector<int> predict_held_out(const Dataset& d, Fit& fit, const std::vector<std::size_t>& positions,
                                  int fold, std::vector<HeldOutPrediction>& held_out) {
  LabelledData data = labelled_data(d, fit, positions);
  damo::Tensor probabilities = fit.network->predict(data.features);
  require_finite_probabilities(probabilities, data.features, fit.schema, d.table,
                               table_rows(d.labels, positions));
  std::vector<int> predicted = argmax_rows(probabilities);
  std::size_t segments = d.labels.segments.size();
  for (std::size_t i = 0; i < positions.size(); ++i) {
    std::size_t row = d.labels.rows[positions[i]];
    HeldOutPrediction entry;
    entry.line = d.table.row_lines[row];
    if (d.selection.id_column) {
      const std::vector<Column>& columns = d.columns_as_read.empty() ? d.table.columns : d.columns_as_read;
      entry.id = columns[*d.selection.id_column].cells[row];
    }
    entry.fold = fold;
    entry.actual = data.classes[i];
    entry.predicted = predicted[i];
    for (std::size_t s = 0; s < segments; ++s)
      entry.probabilities.push_back(probabilities.get_double(static_cast<std::int64_t>(i * segments + s)));
    held_out.push_back(std::move(entry));
  }
  return predicted;
}

void sort_by_line(std::vector<HeldOutPrediction>& held_out) {
  std::sort(held_out.begin(), held_out.end(),
            [](const HeldOutPrediction& a, const HeldOutPrediction& b) { return a.line < b.line; });
}

Model make_model(const Dataset& d, const Fit& fit, const TrainRequest& r) {
  Model model;
  model.label = r.label;
  model.segments = d.labels.segments;
  if (d.selection.id_column) model.id_column = d.table.columns[*d.selection.id_column].name;
  model.missing_values = r.features.missing;
  model.schema = fit.schema;
  model.hidden = r.hidden;
  model.activation = r.activation;
  model.weights = fit.network->weights();
  return model;
}

// Describes the training settings. A minibatch contains at most every training row, so the
// batch shown is the size used with the fewest and the most training rows of any fit.
std::string describe_training(const TrainRequest& r, std::size_t fewest_rows, std::size_t most_rows) {
  const OptimizerOptions& o = r.training.optimizer;
  std::string text = fmt::format("{}, learning rate {}", optimizer_name(o.kind), o.learning_rate);
  if (o.kind != OptimizerKind::Sgd) text += fmt::format(", momentum {}", o.momentum);
  std::size_t smallest = std::min(r.training.batch_size, fewest_rows);
  std::size_t largest = std::min(r.training.batch_size, most_rows);
  std::string batch = smallest == largest ? fmt::format("{}", smallest)
                                          : fmt::format("{} to {}", smallest, largest);
  text += fmt::format(", batch {}, {} epochs", batch, r.training.epochs);
  if (o.l2 > 0) text += fmt::format(", L2 {}", o.l2);
  if (o.dropout > 0) text += fmt::format(", dropout {}", o.dropout);
  if (r.training.patience > 0) text += fmt::format(", patience {}", r.training.patience);
  return text + fmt::format(", seed {}", r.training.seed);
}

TrainingReport base_report(const Dataset& d, const TrainRequest& r) {
  TrainingReport report;
  report.data = r.data;
  report.label = r.label;
  report.segments = d.labels.segments;
  report.notes = d.missing_notes;
  add_notes(report.notes, d.selection.notes);
  add_notes(report.notes, d.labels.notes);
  std::string unlabelled = describe_unlabelled(d.table, d.table.require_column(r.label, "--label"));
  if (!unlabelled.empty()) report.notes.push_back(unlabelled);
  report.rows = d.labels.rows.size();
  report.compile_cache_hit = true;  // until a fit compiles without the cache
  return report;
}

// Fills the training description once the fits have run, with a note when --batch-size
// exceeds the training rows, which then form one batch.
void describe_batches(TrainingReport& report, const TrainRequest& r, std::size_t fewest_rows,
                      std::size_t most_rows) {
  report.training = describe_training(r, fewest_rows, most_rows);
  if (r.training.batch_size <= fewest_rows) return;
  std::string rows = fewest_rows == most_rows
                         ? fmt::format("{} training rows", fewest_rows)
                         : fmt::format("{} to {} training rows of a fold", fewest_rows, most_rows);
  report.notes.push_back(fmt::format(
      "--batch-size {} is more than the {}, so each epoch is a single batch of every training row",
      r.training.batch_size, rows));
}

// Notes a network with more input features than training rows, which can fit every
// training row exactly and still predict new rows poorly.
void note_wide_features(TrainingReport& report, std::size_t fewest_rows) {
  if (report.features.size() <= fewest_rows) return;
  report.notes.push_back(fmt::format(
      "the network has {} input features but only {}, so it can fit the training rows exactly "
      "and still predict new rows poorly; leave columns out with --drop or --features, or add "
      "an --l2 penalty",
      report.features.size(), count_of(fewest_rows, "training row")));
}

void fill_from_fit(TrainingReport& report, const Fit& fit, const TrainRequest& r) {
  report.features = fit.schema.feature_names();
  report.network = describe_layout(fit.network->layout());
  report.train_rows = fit.train_rows;
  report.validation_rows = fit.validation_rows;
  report.compile_cache_hit = report.compile_cache_hit && fit.network->training_cache_hit();
  report.compile_train_ms += fit.network->compile_training_ms();
  report.compile_predict_ms += fit.network->compile_prediction_ms();
  report.train_seconds += fit.training.seconds;
}

TrainOutcome evaluate_split(const Dataset& d, const TrainRequest& r,
                            const ProgressCallback& progress, const FoldCallback& on_fold) {
  Split split = stratified_split(d.labels.classes, r.test_fraction, r.training.seed);
  TrainingReport report = base_report(d, r);
  // Every segment keeps at least one test row and one training row, so many small
  // segments pull the test share away from the one asked for.
  double share = static_cast<double>(split.test.size()) / static_cast<double>(d.labels.classes.size());
  if (std::abs(share - r.test_fraction) > 0.05)
    report.notes.push_back(fmt::format(
        "the test split holds {} of {} rows ({:.0f}%), not the {:.0f}% asked for, because each "
        "segment keeps at least one test row and one training row",
        split.test.size(), d.labels.classes.size(), 100 * share, 100 * r.test_fraction));
  if (on_fold) on_fold(0, 0);
  Fit fit = fit_network(d, split.train, split.test, "", r, progress, report.notes);

  std::vector<int> truth = gather(d.labels.classes, split.test);
  std::vector<HeldOutPrediction> held_out;
  std::vector<int> predicted = predict_held_out(d, fit, split.test, 0, held_out);
  sort_by_line(held_out);
  int classes = static_cast<int>(d.labels.segments.size());
  report.model = compute_metrics(truth, predicted, classes);
  report.baseline = compute_metrics(truth, std::vector<int>(truth.size(), fit.majority), classes);
  report.baseline_class = fit.majority;
  report.evaluation = "test split";
  report.evaluated_rows = split.test.size();
  report.epochs_run = fit.training.epochs_run;
  if (r.training.patience > 0) report.kept_epoch = fit.training.best_epoch;
  fill_from_fit(report, fit, r);
  describe_batches(report, r, fit.train_rows, fit.train_rows);
  note_wide_features(report, fit.train_rows);
  return TrainOutcome{make_model(d, fit, r), std::move(report), std::move(held_out)};
}

TrainOutcome evaluate_folds(const Dataset& d, const TrainRequest& r,
                            const ProgressCallback& progress, const FoldCallback& on_fold) {
  std::vector<Split> folds =
      stratified_folds(d.labels.classes, static_cast<std::size_t>(r.folds), r.training.seed);
  TrainingReport report = base_report(d, r);
  // A segment with fewer rows than folds is missing from the test rows of some folds.
  std::vector<std::size_t> segment_rows(d.labels.segments.size(), 0);
  for (int c : d.labels.classes) ++segment_rows[static_cast<std::size_t>(c)];
  for (std::size_t c = 0; c < segment_rows.size(); ++c)
    if (segment_rows[c] < static_cast<std::size_t>(r.folds))
      report.notes.push_back(fmt::format(
          "segment '{}' has {}, fewer than the {} folds, so {} of the folds test none of its rows",
          d.labels.segments[c], count_of(segment_rows[c], "labelled row"), r.folds,
          static_cast<std::size_t>(r.folds) - segment_rows[c]));
  int classes = static_cast<int>(d.labels.segments.size());
  std::vector<int> truth, predicted, baseline;
  std::vector<HeldOutPrediction> held_out;
  std::size_t fewest_rows = std::numeric_limits<std::size_t>::max(), most_rows = 0;

  for (std::size_t f = 0; f < folds.size(); ++f) {
    if (on_fold) on_fold(static_cast<int>(f) + 1, r.folds);
    Fit fit = fit_network(d, folds[f].train, folds[f].test, fmt::format("fold {}: ", f + 1), r,
                          progress, report.notes);
    std::vector<int> fold_truth = gather(d.labels.classes, folds[f].test);
    std::vector<int> fold_predicted =
        predict_held_out(d, fit, folds[f].test, static_cast<int>(f) + 1, held_out);
    Metrics scores = compute_metrics(fold_truth, fold_predicted, classes);
    report.folds.push_back(
        {scores.accuracy, scores.macro_f1, fit.training.epochs_run, fit.train_rows, fit.validation_rows});

    truth.insert(truth.end(), fold_truth.begin(), fold_truth.end());
    predicted.insert(predicted.end(), fold_predicted.begin(), fold_predicted.end());
    baseline.insert(baseline.end(), fold_truth.size(), fit.majority);
    report.epochs_run += fit.training.epochs_run;
    fill_from_fit(report, fit, r);
    fewest_rows = std::min(fewest_rows, fit.train_rows);
    most_rows = std::max(most_rows, fit.train_rows);
  }
  describe_batches(report, r, fewest_rows, most_rows);
  note_wide_features(report, fewest_rows);

  report.model = compute_metrics(truth, predicted, classes);
  report.baseline = compute_metrics(truth, baseline, classes);
  report.baseline_class = majority_class(baseline, classes);
  report.evaluation = fmt::format("{}-fold cross-validation", r.folds);
  report.evaluated_rows = truth.size();
  sort_by_line(held_out);

  // The saved model fits every labelled row except the validation share that fit_network
  // sets aside. Its time is not part of the fold report.
  std::vector<std::size_t> all(d.labels.rows.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (on_fold) on_fold(0, r.folds);
  std::vector<std::string> final_notes;
  Fit final_fit = fit_network(d, all, {}, "", r, progress, final_notes);
  report.final_train_rows = final_fit.train_rows;
  report.final_validation_rows = final_fit.validation_rows;
  report.final_epochs_run = final_fit.training.epochs_run;
  if (r.training.patience > 0) report.final_kept_epoch = final_fit.training.best_epoch;
  return TrainOutcome{make_model(d, final_fit, r), std::move(report), std::move(held_out)};
}

}  // namespace

std::string held_out_csv(const TrainOutcome& outcome) {
  bool with_id = !outcome.model.id_column.empty();
  bool with_folds = !outcome.report.folds.empty();
  std::vector<std::string> fixed{"line", "fold", "actual", "predicted"};
  for (const std::string& segment : outcome.model.segments) fixed.push_back("probability_" + segment);
  // An identifier column named like one of the other columns gets "_id" appended, so that
  // every column of the file has its own name.
  std::string id_name = outcome.model.id_column;
  while (std::find(fixed.begin(), fixed.end(), id_name) != fixed.end()) id_name += "_id";
  std::vector<std::string> header{"line"};
  if (with_id) header.push_back(id_name);
  if (with_folds) header.push_back("fold");
  header.push_back("actual");
  header.push_back("predicted");
  header.insert(header.end(), fixed.begin() + 4, fixed.end());
  std::string text = format_csv_row(header);
  const std::vector<std::string>& names = outcome.model.segments;
  for (const HeldOutPrediction& entry : outcome.held_out) {
    std::vector<std::string> row{std::to_string(entry.line)};
    if (with_id) row.push_back(entry.id);
    if (with_folds) row.push_back(std::to_string(entry.fold));
    row.push_back(names[static_cast<std::size_t>(entry.actual)]);
    row.push_back(names[static_cast<std::size_t>(entry.predicted)]);
    for (double p : entry.probabilities) row.push_back(fmt::format("{:.6f}", p));
    text += format_csv_row(row);
  }
  return text;
}

TrainOutcome train_and_evaluate(const TrainRequest& request, const ProgressCallback& progress,
                                const FoldCallback& on_fold) {
  validate_request(request);
  Dataset d;
  d.table = read_csv(request.data);
  if (!request.features.missing.empty()) d.columns_as_read = d.table.columns;
  d.missing_notes = mark_missing(d.table, request.features.missing);
  std::size_t label_column = d.table.require_column(request.label, "--label");
  d.selection = select_columns(d.table, request.label, request.features);
  d.labels = encode_labels(d.table, label_column);
  // Every labelled row's numbers and dates are read once before training, so that a bad
  // cell in a row that lands in the test split stops the run before training, not after.
  for (std::size_t i = 0; i < d.selection.columns.size(); ++i) {
    if (d.selection.kinds[i] == ColumnKind::Categorical) continue;
    std::size_t column = d.selection.columns[i];
    for (std::size_t row : d.labels.rows)
      if (!is_missing(d.table.columns[column].cells[row])) parse_cell(d.table, row, column, d.selection.kinds[i]);
  }
  if (request.folds > 0) return evaluate_folds(d, request, progress, on_fold);
  return evaluate_split(d, request, progress, on_fold);
}

}  // namespace segment
