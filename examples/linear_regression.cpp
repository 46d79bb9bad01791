// Fits a linear regression by gradient descent, one compiled function per training step.
//
// The data are 256 points with y = 3 x0 - 2 x1 + 0.5 plus a little noise. The weights are
// shared variables. The compiled step computes the mean squared error, and its update list
// writes the gradient-descent update of each weight back in place, so the loop below only
// calls the step. The last line printed is "w = [3.00, -2.00], b = 0.50".
#include <damo/damo.h>
#include <fmt/format.h>

#include <random>

int main() {
  using damo::DType;
  using damo::Expr;
  using damo::Tensor;

  // Training data, generated with a fixed seed.
  const std::int64_t n = 256;
  Tensor features(DType::Float32, {n, 2});
  Tensor targets(DType::Float32, {n});
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    float x0 = normal(rng), x1 = normal(rng);
    features.data<float>()[2 * i] = x0;
    features.data<float>()[2 * i + 1] = x1;
    targets.data<float>()[i] = 3 * x0 - 2 * x1 + 0.5f + 0.01f * normal(rng);
  }

  // The model: prediction = x @ w + b. The symbolic size "n" is bound at each call.
  damo::Graph graph;
  Expr x = graph.input("x", DType::Float32, {"n", 2});
  Expr y = graph.input("y", DType::Float32, {"n"});
  Expr w = graph.shared("w", Tensor(DType::Float32, {2}));
  Expr b = graph.shared("b", Tensor::scalar(DType::Float32, 0.0));
  Expr loss = damo::mean(damo::square(damo::matmul(x, w) + b - y));

  // One step: the loss before the update, then w -= rate * dloss/dw and the same for b.
  std::vector<Expr> gradients = damo::grad(loss, {w, b});
  const double rate = 0.1;
  damo::Function step =
      damo::compile({x, y}, {loss}, {{w, w - rate * gradients[0]}, {b, b - rate * gradients[1]}});

  for (int epoch = 0; epoch < 200; ++epoch) {
    double value = step({features, targets})[0].item();
    if (epoch % 50 == 0) fmt::print("epoch {:3}  loss {:.4f}\n", epoch, value);
  }

  Tensor fitted_w = graph.find_shared("w")->get_value();
  Tensor fitted_b = graph.find_shared("b")->get_value();
  fmt::print("w = [{:.2f}, {:.2f}], b = {:.2f}\n", fitted_w.get_double(0), fitted_w.get_double(1),
             fitted_b.item());
  return 0;
}
