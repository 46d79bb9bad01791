// Trains a customer-segmentation network: 4 features -> 16 sigmoid units -> 3 segments.
//
// The customers are synthetic: three segments of 300, each scattered around its own
// center. The network is a hidden sigmoid layer and a softmax output, trained on the mean
// cross-entropy by gradient descent. The training step is one compiled function whose
// updates overwrite the weights; prediction is a second function over the same weights.
// It prints the loss every 100 epochs and the training accuracy, 1.00 on this data.
#include <damo/damo.h>
#include <fmt/format.h>

#include <random>

namespace {

// A (rows, columns) float32 matrix of uniform values in [-0.5, 0.5).
damo::Tensor random_matrix(std::int64_t rows, std::int64_t columns, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  damo::Tensor m(damo::DType::Float32, {rows, columns});
  for (std::int64_t i = 0; i < m.numel(); ++i) m.data<float>()[i] = uniform(rng);
  return m;
}

}  // namespace

int main() {
  using damo::DType;
  using damo::Expr;
  using damo::Tensor;
  const std::int64_t per_segment = 300, features = 4, hidden = 16, segments = 3;
  const std::int64_t n = per_segment * segments;

  // Customers of segment s lie around the center (s, -s, 2s, 0.5s), one unit apart.
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  Tensor customers(DType::Float32, {n, features});
  Tensor labels(DType::Int32, {n});
  for (std::int64_t i = 0; i < n; ++i) {
    std::int32_t s = static_cast<std::int32_t>(i % segments);
    const float center[] = {1.0f * s, -1.0f * s, 2.0f * s, 0.5f * s};
    for (std::int64_t j = 0; j < features; ++j)
      customers.data<float>()[i * features + j] = center[j] + noise(rng);
    labels.data<std::int32_t>()[i] = s;
  }

  // The network. Weights are shared variables; x and label are the call's arguments.
  damo::Graph graph;
  Expr x = graph.input("x", DType::Float32, {"n", features});
  Expr label = graph.input("label", DType::Int32, {"n"});
  Expr W1 = graph.shared("W1", random_matrix(features, hidden, rng));
  Expr b1 = graph.shared("b1", Tensor(DType::Float32, {hidden}));
  Expr W2 = graph.shared("W2", random_matrix(hidden, segments, rng));
  Expr b2 = graph.shared("b2", Tensor(DType::Float32, {segments}));
  Expr h = damo::sigmoid(damo::matmul(x, W1) + b1);
  Expr p = damo::softmax(damo::matmul(h, W2) + b2);
  Expr loss = damo::mean(damo::categorical_crossentropy(p, label));

  // Gradient descent on every weight, compiled into the training step.
  std::vector<Expr> weights{W1, b1, W2, b2};
  std::vector<Expr> gradients = damo::grad(loss, weights);
  std::vector<damo::Update> updates;
  for (std::size_t i = 0; i < weights.size(); ++i)
    updates.push_back({weights[i], weights[i] - 1.0 * gradients[i]});
  damo::Function train = damo::compile({x, label}, {loss}, updates);
  damo::Function predict = damo::compile({x}, {damo::argmax(p, 1)});

  for (int epoch = 1; epoch <= 300; ++epoch) {
    double value = train({customers, labels})[0].item();
    if (epoch % 100 == 0) fmt::print("epoch {}  loss {:.4f}\n", epoch, value);
  }

  Tensor predicted = predict({customers})[0];
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i)
    correct += predicted.get_int64(i) == labels.get_int64(i) ? 1 : 0;
  fmt::print("accuracy {:.2f}\n", static_cast<double>(correct) / static_cast<double>(n));
  return 0;
}
