// Minibatch training of a Network: seeded shuffling, per-epoch validation, early stopping
// with the best weights restored, and a progress callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "damo/runtime/tensor.h"
#include "segment/network.h"

namespace segment {

/// The position of training inside an epoch, sent after every minibatch.
struct BatchProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  long batch = 0;  // 1-based
  long batches = 0;
};

struct TrainOptions {
  OptimizerOptions optimizer;
  std::size_t batch_size = 32;
  int epochs = 30;
  /// Stops after this many epochs without a lower validation loss and restores the best
  /// weights; 0 trains every epoch.
  int patience = 0;
  std::uint64_t seed = 42;
  /// Called after each minibatch, so that progress can be shown during a long epoch.
  std::function<void(const BatchProgress&)> on_batch;
};

/// Feature matrix (rows, features) float32 and one class index per row.
struct LabelledData {
  damo::Tensor features;
  std::vector<int> classes;
};

/// One line of progress, sent after every epoch.
struct EpochProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  /// Mean training cross-entropy over the epoch's batches.
  double loss = 0;
  /// Validation scores; NaN when there is no validation data.
  double validation_loss = 0;
  double validation_accuracy = 0;
  /// True for the epoch after which training stops, at the last epoch or early.
  bool last = false;
};

using ProgressCallback = std::function<void(const EpochProgress&)>;

struct TrainResult {
  int epochs_run = 0;
  /// The epoch whose weights the network has at the end.
  int best_epoch = 0;
  double final_loss = 0;
  double seconds = 0;
};

/// Trains network on train for options.epochs epochs of shuffled minibatches. With
/// validation data, each epoch reports the validation loss and accuracy, and a positive
/// patience enables early stopping. Compiles the training step (and prediction, for the
/// validation data) first, and TrainResult::seconds leaves those compiles out. Throws
/// UserError when the loss stops being finite.
TrainResult train_network(Network& network, const LabelledData& train,
                          const std::optional<LabelledData>& validation,
                          const TrainOptions& options, const ProgressCallback& progress = {});

/// The rows of a (n, width) float32 matrix at the given positions, as a new matrix.
damo::Tensor gather_rows(const damo::Tensor& matrix, const std::vector<std::size_t>& positions);

/// Class indices as an int32 vector tensor.
damo::Tensor class_tensor(const std::vector<int>& classes);

/// Mean cross-entropy of probabilities (n, classes) against class indices.
double mean_cross_entropy(const damo::Tensor& probabilities, const std::vector<int>& classes);

}  // namespace segment
