// Network: initial weights, and training steps checked against a float64 backpropagation
// written out by hand for one sigmoid hidden layer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "damo/runtime/philox.h"
#include "segment/network.h"
#include "segment/trainer.h"

using namespace segment;
using damo::Tensor;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix to_matrix(const Tensor& t) {
  std::int64_t rows = t.rank() == 2 ? t.dim(0) : 1, columns = t.rank() == 2 ? t.dim(1) : t.dim(0);
  Matrix m(static_cast<std::size_t>(rows), std::vector<double>(static_cast<std::size_t>(columns)));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < columns; ++c)
      m[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)] = t.get_double(r * columns + c);
  return m;
}

// Computes the mean cross-entropy of softmax(sigmoid(x W1 + b1) W2 + b2) and its gradients
// in float64. Gradients come in the order W1, b1, W2, b2, with biases as one-row matrices.
// A non-empty keep gives the dropout factor of each hidden unit of each row, applied after
// the sigmoid: 0 where the unit is dropped, 1 / (1 - rate) where it is kept.
std::pair<std::vector<Matrix>, double> reference_gradients(const Matrix& x,
                                                           const std::vector<int>& y,
                                                           const std::vector<Matrix>& w,
                                                           const Matrix& keep = {}) {
  std::size_t batch = x.size(), inputs = w[0].size(), hidden = w[0][0].size(),
              classes = w[2][0].size();
  Matrix a1(batch, std::vector<double>(hidden)), p(batch, std::vector<double>(classes));
  double loss = 0;
  for (std::size_t i = 0; i < batch; ++i) {
    for (std::size_t h = 0; h < hidden; ++h) {
      double z = w[1][0][h];
      for (std::size_t j = 0; j < inputs; ++j) z += x[i][j] * w[0][j][h];
      a1[i][h] = 1 / (1 + std::exp(-z));
    }
    if (!keep.empty())
      for (std::size_t h = 0; h < hidden; ++h) a1[i][h] *= keep[i][h];
    double largest = -1e300, total = 0;
    std::vector<double> z2(classes);
    for (std::size_t c = 0; c < classes; ++c) {
      z2[c] = w[3][0][c];
      for (std::size_t h = 0; h < hidden; ++h) z2[c] += a1[i][h] * w[2][h][c];
      largest = std::max(largest, z2[c]);
    }
    for (std::size_t c = 0; c < classes; ++c) total += std::exp(z2[c] - largest);
    for (std::size_t c = 0; c < classes; ++c) p[i][c] = std::exp(z2[c] - largest) / total;
    loss -= std::log(p[i][static_cast<std::size_t>(y[i])]) / static_cast<double>(batch);
  }

  std::vector<Matrix> g{
      Matrix(inputs, std::vector<double>(hidden, 0)), Matrix(1, std::vector<double>(hidden, 0)),
      Matrix(hidden, std::vector<double>(classes, 0)), Matrix(1, std::vector<double>(classes, 0))};
  for (std::size_t i = 0; i < batch; ++i) {
    std::vector<double> dz2(classes), dz1(hidden, 0);
    for (std::size_t c = 0; c < classes; ++c)
      dz2[c] = (p[i][c] - (static_cast<int>(c) == y[i] ? 1.0 : 0.0)) / static_cast<double>(batch);
    for (std::size_t c = 0; c < classes; ++c) {
      g[3][0][c] += dz2[c];
      for (std::size_t h = 0; h < hidden; ++h) {
        g[2][h][c] += a1[i][h] * dz2[c];
        dz1[h] += dz2[c] * w[2][h][c];
      }
    }
    for (std::size_t h = 0; h < hidden; ++h) {
      // a1 is the unit's output after dropout, and the sigmoid's own value gives its slope.
      double factor = keep.empty() ? 1.0 : keep[i][h];
      double sigmoid = factor == 0 ? 0.0 : a1[i][h] / factor;
      dz1[h] *= factor * sigmoid * (1 - sigmoid);
      g[1][0][h] += dz1[h];
      for (std::size_t j = 0; j < inputs; ++j) g[0][j][h] += x[i][j] * dz1[h];
    }
  }
  return {g, loss};
}

const Matrix kBatch{{0.5, -1.0, 2.0}, {-1.5, 0.25, 0.0}, {1.0, 1.0, -0.5}};
const std::vector<int> kClasses{0, 1, 1};

Tensor batch_tensor() {
  return Tensor::from_list({{0.5, -1.0, 2.0}, {-1.5, 0.25, 0.0}, {1.0, 1.0, -0.5}},
                           damo::DType::Float32);
}

NetworkLayout small_layout() { return NetworkLayout{3, {4}, 2, Activation::Sigmoid}; }

