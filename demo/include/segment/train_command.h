// The train command as a library call: read the table, split it, fit the preprocessing,
// train the network, evaluate it against the majority-class baseline and build the Model.
#pragma once

#include <optional>
#include <string>

#include "segment/model.h"
#include "segment/preprocess.h"
#include "segment/report.h"
#include "segment/trainer.h"

namespace segment {

struct TrainRequest {
  std::string data;
  std::string label;
  FeatureOptions features;
  PreprocessOptions preprocess;
  std::vector<std::int64_t> hidden{64};
  Activation activation = Activation::Sigmoid;
  TrainOptions training;
  /// Share of each segment held out for the test scores.
  double test_fraction = 0.2;
  /// Cross-validation folds instead of one test split; 0 for the split.
  int folds = 0;
  /// Share of the training rows held out (stratified) for per-epoch validation and early
  /// stopping; 0 trains on every training row and reports no validation scores.
  double validation_fraction = 0.1;
};

/// The prediction for one evaluated row by a network that did not train on it: a test-split
/// row, or with folds a row of the fold left out.
struct HeldOutPrediction {
  /// Line of the row in the CSV file, the header being line 1.
  std::int64_t line = 0;
  /// The row's identifier cell, or empty when the table has no identifier column.
  std::string id;
  /// The 1-based fold that left the row out, or 0 for the test split.
  int fold = 0;
  int actual = 0;
  int predicted = 0;
  /// Probability of each segment, in the order of the segment names.
  std::vector<double> probabilities;
};

struct TrainOutcome {
  /// The evaluated model for a test split. With folds, a model trained afterwards on
  /// every labelled row (less the validation share) with the same settings.
  Model model;
  TrainingReport report;
  /// One entry per evaluated row, in the table's row order.
  std::vector<HeldOutPrediction> held_out;
};

/// Reports the fold (1-based, 0 for the test split or the final model) before its epochs.
using FoldCallback = std::function<void(int fold, int folds)>;

/// Runs the whole train command; throws UserError for bad data or settings.
TrainOutcome train_and_evaluate(const TrainRequest& request, const ProgressCallback& progress = {},
                                const FoldCallback& on_fold = {});

/// The held-out predictions as CSV text: line, the identifier column when the model has one,
/// fold (with cross-validation), actual, predicted, then probability_<segment> per segment.
std::string held_out_csv(const TrainOutcome& outcome);

/// Checks the numeric settings of a request (sizes, rates, fractions); throws UserError
/// naming the option and the valid range.
void validate_request(const TrainRequest& request);

}  // namespace segment
