// The epoch loop around Network::train_step.
#include "segment/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "segment/random.h"

namespace segment {

using damo::Tensor;

Tensor gather_rows(const Tensor& matrix, const std::vector<std::size_t>& positions) {
  std::int64_t width = matrix.dim(1);
  Tensor rows(damo::DType::Float32, {static_cast<std::int64_t>(positions.size()), width});
  const float* source = matrix.data<float>();
  float* target = rows.data<float>();
  for (std::size_t i = 0; i < positions.size(); ++i)
    std::memcpy(target + static_cast<std::int64_t>(i) * width,
                source + static_cast<std::int64_t>(positions[i]) * width,
                static_cast<std::size_t>(width) * sizeof(float));
  return rows;
}

Tensor class_tensor(const std::vector<int>& classes) {
  std::vector<std::int32_t> values(classes.begin(), classes.end());
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

double mean_cross_entropy(const Tensor& probabilities, const std::vector<int>& classes) {
  if (classes.empty()) return 0;
  std::int64_t width = probabilities.dim(1);
  double total = 0;
  for (std::size_t r = 0; r < classes.size(); ++r) {
    double p = probabilities.get_double(static_cast<std::int64_t>(r) * width + classes[r]);
    total -= std::log(std::max(p, 1e-12));
  }
  return total / static_cast<double>(classes.size());
}

namespace {

double accuracy(const std::vector<int>& predicted, const std::vector<int>& truth) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return truth.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(truth.size());
}

// Runs one epoch of shuffled minibatches and returns the mean batch loss.
double run_epoch(Network& network, const LabelledData& train, const TrainOptions& options, int epoch,
                 Rng& rng) {
  std::size_t batch_size = options.batch_size;
  std::vector<std::size_t> order(train.classes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  rng.shuffle(order);

  double loss_sum = 0;
  std::size_t batches = 0;
  long epoch_batches = static_cast<long>((order.size() + batch_size - 1) / batch_size);
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    std::size_t end = std::min(order.size(), start + batch_size);
    std::vector<std::size_t> batch(order.begin() + static_cast<std::ptrdiff_t>(start),
                                   order.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<int> classes;
    for (std::size_t position : batch) classes.push_back(train.classes[position]);
    loss_sum += network.train_step(gather_rows(train.features, batch), class_tensor(classes));
    ++batches;
    if (options.on_batch)
      options.on_batch(BatchProgress{epoch, options.epochs, static_cast<long>(batches), epoch_batches});
  }
  return loss_sum / static_cast<double>(batches);
}

}  // namespace

TrainResult train_network(Network& network, const LabelledData& train,
                          const std::optional<LabelledData>& validation,
                          const TrainOptions& options, const ProgressCallback& progress) {
  DAMO_ASSERT(options.batch_size > 0, "a positive batch size");
  DAMO_ASSERT(!train.classes.empty(), "training rows");
  // Both compiles happen before the clock starts, so TrainResult::seconds is training only.
  OptimizerOptions optimizer = options.optimizer;
  // The first output of a generator seeded with the seed, so that neighbouring seeds do not
  // share keys (seed + 1 would otherwise draw seed's masks one step later).
  optimizer.dropout_seed = std::mt19937_64(options.seed)();
  network.compile_training(optimizer);
  if (validation) network.compile_prediction();

  Rng rng(options.seed);
  TrainResult result;
  bool early_stopping = validation.has_value() && options.patience > 0;
  double best_loss = std::numeric_limits<double>::infinity();
  std::vector<Tensor> best_weights;
  int best_epoch = 0;
  auto start = std::chrono::steady_clock::now();

  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    EpochProgress report{epoch, options.epochs, run_epoch(network, train, options, epoch, rng),
                         std::nan(""), std::nan("")};
    if (!std::isfinite(report.loss)) {
      std::string remedy = fmt::format("lower --lr (now {})", options.optimizer.learning_rate);
      if (options.optimizer.l2 > 0)
        remedy += fmt::format(" or --l2 (now {})", options.optimizer.l2);
      throw damo::UserError(fmt::format("training diverged in epoch {} (the loss is {}); {}", epoch,
                                        std::isnan(report.loss) ? "nan" : "inf", remedy));
    }
    result.epochs_run = epoch;
    result.final_loss = report.loss;
    if (validation) {
      Tensor probabilities = network.predict(validation->features);
      report.validation_loss = mean_cross_entropy(probabilities, validation->classes);
      report.validation_accuracy = accuracy(argmax_rows(probabilities), validation->classes);
    }
    bool stop = false;
    if (early_stopping && report.validation_loss < best_loss) {
      best_loss = report.validation_loss;
      best_weights = network.weights();
      best_epoch = epoch;
    } else if (early_stopping) {
      stop = epoch - best_epoch >= options.patience;
    }
    report.last = stop || epoch == options.epochs;
    if (progress) progress(report);
    if (stop) break;
  }

  result.best_epoch = result.epochs_run;
  if (early_stopping && !best_weights.empty()) {
    network.set_weights(best_weights);
    result.best_epoch = best_epoch;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace segment