// The reference backend: these tests check training logic, and each JIT compile of a new
// graph costs about half a second. The first step test and the prediction test run on the
// default backend.
damo::CompileOptions reference_backend() {
  damo::CompileOptions options;
  options.backend = damo::Backend::Reference;
  return options;
}

std::vector<Matrix> matrices(const std::vector<Tensor>& weights) {
  std::vector<Matrix> result;
  for (const Tensor& t : weights) result.push_back(to_matrix(t));
  return result;
}

}  // namespace

TEST_CASE("initial weights are seeded and bounded") {
  NetworkLayout layout{7, {64}, 2, Activation::Sigmoid};
  std::vector<Tensor> a = initial_weights(layout, 5), b = initial_weights(layout, 5);
  REQUIRE(a.size() == 4);
  CHECK(a[0].shape() == damo::Dims{7, 64});
  CHECK(a[1].shape() == damo::Dims{64});
  CHECK(a[2].shape() == damo::Dims{64, 2});
  CHECK(a[0].bitwise_equals(b[0]));
  CHECK_FALSE(a[0].bitwise_equals(initial_weights(layout, 6)[0]));
  double limit = std::sqrt(6.0 / 71.0), largest = 0;
  for (std::int64_t i = 0; i < a[0].numel(); ++i)
    largest = std::max(largest, std::fabs(a[0].get_double(i)));
  CHECK(largest <= limit);
  CHECK(largest > 0.8 * limit);
  CHECK(a[1].get_double(0) == 0.0);
}

TEST_CASE("sgd step matches float64 backpropagation") {
  Network network(small_layout(), 11);
  std::vector<Matrix> before = matrices(network.weights());
  auto [gradients, loss] = reference_gradients(kBatch, kClasses, before);

  OptimizerOptions sgd;
  sgd.kind = OptimizerKind::Sgd;
  sgd.learning_rate = 0.5;
  network.compile_training(sgd);
  double reported = network.train_step(batch_tensor(), class_tensor(kClasses));
  CHECK(reported == doctest::Approx(loss).epsilon(1e-5));

  std::vector<Matrix> after = matrices(network.weights());
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t r = 0; r < before[t].size(); ++r)
      for (std::size_t c = 0; c < before[t][r].size(); ++c) {
        CAPTURE(t);
        CAPTURE(r);
        CAPTURE(c);
        double expected = before[t][r][c] - 0.5 * gradients[t][r][c];
        CHECK(after[t][r][c] == doctest::Approx(expected).epsilon(1e-5));
      }
}

TEST_CASE("dropout steps match masked backpropagation") {
  const double rate = 0.5;
  const std::uint64_t seed = 77;
  Network network(small_layout(), 14, reference_backend());
  OptimizerOptions sgd;
  sgd.kind = OptimizerKind::Sgd;
  sgd.learning_rate = 0.5;
  sgd.dropout = rate;
  sgd.dropout_seed = seed;
  network.compile_training(sgd);

  int kept_units = 0;
  for (std::uint64_t step = 0; step < 2; ++step) {
    // Step k draws the hidden layer's mask from key seed + k, stream 0, row-major.
    Matrix keep(kBatch.size(), std::vector<double>(4));
    for (std::size_t i = 0; i < keep.size(); ++i)
      for (std::size_t h = 0; h < 4; ++h) {
        float u = damo::philox::float_element(seed + step, i * 4 + h, 0);
        keep[i][h] = u >= rate ? 1 / (1 - rate) : 0.0;
        kept_units += u >= rate;
      }
    std::vector<Matrix> before = matrices(network.weights());
    auto [gradients, loss] = reference_gradients(kBatch, kClasses, before, keep);
    CAPTURE(step);
    CHECK(network.train_step(batch_tensor(), class_tensor(kClasses)) == doctest::Approx(loss).epsilon(1e-5));
    std::vector<Matrix> after = matrices(network.weights());
    for (std::size_t t = 0; t < 4; ++t)
      for (std::size_t r = 0; r < before[t].size(); ++r)
        for (std::size_t c = 0; c < before[t][r].size(); ++c)
          CHECK(after[t][r][c] == doctest::Approx(before[t][r][c] - 0.5 * gradients[t][r][c]).epsilon(1e-5));
  }
  // Both masks kept some units and dropped others.
  CHECK(kept_units > 0);
  CHECK(kept_units < 24);

  // Prediction uses every unit: its cross-entropy is the unmasked loss.
  Tensor probabilities = network.predict(batch_tensor());
  double loss = reference_gradients(kBatch, kClasses, matrices(network.weights())).second;
  double predicted = 0;
  for (std::size_t i = 0; i < kClasses.size(); ++i)
    predicted -= std::log(probabilities.get_double(static_cast<std::int64_t>(i) * 2 + kClasses[i])) / 3;
  CHECK(predicted == doctest::Approx(loss).epsilon(1e-5));
}

