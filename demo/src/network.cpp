// The perceptron graph, its compiled training step with optimizer updates, and prediction.
#include "segment/network.h"

#include <fmt/format.h>

#include <cmath>

#include "damo/graph/autodiff.h"
#include "damo/graph/ops.h"
#include "segment/random.h"

namespace segment {

using damo::DType;
using damo::Expr;
using damo::Tensor;

std::string_view optimizer_name(OptimizerKind kind) {
  switch (kind) {
  case OptimizerKind::Sgd: return "sgd";
  case OptimizerKind::Momentum: return "momentum";
  case OptimizerKind::Adam: return "adam";
  }
  return "adam";
}

std::optional<OptimizerKind> parse_optimizer(std::string_view name) {
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam})
    if (optimizer_name(kind) == name) return kind;
  return std::nullopt;
}

std::string describe_layout(const NetworkLayout& layout) {
  std::string text = fmt::format("{}", layout.inputs);
  for (std::int64_t size : layout.hidden)
    text += fmt::format(" -> {} {}", size, activation_name(layout.activation));
  return text + fmt::format(" -> {} softmax", layout.classes);
}

namespace {

// Sizes of every layer boundary: inputs, each hidden size, classes.
std::vector<std::int64_t> layer_sizes(const NetworkLayout& layout) {
  std::vector<std::int64_t> sizes{layout.inputs};
  sizes.insert(sizes.end(), layout.hidden.begin(), layout.hidden.end());
  sizes.push_back(layout.classes);
  return sizes;
}

Expr activate(Activation activation, Expr x) {
  switch (activation) {
  case Activation::Sigmoid: return damo::sigmoid(x);
  case Activation::Tanh: return damo::tanh(x);
  case Activation::Relu: return damo::relu(x);
  }
  return damo::sigmoid(x);
}

}  // namespace

std::vector<Tensor> initial_weights(const NetworkLayout& layout, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int64_t> sizes = layer_sizes(layout);
  std::vector<Tensor> weights;
  for (std::size_t layer = 0; layer + 1 < sizes.size(); ++layer) {
    std::int64_t fan_in = sizes[layer], fan_out = sizes[layer + 1];
    bool is_hidden = layer + 2 < sizes.size();
    Tensor matrix(DType::Float32, {fan_in, fan_out});
    if (is_hidden && layout.activation == Activation::Relu) {
      double deviation = std::sqrt(2.0 / static_cast<double>(fan_in));
      for (std::int64_t i = 0; i < matrix.numel(); ++i)
        matrix.set_double(i, deviation * rng.normal());
    } else {
      double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
      for (std::int64_t i = 0; i < matrix.numel(); ++i)
        matrix.set_double(i, limit * (2 * rng.uniform() - 1));
    }
    weights.push_back(matrix);
    weights.push_back(Tensor(DType::Float32, {fan_out}));
  }
  return weights;
}

Network::Network(const NetworkLayout& layout, std::uint64_t seed,
                 const damo::CompileOptions& compile_options)
    : layout_(layout), compile_options_(compile_options) {
  build(initial_weights(layout, seed));
}

Network::Network(const NetworkLayout& layout, const std::vector<Tensor>& weights,
                 const damo::CompileOptions& compile_options)
    : layout_(layout), compile_options_(compile_options) {
  build(weights);
}

Network::~Network() = default;

void Network::build(const std::vector<Tensor>& initial) {
  std::vector<std::int64_t> sizes = layer_sizes(layout_);
  DAMO_ASSERT(initial.size() == 2 * (sizes.size() - 1), "two tensors per layer");
  graph_ = std::make_unique<damo::Graph>();
  features_ = graph_->input("features", DType::Float32, {"n", layout_.inputs});
  classes_ = graph_->input("classes", DType::Int32, {"n"});

  for (std::size_t layer = 0; layer + 1 < sizes.size(); ++layer) {
    parameters_.push_back(graph_->shared(fmt::format("W{}", layer + 1), initial[2 * layer]));
    parameters_.push_back(graph_->shared(fmt::format("b{}", layer + 1), initial[2 * layer + 1]));
  }
  logits_ = forward(0, Expr());
}

Expr Network::forward(double dropout, const Expr& key) const {
  Expr activations = features_;
  std::size_t layers = parameters_.size() / 2;
  for (std::size_t layer = 0; layer < layers; ++layer) {
    Expr affine = damo::matmul(activations, parameters_[2 * layer]) + parameters_[2 * layer + 1];
    if (layer + 1 == layers) return affine;
    activations = activate(layout_.activation, affine);
    if (dropout > 0) activations = damo::dropout(activations, key, dropout, static_cast<std::int64_t>(layer));
  }
  return activations;
}

