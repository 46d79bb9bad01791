// Gradient checks of the elementwise ops against finite differences, first and second
// order, with operands of different shapes so that broadcast axes are summed back.
#include <limits>

#include "grad_test_util.h"

using namespace damo;
using damo::test::check_gradient;
using damo::test::check_second_order;
using damo::test::GradFixture;

namespace {

struct UnaryCase {
  const char* name;
  Expr (*op)(Expr);
  double low, high, min_magnitude;
};

const UnaryCase kUnaryCases[] = {
    {"neg", neg, -2, 2, 0},           {"abs", abs, -2, 2, 0.1},
    {"exp", exp, -2, 2, 0},           {"expm1", expm1, -2, 2, 0},
    {"log", log, 0.2, 3, 0},          {"log1p", log1p, -0.6, 2, 0},
    {"sqrt", sqrt, 0.2, 3, 0},        {"square", square, -2, 2, 0},
    {"reciprocal", reciprocal, -2, 2, 0.3}, {"sin", sin, -3, 3, 0},
    {"cos", cos, -3, 3, 0},           {"tanh", tanh, -2, 2, 0},
    {"sigmoid", sigmoid, -3, 3, 0},   {"softplus", softplus, -3, 3, 0},
    {"relu", relu, -2, 2, 0.1},
    {"leaky_relu", [](Expr x) { return leaky_relu(x); }, -2, 2, 0.1},
    {"elu", [](Expr x) { return elu(x, 0.7); }, -2, 2, 0.1},
    {"silu", silu, -3, 3, 0},         {"gelu", [](Expr x) { return gelu(x); }, -3, 3, 0},
    {"softsign", softsign, -2, 2, 0.1}, {"log2", log2, 0.2, 3, 0},
    {"log10", log10, 0.2, 3, 0},      {"erf", erf, -2, 2, 0},
    {"erfc", erfc, -2, 2, 0},
    {"exact gelu", [](Expr x) { return gelu(x, false); }, -3, 3, 0},
};

struct BinaryCase {
  const char* name;
  Expr (*op)(Expr, Expr);
  double a_low, a_high, b_low, b_high, b_min_magnitude;
};

const BinaryCase kBinaryCases[] = {
    {"add", add, -2, 2, -2, 2, 0},        {"sub", sub, -2, 2, -2, 2, 0},
    {"mul", mul, -2, 2, -2, 2, 0},        {"div", div, -2, 2, -2, 2, 0.4},
    {"mod", mod, 0.1, 0.9, 1.1, 1.5, 0},  {"pow", pow, 0.5, 2, -1.5, 2.5, 0},
    {"maximum", maximum, -2, 2, -2, 2, 0}, {"minimum", minimum, -2, 2, -2, 2, 0},
};

// Operand shapes that broadcast in different ways.
const std::pair<Dims, Dims> kBroadcastShapes[] = {
    {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}};

}  // namespace

TEST_CASE("unary op gradients") {
  for (const UnaryCase& c : kUnaryCases) {
    INFO(c.name);
    GradFixture f;
    Expr x = f.var("x", {2, 3}, c.low, c.high, c.min_magnitude);
    check_second_order(f, c.op(x), {x});
  }
}

TEST_CASE("binary op gradients with broadcasting") {
  for (const BinaryCase& c : kBinaryCases) {
    for (const auto& [a_dims, b_dims] : kBroadcastShapes) {
      INFO(c.name << " " << dims_to_string(a_dims) << " " << dims_to_string(b_dims));
      GradFixture f;
      Expr a = f.var("a", a_dims, c.a_low, c.a_high);
      Expr b = f.var("b", b_dims, c.b_low, c.b_high, c.b_min_magnitude);
      check_second_order(f, c.op(a, b), {a, b});
    }
  }
}

TEST_CASE("binary op gradient sums broadcast axes") {
  GradFixture f;
  Expr a = f.var("a", {2, 3});
  Expr b = f.var("b", {3});
  std::vector<Expr> g = grad(sum(a * b), {a, b});
  CHECK(g[1].shape() == Shape{3});
  Tensor a_value = f.feeds["a"];
  Tensor db = f.eval(g[1]);
  for (int j = 0; j < 3; ++j)
    CHECK(db.get_double(j) == doctest::Approx(a_value.get_double(j) + a_value.get_double(3 + j)));
}