TEST_CASE("l2 penalty adds to matrix gradients only") {
  Network network(small_layout(), 12, reference_backend());
  std::vector<Matrix> before = matrices(network.weights());
  auto gradients = reference_gradients(kBatch, kClasses, before).first;

  OptimizerOptions sgd;
  sgd.kind = OptimizerKind::Sgd;
  sgd.learning_rate = 0.1;
  sgd.l2 = 0.3;
  network.compile_training(sgd);
  network.train_step(batch_tensor(), class_tensor(kClasses));
  std::vector<Matrix> after = matrices(network.weights());
  // W2[1][0] gets the penalty gradient l2 * W; b2[0] does not.
  CHECK(after[2][1][0] ==
        doctest::Approx(before[2][1][0] - 0.1 * (gradients[2][1][0] + 0.3 * before[2][1][0]))
            .epsilon(1e-5));
  CHECK(after[3][0][0] ==
        doctest::Approx(before[3][0][0] - 0.1 * gradients[3][0][0]).epsilon(1e-5));
}

TEST_CASE("momentum steps accumulate velocity") {
  Network network(small_layout(), 13, reference_backend());
  std::vector<Matrix> w0 = matrices(network.weights());
  OptimizerOptions momentum;
  momentum.kind = OptimizerKind::Momentum;
  momentum.learning_rate = 0.2;
  momentum.momentum = 0.9;
  network.compile_training(momentum);

  network.train_step(batch_tensor(), class_tensor(kClasses));
  std::vector<Matrix> w1 = matrices(network.weights());
  network.train_step(batch_tensor(), class_tensor(kClasses));
  std::vector<Matrix> w2 = matrices(network.weights());

  // v1 = -lr g(w0), w1 = w0 + v1; v2 = 0.9 v1 - lr g(w1), w2 = w1 + v2.
  auto g0 = reference_gradients(kBatch, kClasses, w0).first;
  auto g1 = reference_gradients(kBatch, kClasses, w1).first;
  for (std::size_t t : {std::size_t{0}, std::size_t{2}}) {
    double v1 = -0.2 * g0[t][1][1];
    CHECK(w1[t][1][1] == doctest::Approx(w0[t][1][1] + v1).epsilon(1e-5));
    CHECK(w2[t][1][1] == doctest::Approx(w1[t][1][1] + 0.9 * v1 - 0.2 * g1[t][1][1]).epsilon(1e-5));
  }
}

TEST_CASE("adam first step moves by the learning rate") {
  Network network(small_layout(), 14, reference_backend());
  std::vector<Matrix> before = matrices(network.weights());
  auto gradients = reference_gradients(kBatch, kClasses, before).first;
  OptimizerOptions adam;
  adam.learning_rate = 0.01;
  network.compile_training(adam);
  network.train_step(batch_tensor(), class_tensor(kClasses));
  std::vector<Matrix> after = matrices(network.weights());

  // After bias correction the first step is lr * g / (|g| + eps), about lr * sign(g).
  for (std::size_t r = 0; r < before[2].size(); ++r) {
    double g = gradients[2][r][0];
    if (std::fabs(g) < 1e-4) continue;
    CAPTURE(r);
    double expected = before[2][r][0] - 0.01 * g / (std::fabs(g) + 1e-8);
    CHECK(after[2][r][0] == doctest::Approx(expected).epsilon(1e-4));
  }
}

