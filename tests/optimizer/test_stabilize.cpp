// Stabilization: each rule's golden text, agreement with the original expression where
// that one is accurate, and finite, accurate results where it is not.
#include <doctest/doctest.h>

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
      {log(e / sum(e, Axes(1), true)), "log_softmax(x, axis=1)"},
      {e / sum(e, Axes({0, 1}), true), "exp(x) / sum(exp(x), keepdims=true)"},
      {log(x + 2.0), "log(x + 2)"},
  };
  Feeds feeds = {{"x", testing::random_tensor(DType::Float64, {2, 3}, 5, -0.9, 0.9)}};
  for (const auto& [input, expected] : cases) {
    Expr actual = stabilized(input);
    INFO(to_infix(input) << " became " << to_infix(actual) << ", expected " << expected);
    CHECK(to_infix(actual) == expected);
    check_close(evaluate(actual, feeds), evaluate(input, feeds), 1e-12, expected);
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

  Tensor log_probabilities = evaluate(stabilized(log(softmax(x))), feeds);
  CHECK(log_probabilities.get_double(0) == doctest::Approx(-2000));
  CHECK(std::isinf(evaluate(log(softmax(x)), feeds).get_double(0)));
}

}  // namespace
}  // namespace damo
