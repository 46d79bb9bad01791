// Stabilization: each rule's golden text, agreement with the original expression where
// that one is accurate, and finite, accurate results where it is not.
#include <doctest/doctest.h>

#include "damo/graph/autodiff.h"
#include "damo/optimizer/canonicalize.h"
#include "damo/optimizer/stabilize.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_close;

Expr stabilized(Expr e) {
  Pipeline pipeline("test", testing::test_options().pipeline_options);
  pipeline.repeat(4, pass_list(std::make_unique<Canonicalize>(), std::make_unique<Stabilize>()));
  return pipeline.run({e}).roots[0];
}

TEST_CASE("stabilize golden text") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {2, 3});
  Expr e = exp(x);
  std::vector<std::pair<Expr, std::string>> cases = {
      {log(softmax(x)), "log_softmax(x, axis=1)"},
      {log(softmax(x, 0)), "log_softmax(x, axis=0)"},
      {log(sigmoid(x)), "-softplus(-x)"},
      {log(1.0 - sigmoid(x)), "-softplus(x)"},
      {log1p(-sigmoid(x)), "-softplus(x)"},
      {log(1.0 + x), "log1p(x)"},
      {log(x + 1.0), "log1p(x)"},
      {log(1.0 - x), "log1p(-x)"},
      {log(1.0 + exp(x)), "softplus(x)"},
      {exp(x) - 1.0, "expm1(x)"},
      {exp(x) + -1.0, "expm1(x)"},
      {log(sum(exp(x), Axes(1))), "logsumexp(x, axis=[1])"},
      {log(sum(exp(x))), "logsumexp(x)"},
      {e / sum(e, Axes(1), true), "softmax(x, axis=1)"},
      {e / expand_dims(sum(e, Axes(0)), 0), "softmax(x, axis=0)"},
      {exp(reshape(x, {6})) / sum(exp(reshape(x, {6}))), "softmax(reshape(x, [6]), axis=0)"},
      {log(e / sum(e, Axes(1), true)), "log_softmax(x, axis=1)"},
      {e / sum(e, Axes({0, 1}), true), "exp(x) / sum(exp(x), keepdims=true)"},
      {log(exp(x)), "x"},
      {log(exp(x) * 2.0), "log(exp(x) * 2)"},
      {log(x + 2.0), "log(x + 2)"},
      {binary_crossentropy(sigmoid(x), 0.25 + 0.0 * x),
       "softplus(-abs(x)) + ((1 - (x * 0 + 0.25)) * relu(x) + (x * 0 + 0.25) * relu(-x))"},
  };
  Feeds feeds = {{"x", testing::random_tensor(DType::Float64, {2, 3}, 5, -0.9, 0.9)}};
  for (const auto& [input, expected] : cases) {
    Expr actual = stabilized(input);
    INFO(to_infix(input) << " became " << to_infix(actual) << ", expected " << expected);
    CHECK(to_infix(actual) == expected);
    check_close(evaluate(actual, feeds), evaluate(input, feeds), 1e-12, expected);
  }
}