TEST_CASE("prediction rows are probabilities") {
  Network network(NetworkLayout{3, {5, 4}, 3, Activation::Relu}, 15);
  Tensor p = network.predict(batch_tensor());
  REQUIRE(p.shape() == damo::Dims{3, 3});
  for (std::int64_t r = 0; r < 3; ++r) {
    double sum = 0;
    for (std::int64_t c = 0; c < 3; ++c) {
      CHECK(p.get_double(r * 3 + c) > 0.0);
      sum += p.get_double(r * 3 + c);
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
  }
  CHECK(network.weights().size() == 6);
  CHECK(describe_layout(network.layout()) == "3 -> 5 relu -> 4 relu -> 3 softmax");
}

TEST_CASE("training separates two blobs") {
  // Class 0 around (-2, -2, 0), class 1 around (2, 2, 0).
  std::vector<float> values;
  std::vector<int> classes;
  for (int i = 0; i < 40; ++i) {
    float offset = static_cast<float>(i % 7) * 0.1f - 0.3f;
    int c = i % 2;
    float centre = c == 0 ? -2.0f : 2.0f;
    values.insert(values.end(), {centre + offset, centre - offset, offset});
    classes.push_back(c);
  }
  LabelledData data{Tensor::from_vector(values, {40, 3}), classes};
  Network network(NetworkLayout{3, {8}, 2, Activation::Tanh}, 3, reference_backend());
  TrainOptions options;
  options.epochs = 20;
  options.batch_size = 8;
  std::vector<double> losses;
  TrainResult result = train_network(network, data, data, options,
                                     [&](const EpochProgress& p) { losses.push_back(p.loss); });
  CHECK(result.epochs_run == 20);
  REQUIRE(losses.size() == 20);
  CHECK(losses.back() < 0.1 * losses.front());
  CHECK(argmax_rows(network.predict(data.features)) == classes);
}

TEST_CASE("training reports each minibatch") {
  // 10 rows in batches of 4 make 3 batches per epoch, the last one of 2 rows.
  std::vector<float> values;
  std::vector<int> classes;
  for (int i = 0; i < 10; ++i) {
    values.push_back(static_cast<float>(i));
    classes.push_back(i % 2);
  }
  LabelledData data{Tensor::from_vector(values, {10, 1}), classes};
  Network network(NetworkLayout{1, {4}, 2, Activation::Tanh}, 5, reference_backend());
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  std::vector<std::string> positions;
  options.on_batch = [&](const BatchProgress& p) {
    positions.push_back(fmt::format("{}/{} {}/{}", p.epoch, p.epochs, p.batch, p.batches));
  };
  train_network(network, data, std::nullopt, options);
  CHECK(positions == std::vector<std::string>{"1/2 1/3", "1/2 2/3", "1/2 3/3", "2/2 1/3", "2/2 2/3", "2/2 3/3"});
}

TEST_CASE("early stopping restores the best epoch") {
  // The validation labels are the opposite of the training labels, so the validation
  // loss rises as training proceeds.
  std::vector<float> values;
  std::vector<int> train_classes, validation_classes;
  for (int i = 0; i < 30; ++i) {
    values.push_back(static_cast<float>(i % 5) - 2.0f);
    train_classes.push_back(i % 5 >= 2 ? 1 : 0);
    validation_classes.push_back(i % 5 >= 2 ? 0 : 1);
  }
  Tensor features = Tensor::from_vector(values, {30, 1});
  LabelledData train{features, train_classes}, validation{features, validation_classes};
  Network network(NetworkLayout{1, {16}, 2, Activation::Relu}, 4, reference_backend());
  TrainOptions options;
  options.epochs = 200;
  options.patience = 3;
  options.optimizer.learning_rate = 0.05;
  std::vector<double> validation_losses;
  TrainResult result = train_network(
      network, train, validation, options,
      [&](const EpochProgress& p) { validation_losses.push_back(p.validation_loss); });
  CHECK(result.epochs_run < 200);
  CHECK(result.best_epoch == result.epochs_run - 3);
  REQUIRE(validation_losses.size() == static_cast<std::size_t>(result.epochs_run));
  double best = *std::min_element(validation_losses.begin(), validation_losses.end());
  CHECK(validation_losses[static_cast<std::size_t>(result.best_epoch - 1)] == best);
  Tensor p = network.predict(features);
  CHECK(mean_cross_entropy(p, validation_classes) == doctest::Approx(best).epsilon(1e-6));
}

namespace {

// Trains a 1 -> 4 -> 2 network with SGD on 16 rows of one feature, value_of(i) for row i
// and classes alternating, and returns the UserError message ("" when none is raised).
std::string training_error(float (*value_of)(int), Activation activation, TrainOptions options) {
  std::vector<float> values;
  std::vector<int> classes;
  for (int i = 0; i < 16; ++i) {
    values.push_back(value_of(i));
    classes.push_back(i % 2);
  }
  LabelledData data{Tensor::from_vector(values, {16, 1}), classes};
  Network network(NetworkLayout{1, {4}, 2, activation}, 5, reference_backend());
  options.optimizer.kind = OptimizerKind::Sgd;
  try {
    train_network(network, data, std::nullopt, options);
  } catch (const damo::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("diverging training is reported") {
  TrainOptions options;
  options.optimizer.learning_rate = 1e30;
  options.epochs = 50;
  std::string message =
      training_error([](int i) { return static_cast<float>(i) * 1e3f; }, Activation::Relu, options);
  CHECK(message.find("training diverged in epoch") != std::string::npos);
  CHECK(message.find("lower --lr") != std::string::npos);
}

TEST_CASE("divergence from the l2 penalty names it") {
  TrainOptions options;
  options.optimizer.l2 = 1e300;
  options.epochs = 3;
  std::string message =
      training_error([](int i) { return static_cast<float>(i % 4); }, Activation::Sigmoid, options);
  CHECK(message.find("training diverged in epoch 2 (the loss is nan)") != std::string::npos);
  CHECK(message.find("lower --lr (now 0.01) or --l2 (now 1e+300)") != std::string::npos);
}
