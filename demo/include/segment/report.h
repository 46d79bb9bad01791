// The training report, as aligned text tables or JSON. It describes the trained network,
// compares its scores with the majority-class baseline and gives the compile and training
// times.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "segment/metrics.h"

namespace segment {

/// Scores of one cross-validation fold.
struct FoldScore {
  double accuracy = 0;
  double macro_f1 = 0;
  int epochs = 0;
  std::size_t train_rows = 0;
  std::size_t validation_rows = 0;
};

struct TrainingReport {
  std::string data;
  std::string label;
  std::vector<std::string> segments;
  std::vector<std::string> features;
  std::vector<std::string> notes;
  std::size_t rows = 0;
  /// Rows the network is fitted on, and rows held out of those for validation. With
  /// cross-validation these are the last fold's, and folds has each fold's.
  std::size_t train_rows = 0;
  std::size_t validation_rows = 0;
  /// Rows the metrics are computed on: the test split, or every row once for folds.
  std::size_t evaluated_rows = 0;
  /// "test split" or "5-fold cross-validation".
  std::string evaluation;
  /// Such as "7 -> 64 sigmoid -> 2 softmax".
  std::string network;
  /// Such as "adam, learning rate 0.01, batch 32, 200 epochs".
  std::string training;
  /// Epochs trained, summed over the folds for cross-validation.
  int epochs_run = 0;
  /// With early stopping on a test split: the epoch of the lowest validation loss, whose
  /// weights the model keeps. 0 otherwise, and for cross-validation (see final_kept_epoch).
  int kept_epoch = 0;
  /// With cross-validation, the model that is saved, trained on every labelled row after the
  /// folds: its training and validation rows, its epochs and, with early stopping, the epoch
  /// whose weights it keeps (0 otherwise). All 0 for a test split.
  std::size_t final_train_rows = 0;
  std::size_t final_validation_rows = 0;
  int final_epochs_run = 0;
  int final_kept_epoch = 0;

  Metrics model;
  Metrics baseline;
  /// The training split's most frequent segment, which the baseline always predicts.
  int baseline_class = 0;
  std::vector<FoldScore> folds;

  double train_seconds = 0;
  double compile_train_ms = 0;
  double compile_predict_ms = 0;
  /// True when every training step's code came from Damo's compile cache.
  bool compile_cache_hit = false;
};

/// Aligned plain-text tables: summary, per-segment scores, confusion matrix and timing.
std::string format_report(const TrainingReport& report);

/// The same content as a JSON object.
std::string report_json(const TrainingReport& report);

/// Rows of cells as a table whose columns are padded to a common width. The first column
/// is left-aligned; the others are right-aligned for numbers, or left-aligned when
/// right_align is false.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         bool right_align = true);

}  // namespace segment
