// Network: a multilayer perceptron with a softmax output, built as a Damo graph.
//
// The weights and the optimizer state are Damo shared variables. One training step (the
// forward pass, the mean categorical cross-entropy, its gradients from damo::grad and the
// optimizer update of every weight and state) is one compiled Damo function whose Update
// entries write the new values in place. Prediction is a second compiled function.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/graph/graph.h"
#include "segment/model.h"

namespace segment {

enum class OptimizerKind { Sgd, Momentum, Adam };

/// "sgd", "momentum" or "adam".
std::string_view optimizer_name(OptimizerKind kind);
std::optional<OptimizerKind> parse_optimizer(std::string_view name);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::Adam;
  double learning_rate = 0.01;
  /// Momentum coefficient of the momentum optimizer; Adam's beta1.
  double momentum = 0.9;
  /// Adam's decay of the squared-gradient average.
  double beta2 = 0.999;
  double epsilon = 1e-8;
  /// Weight of the penalty l2 / 2 * (sum of squared weight-matrix entries) in the loss;
  /// biases are not penalized.
  double l2 = 0;
  /// Probability of zeroing each hidden unit's output in a training step, 0 for none. The
  /// kept outputs are scaled by 1 / (1 - dropout), so prediction uses the network unchanged.
  double dropout = 0;
  /// Key of the first training step's dropout masks. Each later step uses the next key, so
  /// keys of separate runs must lie far apart.
  std::uint64_t dropout_seed = 0;
};

/// Layer sizes and activation of a network.
struct NetworkLayout {
  std::int64_t inputs = 0;
  std::vector<std::int64_t> hidden{64};
  std::int64_t classes = 2;
  Activation activation = Activation::Sigmoid;
};

/// "7 -> 64 sigmoid -> 2 softmax".
std::string describe_layout(const NetworkLayout& layout);

class Network {
 public:
  /// A network with seeded initial weights: Glorot-uniform matrices for sigmoid and tanh,
  /// He-normal for relu, zero biases. compile_options go to every damo::compile call.
  Network(const NetworkLayout& layout, std::uint64_t seed,
          const damo::CompileOptions& compile_options = {});
  /// A network with the given weights, in Model::weights order and shapes.
  Network(const NetworkLayout& layout, const std::vector<damo::Tensor>& weights,
          const damo::CompileOptions& compile_options = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const NetworkLayout& layout() const { return layout_; }

  /// Compiles the training step for the given optimizer; a later call replaces it and
  /// resets the optimizer state.
  void compile_training(const OptimizerOptions& options);

  /// Runs one training step on a batch: features (n, inputs) float32 and classes (n,)
  /// int32. Updates the weights and returns the batch's mean cross-entropy before the
  /// update (without the L2 penalty).
  double train_step(const damo::Tensor& features, const damo::Tensor& classes);

  /// Compiles the prediction function unless it is compiled already.
  void compile_prediction();

  /// Segment probabilities (n, classes) of features (n, inputs); compiles prediction on
  /// first use.
  damo::Tensor predict(const damo::Tensor& features);

  /// Copies of the current weights, in Model::weights order.
  std::vector<damo::Tensor> weights() const;
  void set_weights(const std::vector<damo::Tensor>& weights);

  /// Compile times from Function::stats(), in milliseconds; 0 before compiling.
  double compile_training_ms() const;
  double compile_prediction_ms() const;
  /// True when the training step's code came from Damo's compile cache.
  bool training_cache_hit() const;

 private:
  void build(const std::vector<damo::Tensor>& initial);
  /// Builds the logits of features_ through the layers. With a dropout rate above 0, each
  /// hidden layer's output goes through dropout, keyed by key and the layer's index.
  damo::Expr forward(double dropout, const damo::Expr& key) const;
  std::vector<damo::Update> optimizer_updates(const OptimizerOptions& options,
                                              const std::vector<damo::Expr>& gradients, int generation);

  NetworkLayout layout_;
  damo::CompileOptions compile_options_;
  std::unique_ptr<damo::Graph> graph_;
  damo::Expr features_;
  damo::Expr classes_;
  std::vector<damo::Expr> parameters_;
  damo::Expr logits_;
  damo::Function training_step_;
  damo::Function prediction_;
  bool has_training_step_ = false;
  bool has_prediction_ = false;
  int optimizer_generation_ = 0;
};

/// Seeded initial weights for a layout, in Model::weights order.
std::vector<damo::Tensor> initial_weights(const NetworkLayout& layout, std::uint64_t seed);

/// Index of the largest probability in each row of a (n, classes) matrix.
std::vector<int> argmax_rows(const damo::Tensor& probabilities);

}  // namespace segment