TEST_CASE("logaddexp gradients with broadcasting and ties") {
  GradFixture f;
  Expr a = f.var("a", {2, 3}, -2, 2);
  Expr b = f.var("b", {3}, -2, 2);
  check_second_order(f, logaddexp(a, b), {a, b});
  // Equal operands split the gradient evenly: d/da log(2 e^a) at a = b is 1/2 each.
  // Equal infinities too, where a - b is NaN.
  const double inf = std::numeric_limits<double>::infinity();
  Expr u = f.var("u", Tensor::from_list({1.5, -3.0, inf, -inf}, DType::Float64));
  Expr w = f.var("w", Tensor::from_list({1.5, -3.0, inf, -inf}, DType::Float64));
  std::vector<Expr> both = grad(sum(logaddexp(u, w)), {u, w});
  for (const Expr& gradient : both)
    for (double v : damo::test::values_of(f.eval(gradient))) CHECK(v == doctest::Approx(0.5));
  // Unequal infinities: the larger operand takes the whole gradient.
  Expr high = f.var("high", Tensor::from_list({inf}, DType::Float64));
  Expr low = f.var("low", Tensor::from_list({-inf}, DType::Float64));
  std::vector<Expr> apart = grad(sum(logaddexp(high, low)), {high, low});
  CHECK(f.eval(apart[0]).get_double(0) == 1.0);
  CHECK(f.eval(apart[1]).get_double(0) == 0.0);
}

TEST_CASE("logaddexp Hessian at ties") {
  // logaddexp(a, b) has the Hessian p (1 - p) [[1, -1], [-1, 1]] with p = sigmoid(a - b),
  // which is 1/4 at a tie and about 1/4 close to one.
  const double inf = std::numeric_limits<double>::infinity();
  Graph g;
  Expr x = g.input("x", DType::Float64, {2});
  Expr h = hessian(logaddexp(squeeze(slice(x, 0, 0, 1)), squeeze(slice(x, 0, 1, 2))), x);
  for (std::vector<double> point : {std::vector<double>{2, 2}, {-7.5, -7.5}, {2, 2.000001}}) {
    Tensor value = evaluate(h, {{"x", Tensor::from_vector(point, {2})}});
    double p = 1 / (1 + std::exp(point[1] - point[0]));
    double entry = p * (1 - p);
    INFO("at " << point[0] << ", " << point[1]);
    CHECK(value.get_double(0) == doctest::Approx(entry).epsilon(1e-9));
    CHECK(value.get_double(1) == doctest::Approx(-entry).epsilon(1e-9));
    CHECK(value.get_double(2) == doctest::Approx(-entry).epsilon(1e-9));
    CHECK(value.get_double(3) == doctest::Approx(entry).epsilon(1e-9));
  }
  // Equal infinities keep a finite Hessian of 0, and the value stays exact at a tie.
  Tensor infinite = evaluate(h, {{"x", Tensor::from_list({inf, inf}, DType::Float64)}});
  for (std::int64_t i = 0; i < 4; ++i) CHECK(infinite.get_double(i) == 0.0);
  Tensor tie = evaluate(logaddexp(x, x), {{"x", Tensor::from_list({2, -7.5}, DType::Float64)}});
  CHECK(tie.get_double(0) == 2 + std::numbers::ln2);
  CHECK(tie.get_double(1) == -7.5 + std::numbers::ln2);
}

TEST_CASE("expm1 and elu gradients far below zero") {
  // exp(x), not expm1(x) + 1, which rounds to 0 below about x = -37.5 in float64.
  Graph g;
  Expr x = g.input("x", DType::Float64, {3});
  Feeds feeds = {{"x", Tensor::from_list({-20, -40, -700}, DType::Float64)}};
  Tensor expm1_slope = evaluate(grad(sum(expm1(x)), x), feeds);
  Tensor elu_slope = evaluate(grad(sum(elu(x, 0.5)), x), feeds);
  for (std::int64_t i = 0; i < 3; ++i) {
    double expected = std::exp(feeds.at("x").get_double(i));
    INFO("x = " << feeds.at("x").get_double(i));
    CHECK(expm1_slope.get_double(i) == doctest::Approx(expected).epsilon(1e-14));
    CHECK(elu_slope.get_double(i) == doctest::Approx(0.5 * expected).epsilon(1e-14));
  }
  Expr y = g.input("y", DType::Float32, {1});
  Tensor float32_slope = evaluate(grad(sum(elu(y)), y), {{"y", Tensor::from_list({-20}, DType::Float32)}});
  CHECK(float32_slope.get_double(0) == doctest::Approx(std::exp(-20.0)).epsilon(1e-6));
}