TEST_CASE("stabilize forms through a float cast") {
  // float32 operands whose log is taken in float64: the stable op runs on x in float64, so
  // its values differ from the float32 sigmoid, softmax or exp in about the 7th digit.
  Graph g;
  Expr x = g.input("x", DType::Float32, {2, 3});
  auto wide = [](Expr e) { return cast(e, DType::Float64); };
  std::vector<std::pair<Expr, std::string>> cases = {
      {log(wide(sigmoid(x))), "-softplus(-cast(x, f64))"},
      {log(1.0 - wide(sigmoid(x))), "-softplus(cast(x, f64))"},
      {log1p(-wide(sigmoid(x))), "-softplus(cast(x, f64))"},
      {log(wide(softmax(x))), "log_softmax(cast(x, f64), axis=1)"},
      {log1p(wide(exp(x))), "softplus(cast(x, f64))"},
      {log(sum(wide(exp(x)), Axes(1))), "logsumexp(cast(x, f64), axis=[1])"},
      {log(wide(exp(x))), "cast(x, f64)"},
      // The cast above the 1 - s, the -s, the 1 + exp or the sum.
      {log(wide(1.0 - sigmoid(x))), "-softplus(cast(x, f64))"},
      {log1p(wide(-sigmoid(x))), "-softplus(cast(x, f64))"},
      {log(wide(1.0 + exp(x))), "softplus(cast(x, f64))"},
      {log(wide(sum(exp(x), Axes(1)))), "logsumexp(cast(x, f64), axis=[1])"},
  };
  Feeds feeds = {{"x", testing::random_tensor(DType::Float32, {2, 3}, 7, -0.9, 0.9)}};
  Feeds saturated = {{"x", Tensor::from_list({{-200, 0, 200}, {100, -100, 3}}, DType::Float32)}};
  for (const auto& [input, expected] : cases) {
    Expr actual = stabilized(input);
    INFO(to_infix(input) << " became " << to_infix(actual) << ", expected " << expected);
    CHECK(to_infix(actual) == expected);
    check_close(evaluate(actual, feeds), evaluate(input, feeds), 1e-6, expected);
    Tensor values = evaluate(actual, saturated);
    for (std::int64_t i = 0; i < values.numel(); ++i) CHECK(std::isfinite(values.get_double(i)));
  }
}

TEST_CASE("stabilized forms stay finite and accurate") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {4});
  Feeds feeds = {{"x", Tensor::from_list({-1000, -50, 1e-12, 1000}, DType::Float64)}};

  Tensor log_sigmoid = evaluate(stabilized(log(sigmoid(x))), feeds);
  CHECK(log_sigmoid.get_double(0) == doctest::Approx(-1000));
  CHECK(log_sigmoid.get_double(3) == doctest::Approx(0).epsilon(1e-12));
  CHECK(std::isinf(evaluate(log(sigmoid(x)), feeds).get_double(0)));

  Tensor log_one_plus = evaluate(stabilized(log(1.0 + x)), feeds);
  CHECK(log_one_plus.get_double(2) == doctest::Approx(1e-12).epsilon(1e-12));

  Tensor expm1_value = evaluate(stabilized(exp(x) - 1.0), feeds);
  CHECK(expm1_value.get_double(2) == doctest::Approx(1e-12).epsilon(1e-12));

  Tensor lse = evaluate(stabilized(log(sum(exp(x)))), feeds);
  CHECK(lse.item() == doctest::Approx(1000));
  CHECK(std::isinf(evaluate(log(sum(exp(x))), feeds).item()));

  Tensor log_exp = evaluate(stabilized(log(exp(x))), feeds);
  CHECK(log_exp.get_double(0) == -1000);
  CHECK(log_exp.get_double(3) == 1000);
  CHECK(std::isinf(evaluate(log(exp(x)), feeds).get_double(3)));

  Tensor log_probabilities = evaluate(stabilized(log(softmax(x))), feeds);
  CHECK(log_probabilities.get_double(0) == doctest::Approx(-2000));
  CHECK(std::isinf(evaluate(log(softmax(x)), feeds).get_double(0)));
}

TEST_CASE("binary cross-entropy of a sigmoid at infinite logits") {
  // The loss tends to inf for targets strictly between 0 and 1, as the reference evaluator
  // of the unrewritten form gives; softplus(z) - t z was inf - inf = NaN at z = inf.
  Graph g;
  Expr z = g.input("z", DType::Float64, {"n"});
  Expr t = g.input("t", DType::Float64, {"n"});
  Expr loss = binary_crossentropy(sigmoid(z), t);
  Feeds feeds = {{"z", Tensor::from_list({INFINITY, -INFINITY, INFINITY, -INFINITY, 3}, DType::Float64)},
                 {"t", Tensor::from_list({0.3, 0.3, 0, 1, 0.5}, DType::Float64)}};
  Tensor plain = evaluate(loss, feeds);
  Tensor rewritten = evaluate(stabilized(loss), feeds);
  for (std::int64_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(std::isinf(plain.get_double(i)));
    CHECK(std::isinf(rewritten.get_double(i)));
    CHECK(rewritten.get_double(i) > 0);
  }
  CHECK(rewritten.get_double(4) == doctest::Approx(std::log1p(std::exp(3.0)) - 1.5));
}

