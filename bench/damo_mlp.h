// The benchmark network in Damo: a hidden sigmoid layer, a softmax output and the mean
// categorical cross-entropy, trained by plain gradient descent, with its data.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "damo/graph/autodiff.h"
#include "damo/graph/ops.h"
#include "damo/runtime/npy.h"
#include "damo_bench.h"

namespace damo_bench {

using damo::DType;
using damo::Expr;
using damo::Tensor;

/// The data and initial weights that prepare_mlp() wrote into folder.
struct MlpData {
  Tensor x, y;
  std::vector<Tensor> weights;  // w1, b1, w2, b2

  explicit MlpData(const std::string& folder)
      : x(damo::load_npy(folder + "/x.npy")), y(damo::load_npy(folder + "/y.npy")) {
    for (const char* name : {"w1", "b1", "w2", "b2"})
      weights.push_back(damo::load_npy(folder + "/" + name + ".npy"));
  }

  std::int64_t rows() const { return x.dim(0); }
  std::int64_t features() const { return x.dim(1); }
  std::int64_t classes() const { return weights[3].dim(0); }

  std::size_t bytes() const {
    std::size_t total = x.nbytes() + y.nbytes();
    for (const Tensor& w : weights) total += w.nbytes();
    return total;
  }
};

/// The network's graph: inputs x (n, features) and y (n), the weights as shared variables.
struct Mlp {
  std::unique_ptr<damo::Graph> graph = std::make_unique<damo::Graph>();
  Expr x, y, logits;
  std::vector<Expr> weights;

  explicit Mlp(const MlpData& data) {
    x = graph->input("x", DType::Float32, {"n", data.features()});
    y = graph->input("y", DType::Int32, {"n"});
    const char* names[] = {"w1", "b1", "w2", "b2"};
    for (std::size_t i = 0; i < 4; ++i) weights.push_back(graph->shared(names[i], data.weights[i]));
    Expr hidden = damo::sigmoid(damo::matmul(x, weights[0]) + weights[1]);
    logits = damo::matmul(hidden, weights[2]) + weights[3];
  }

  /// The batch's mean loss and the gradient-descent updates w -= lr * dloss/dw.
  struct Training {
    Expr loss;
    std::vector<damo::Update> updates;
  };

  Training training(double lr) const {
    Training t;
    t.loss = damo::mean(damo::categorical_crossentropy(damo::softmax(logits), y));
    std::vector<Expr> gradients = damo::grad(t.loss, weights);
    for (std::size_t i = 0; i < weights.size(); ++i)
      t.updates.push_back({weights[i], weights[i] - lr * gradients[i]});
    return t;
  }

  /// One compiled step: returns the batch's mean loss and updates the weights.
  damo::Function training_step(double lr, const damo::CompileOptions& options) const {
    Training t = training(lr);
    return damo::compile({x, y}, {t.loss}, t.updates, options);
  }

  /// Sets the weights back to the initial ones in data.
  void reset(const MlpData& data) const {
    for (std::size_t i = 0; i < weights.size(); ++i)
      weights[i]->shared()->set_value(data.weights[i]);
  }
};

}  // namespace damo_bench