std::vector<damo::Update> Network::optimizer_updates(const OptimizerOptions& options,
                                                     const std::vector<Expr>& gradients, int generation) {
  auto state = [&](const std::string& name, const Expr& like) {
    Tensor zeros(DType::Float32, like.shape().static_dims());
    return graph_->shared(fmt::format("{}_{}", name, generation), zeros);
  };

  std::vector<damo::Update> updates;
  double lr = options.learning_rate;
  Expr step_size;
  if (options.kind == OptimizerKind::Adam) {
    // Bias correction: beta^t is kept as a shared scalar and multiplied by beta each step.
    Expr beta1_power = graph_->shared(fmt::format("beta1_power_{}", generation),
                                      Tensor::scalar(DType::Float32, 1.0));
    Expr beta2_power = graph_->shared(fmt::format("beta2_power_{}", generation),
                                      Tensor::scalar(DType::Float32, 1.0));
    Expr next_beta1_power = beta1_power * options.momentum;
    Expr next_beta2_power = beta2_power * options.beta2;
    updates.push_back({beta1_power, next_beta1_power});
    updates.push_back({beta2_power, next_beta2_power});
    step_size = lr * damo::sqrt(1.0 - next_beta2_power) / (1.0 - next_beta1_power);
  }

  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Expr& parameter = parameters_[i];
    const Expr& gradient = gradients[i];
    std::string name = parameter->shared()->name();
    switch (options.kind) {
    case OptimizerKind::Sgd: updates.push_back({parameter, parameter - lr * gradient}); break;
    case OptimizerKind::Momentum: {
      Expr velocity = state("velocity_" + name, parameter);
      Expr next_velocity = options.momentum * velocity - lr * gradient;
      updates.push_back({velocity, next_velocity});
      updates.push_back({parameter, parameter + next_velocity});
      break;
    }
    case OptimizerKind::Adam: {
      Expr mean = state("adam_m_" + name, parameter);
      Expr square = state("adam_v_" + name, parameter);
      Expr next_mean = options.momentum * mean + (1.0 - options.momentum) * gradient;
      Expr next_square = options.beta2 * square + (1.0 - options.beta2) * damo::square(gradient);
      updates.push_back({mean, next_mean});
      updates.push_back({square, next_square});
      Expr step = step_size * next_mean / (damo::sqrt(next_square) + options.epsilon);
      updates.push_back({parameter, parameter - step});
      break;
    }
    }
  }
  return updates;
}

void Network::compile_training(const OptimizerOptions& options) {
  // State variables get fresh names on each compile, because names in a graph are unique.
  int generation = ++optimizer_generation_;
  Expr logits = logits_;
  Expr key;
  if (options.dropout > 0) {
    Tensor first = Tensor::scalar(DType::Int64, 0);
    first.data<std::int64_t>()[0] = static_cast<std::int64_t>(options.dropout_seed);
    key = graph_->shared(fmt::format("dropout_key_{}", generation), first);
    logits = forward(options.dropout, key);
  }
  Expr targets = damo::one_hot(classes_, layout_.classes, DType::Float32);
  Expr probabilities = damo::softmax(logits);
  Expr loss = damo::mean(damo::categorical_crossentropy(probabilities, targets));

  Expr objective = loss;
  if (options.l2 > 0) {
    for (std::size_t i = 0; i < parameters_.size(); i += 2)
      objective = objective + 0.5 * options.l2 * damo::sum(damo::square(parameters_[i]));
  }

  std::vector<Expr> gradients = damo::grad(objective, parameters_);
  std::vector<damo::Update> updates = optimizer_updates(options, gradients, generation);
  if (key) updates.push_back({key, key + 1});
  training_step_ = damo::compile({features_, classes_}, {loss}, updates, compile_options_);
  has_training_step_ = true;
}

double Network::train_step(const Tensor& features, const Tensor& classes) {
  DAMO_ASSERT(has_training_step_, "compile_training() before train_step()");
  return training_step_({features, classes}).at(0).item();
}

void Network::compile_prediction() {
  if (has_prediction_) return;
  prediction_ = damo::compile({features_}, {damo::softmax(logits_)}, {}, compile_options_);
  has_prediction_ = true;
}

Tensor Network::predict(const Tensor& features) {
  compile_prediction();
  return prediction_({features}).at(0);
}

std::vector<Tensor> Network::weights() const {
  std::vector<Tensor> values;
  for (const Expr& parameter : parameters_) values.push_back(parameter->shared()->get_value());
  return values;
}

void Network::set_weights(const std::vector<Tensor>& weights) {
  DAMO_ASSERT(weights.size() == parameters_.size(), "one tensor per parameter");
  for (std::size_t i = 0; i < weights.size(); ++i) parameters_[i]->shared()->set_value(weights[i]);
}

double Network::compile_training_ms() const {
  return has_training_step_ ? training_step_.stats().total_ms : 0.0;
}

bool Network::training_cache_hit() const {
  return has_training_step_ && training_step_.stats().cache_hit;
}

double Network::compile_prediction_ms() const {
  return has_prediction_ ? prediction_.stats().total_ms : 0.0;
}

std::vector<int> argmax_rows(const Tensor& probabilities) {
  DAMO_ASSERT(probabilities.rank() == 2, "argmax_rows of a matrix");
  std::int64_t rows = probabilities.dim(0), columns = probabilities.dim(1);
  std::vector<int> best(static_cast<std::size_t>(rows), 0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 1; c < columns; ++c)
      if (probabilities.get_double(r * columns + c) >
          probabilities.get_double(r * columns + best[static_cast<std::size_t>(r)]))
        best[static_cast<std::size_t>(r)] = static_cast<int>(c);
  return best;
}

}  // namespace segment