TEST_CASE("binary cross-entropy of a sigmoid and its gradient stay finite") {
  // f32 sigmoid(20) rounds to 1, so log(1 - s) is -inf and the gradient's division by
  // 1 - s meets the sigmoid's derivative s (1 - s) = 0.
  Graph g;
  Expr z = g.input("z", DType::Float32, {"n"});
  Expr t = g.input("t", DType::Float32, {"n"});
  Expr loss = mean(binary_crossentropy(sigmoid(z), t));
  Expr upstream = g.input("u", DType::Float32, {"n"});
  std::vector<Expr> gradients = {grad(loss, z), grad(sum(binary_crossentropy(sigmoid(z), t) * upstream), z)};
  Feeds feeds = {{"z", Tensor::from_list({20, -3, 100, -100, 0.5}, DType::Float32)},
                 {"t", Tensor::from_list({0.5, 0.5, 1, 0, 0.25}, DType::Float32)},
                 {"u", Tensor::from_list({2, 2, 2, 2, -1}, DType::Float32)}};
  std::vector<double> zs = {20, -3, 100, -100, 0.5}, ts = {0.5, 0.5, 1, 0, 0.25}, us = {2, 2, 2, 2, -1};

  // autodiff differentiates the loss straight to z, so the gradient is finite before the
  // optimizer runs too.
  CHECK(std::isfinite(evaluate(gradients[0], feeds).get_double(0)));

  OptimizeOptions options = testing::test_options(PipelineKind::Training);
  std::vector<Expr> optimized = optimize({loss, gradients[0], gradients[1]}, options).roots;
  for (const Expr& e : optimized) {
    std::string text = to_infix(e);
    INFO(text);
    CHECK(text.find("binary_crossentropy") == std::string::npos);
  }
  double expected_loss = 0;
  for (std::size_t i = 0; i < zs.size(); ++i)
    expected_loss += (std::log1p(std::exp(-std::abs(zs[i]))) + std::max(zs[i], 0.0) - ts[i] * zs[i]) / 5;
  CHECK(evaluate(optimized[0], feeds).item() == doctest::Approx(expected_loss).epsilon(1e-6));
  Tensor mean_gradient = evaluate(optimized[1], feeds);
  Tensor scaled_gradient = evaluate(optimized[2], feeds);
  for (std::size_t i = 0; i < zs.size(); ++i) {
    double slope = 1 / (1 + std::exp(-zs[i])) - ts[i];
    auto at = static_cast<std::int64_t>(i);
    CHECK(mean_gradient.get_double(at) == doctest::Approx(slope / 5).epsilon(1e-5));
    CHECK(scaled_gradient.get_double(at) == doctest::Approx(slope * us[i]).epsilon(1e-5));
  }

  // float64 targets put a cast between the float32 sigmoid and the loss.
  Expr wide = g.input("w", DType::Float64, {"n"});
  Expr wide_loss = sum(binary_crossentropy(sigmoid(z), wide));
  Feeds wide_feeds = {{"z", feeds["z"]}, {"w", Tensor::from_list({0.5, 0.5, 1, 0, 0.25}, DType::Float64)}};
  Expr stable = optimize({wide_loss}, options).roots[0];
  CHECK(to_infix(stable).find("binary_crossentropy") == std::string::npos);
  CHECK(evaluate(stable, wide_feeds).item() == doctest::Approx(expected_loss * 5).epsilon(1e-6));
}

}  // namespace
}  // namespace damo