TEST_CASE("pow gradient with respect to the exponent") {
  GradFixture f;
  Expr a = f.var("a", {4}, 0.5, 2);
  Expr b = f.var("b", {4}, -1, 2);
  check_second_order(f, pow(a, b), {b});
}

TEST_CASE("pow gradients at a zero base") {
  GradFixture f;
  Expr a = f.var("a", Tensor::from_list({0.0, 2.0, 0.0}, DType::Float64));
  Expr b = f.var("b", Tensor::from_list({0.0, 0.0, 3.0}, DType::Float64));
  std::vector<Expr> g = grad(sum(pow(a, b)), {a, b});
  // a^0 is 1 for every a, so its slope is 0 even at a = 0; at a = 0, b = 3 it is 3 * 0^2.
  CHECK(test::values_of(f.eval(g[0])) == std::vector<double>{0, 0, 0});
  // With respect to b: 0 at a = 0, and 2^0 log(2) at a = 2.
  std::vector<double> to_b = test::values_of(f.eval(g[1]));
  CHECK(to_b[0] == 0.0);
  CHECK(to_b[1] == doctest::Approx(std::log(2.0)));
  CHECK(to_b[2] == 0.0);
  // A constant exponent of 0, as in x ** 0.
  Expr constant = grad(sum(pow(a, f.graph.constant(Tensor::scalar(DType::Float64, 0.0)))), a);
  CHECK(test::values_of(f.eval(constant)) == std::vector<double>{0, 0, 0});
}

TEST_CASE("where gradient with broadcasting") {
  GradFixture f;
  Expr condition = f.graph.constant(Tensor::from_list({{1}, {0}}, DType::Bool));
  Expr a = f.var("a", {2, 3});
  Expr b = f.var("b", {3});
  check_second_order(f, where(condition, sin(a), b * b), {a, b});
}

TEST_CASE("clip gradient with broadcast bounds") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({{-2.0, -0.5, 0.3}, {0.7, 1.5, 3.0}}, DType::Float64));
  Expr lo = f.var("lo", Tensor::from_list({-1.0, 0.0, 0.5}, DType::Float64));
  Expr hi = f.var("hi", Tensor::scalar(DType::Float64, 1.0));
  check_second_order(f, clip(x * x, lo, hi), {x, lo, hi});
}

TEST_CASE("clip gradient with crossed bounds goes to hi") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({0.0, 2.0, 5.0}, DType::Float64));
  Expr lo = f.var("lo", Tensor::scalar(DType::Float64, 3.0));
  Expr hi = f.var("hi", Tensor::scalar(DType::Float64, 1.0));
  std::vector<Expr> g = grad(sum(clip(x, lo, hi)), {x, lo, hi});
  CHECK(test::values_of(f.eval(g[0])) == std::vector<double>{0, 0, 0});
  CHECK(f.eval(g[1]).item() == 0.0);
  CHECK(f.eval(g[2]).item() == 3.0);
}

TEST_CASE("cast gradient between float dtypes") {
  GradFixture f;
  Expr x = f.var("x", {2, 3});
  Expr narrow = cast(x, DType::Float32);
  Expr cost = sum(cast(narrow * narrow, DType::Float64));
  Expr g = grad(cost, x);
  CHECK(g.dtype() == DType::Float64);
  Tensor x_value = f.feeds["x"];
  Tensor g_value = f.eval(g);
  for (std::int64_t i = 0; i < 6; ++i)
    CHECK(g_value.get_double(i) == doctest::Approx(2 * x_value.get_double(i)).epsilon(1e-6));
}

TEST_CASE("gradient through a symbolic dimension") {
  GradFixture f;
  Expr x = f.graph.input("x", DType::Float64, Shape{"n", 3});
  f.feeds["x"] = test::random_tensor({4, 3}, 5, -1, 1);
  Expr b = f.var("b", {3});
  Expr y = mean(tanh(x + b), 0) * sum(x * x, 1, true);
  check_gradient(f, y, {x, b});
}
