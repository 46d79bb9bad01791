// The training step of a one-hidden-layer network through the training pipeline: how many
// kernels it lowers to, and that the optimized, compiled step computes what the reference
// evaluator computes on the unoptimized graph, step after step.
#include <doctest/doctest.h>

#include "damo/codegen/program.h"
#include "damo/frontend/function.h"
#include "damo/graph/autodiff.h"
#include "damo/runtime/executable.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_close;
using testing::kernel_nodes;

constexpr std::int64_t kBatch = 8;
constexpr std::int64_t kFeatures = 4;
constexpr std::int64_t kHidden = 5;
constexpr std::int64_t kClasses = 3;

// X @ W1 + b1 -> sigmoid -> @ W2 + b2 -> softmax -> mean categorical cross-entropy, with
// its gradient and an SGD update of every parameter.
struct Network {
  Graph graph;
  Expr x, t, loss;
  std::vector<Expr> parameters;
  std::vector<Update> updates;

  Network() {
    x = graph.input("X", DType::Float32, {kBatch, kFeatures});
    t = graph.input("T", DType::Float32, {kBatch, kClasses});
    Expr w1 =
        graph.shared("W1", testing::random_tensor(DType::Float32, {kFeatures, kHidden}, 1, -1, 1));
    Expr b1 = graph.shared("b1", testing::random_tensor(DType::Float32, {kHidden}, 2, -0.1, 0.1));
    Expr w2 =
        graph.shared("W2", testing::random_tensor(DType::Float32, {kHidden, kClasses}, 3, -1, 1));
    Expr b2 = graph.shared("b2", testing::random_tensor(DType::Float32, {kClasses}, 4, -0.1, 0.1));
    parameters = {w1, b1, w2, b2};

    Expr h = sigmoid(matmul(x, w1) + b1);
    Expr z = matmul(h, w2) + b2;
    loss = mean(categorical_crossentropy(softmax(z), t));
    std::vector<Expr> grads = grad(loss, parameters);
    for (std::size_t i = 0; i < parameters.size(); ++i)
      updates.push_back({parameters[i], parameters[i] - 0.5 * grads[i]});
  }

  std::vector<Expr> roots() const {
    std::vector<Expr> r = {loss};
    for (const Update& u : updates) r.push_back(u.value);
    return r;
  }
};

// One batch of inputs and one-hot targets per step.
Feeds batch(int step) {
  Tensor x = testing::random_tensor(DType::Float32, {kBatch, kFeatures}, 100 + step);
  Tensor t = Tensor::zeros(DType::Float32, {kBatch, kClasses});
  for (std::int64_t i = 0; i < kBatch; ++i) t.set_double(i * kClasses + (i + step) % kClasses, 1.0);
  return {{"X", x}, {"T", t}};
}

TEST_CASE("training step lowers to few kernels") {
  Network net;
  PipelineResult result = optimize(net.roots(), testing::test_options(PipelineKind::Training));
  INFO(dump(result.roots));

  // sigmoid(X @ W1 + b1), h @ W2 + b2, X^T @ dH, dZ @ W2^T and h^T @ dZ.
  CHECK(testing::count_op(result.roots, OpKind::FusedMatMul) == 5);
  CHECK(testing::count_op(result.roots, OpKind::SoftmaxCrossEntropy) == 1);
  CHECK(testing::count_op(result.roots, OpKind::SoftmaxCrossEntropyGrad) == 1);
  CHECK(testing::count_op(result.roots, OpKind::Softmax) == 0);
  CHECK(testing::count_op(result.roots, OpKind::MatMul) == 0);
  CHECK(testing::count_op(result.roots, OpKind::Transpose) == 0);
  CHECK(kernel_nodes(net.roots()) == 30);
  CHECK(kernel_nodes(result.roots) == 16);

  std::vector<std::pair<Expr, Expr>> updates;
  for (std::size_t i = 0; i < net.updates.size(); ++i)
    updates.emplace_back(net.updates[i].variable, result.roots[i + 1]);
  Program program = lower_to_program({net.x, net.t}, {result.roots[0]}, updates);
  INFO(program.to_string());
  CHECK(program.kernels.size() == 16);
}

TEST_CASE("training step temporaries share memory") {
  Network net;
  PipelineResult result = optimize(net.roots(), testing::test_options(PipelineKind::Training));
  std::vector<std::pair<Expr, Expr>> updates;
  for (std::size_t i = 0; i < net.updates.size(); ++i)
    updates.emplace_back(net.updates[i].variable, result.roots[i + 1]);
  Program program = lower_to_program({net.x, net.t}, {result.roots[0]}, updates);

  std::size_t total = 0;
  std::size_t largest = 0;
  int temporaries = 0;
  for (const BufferSlot& slot : program.spec.slots) {
    if (slot.kind != BufferSlot::Kind::Temporary) continue;
    std::size_t bytes = dtype_size(slot.dtype);
    for (const ParameterDim& d : slot.dims) bytes *= static_cast<std::size_t>(d.size);
    bytes = (bytes + 63) / 64 * 64;
    total += bytes;
    largest = std::max(largest, bytes);
    ++temporaries;
  }
  // No code is needed to plan the workspace.
  Executable executable(program.spec, nullptr, nullptr);
  std::size_t workspace = executable.workspace_bytes({});
  INFO(program.to_string());
  // Every kernel but the loss's writes a temporary; 64-byte aligned, they add up to 1600
  // bytes, and the four new parameter values live until the call ends.
  CHECK(temporaries == 15);
  CHECK(total == 1600);
  CHECK(workspace >= largest);
  CHECK(workspace == 832);
}

TEST_CASE("optimized training steps match the reference") {
  Network compiled;
  Network reference;
  Function step = compile({compiled.x, compiled.t}, {compiled.loss}, compiled.updates);
  CHECK(step.stats().rewrite_ms > 0);
  CHECK(step.optimized_graph().find("softmax_crossentropy_grad") != std::string::npos);

  for (int i = 0; i < 10; ++i) {
    Feeds feeds = batch(i);
    std::vector<Tensor> out = step({feeds.at("X"), feeds.at("T")});

    std::vector<Tensor> expected = evaluate(reference.roots(), feeds);
    for (std::size_t k = 0; k < reference.updates.size(); ++k)
      reference.updates[k].variable->shared()->set_value(expected[k + 1]);

    check_close(out[0], expected[0], 1e-5, fmt::format("loss at step {}", i));
    for (std::size_t k = 0; k < compiled.parameters.size(); ++k)
      check_close(compiled.parameters[k]->shared()->get_value(), expected[k + 1], 1e-5,
                  fmt::format("{} after step {}", compiled.parameters[k]->name(), i));
  }
}

}  // namespace
}  // namespace damo
