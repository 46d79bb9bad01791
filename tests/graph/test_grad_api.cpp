// Tests of the autodiff entry points: grad's errors and disconnected policies, vjp with
// cotangents at intermediate nodes, jvp, jacobian, hessian and verify_grad's report.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "damo/runtime/log.h"
#include "grad_test_util.h"

using namespace damo;
using damo::test::GradFixture;
using damo::test::values_of;

namespace {

// The message of the UserError that fn throws, or "" when it throws none.
template <class Fn>
std::string user_error_message(Fn&& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.message();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs fn with stderr redirected to a file at log level 1 and returns what it wrote.
template <class Fn>
std::string capture_log(Fn&& fn) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  std::fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(file), STDERR_FILENO);
  int saved_level = log_level();
  set_log_level(1);
  fn();
  set_log_level(saved_level);
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);

  std::rewind(file);
  std::string text;
  char buffer[512];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, n);
  std::fclose(file);
  return text;
}

Tensor matrix_a() { return Tensor::from_list({{1.0, -2.0, 0.5}, {3.0, 0.0, -1.0}}, DType::Float64); }

}  // namespace

TEST_CASE("grad rejects a non-scalar cost") {
  GradFixture f;
  Expr x = f.var("x", {4, 3});
  std::string message = user_error_message([&] { grad(x * 2.0, x); });
  CHECK(contains(message, "scalar"));
  CHECK(contains(message, "(4, 3)"));
}

TEST_CASE("grad rejects integer variables and costs") {
  Graph graph;
  Expr k = graph.input("k", DType::Int32, Shape{3});
  Expr x = graph.input("x", DType::Float64, Shape{3});
  std::string message = user_error_message([&] { grad(sum(x * k), std::vector<Expr>{x, k}); });
  CHECK(contains(message, "'k'"));
  CHECK(contains(message, "i32"));
  Expr flag = graph.input("flag", DType::Bool, Shape{3});
  std::string bool_message = user_error_message([&] { grad(sum(x), flag); });
  CHECK(contains(bool_message, "'flag'"));
  CHECK(contains(bool_message, "bool"));
  std::string cost_message = user_error_message([&] { grad(sum(k), x); });
  CHECK(contains(cost_message, "i64"));
}

TEST_CASE("grad disconnected variable policies") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr y = f.var("y", {2});
  Expr cost = sum(x * x);

  std::string message = user_error_message([&] { grad(cost, std::vector<Expr>{x, y}); });
  CHECK(contains(message, "'y'"));
  CHECK(contains(message, "does not depend"));

  std::vector<Expr> warned;
  std::string log = capture_log(
      [&] { warned = grad(cost, {x, y}, GradOptions{DisconnectedPolicy::Warn}); });
  CHECK(contains(log, "'y'"));
  CHECK(values_of(f.eval(warned[1])) == std::vector<double>{0, 0});

  std::string quiet = capture_log(
      [&] { grad(cost, {x, y}, GradOptions{DisconnectedPolicy::Zeros}); });
  CHECK(quiet.empty());
  Expr zeros = grad(cost, y, GradOptions{DisconnectedPolicy::Zeros});
  CHECK(zeros.shape() == Shape{2});
  CHECK(values_of(f.eval(zeros)) == std::vector<double>{0, 0});
}

TEST_CASE("grad messages count from one") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr cost = sum(x * x);
  CHECK(user_error_message([&] { grad(cost, std::vector<Expr>{x, Expr()}); }) ==
        "grad: variable 2 is undefined");
  CHECK(user_error_message([&] { vjp({Expr()}, {x}, {x}); }) == "vjp: output 1 is undefined");
  CHECK(user_error_message([&] { jvp({cost}, {x, x}, {x, Expr()}); }) ==
        "jvp: variable 2 or its tangent is undefined");
  // The disconnected message lists random draws among the nodes without a gradient.
  std::string message = user_error_message([&] { grad(sum(x * 0.0 + 1.0) * 0.0 + 1.0, f.var("p", {2})); });
  CHECK(contains(message, "round and the probabilities of random draws pass no gradient"));
}

TEST_CASE("grad keeps the variable dtype") {
  Graph graph;
  Expr x = graph.input("x", DType::Float32, Shape{3});
  Expr g = grad(sum(x * x * 0.5), x);
  CHECK(g.dtype() == DType::Float32);
  Feeds feeds{{"x", Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 0.25f}, {3})}};
  CHECK(values_of(evaluate(g, feeds)) == std::vector<double>{1.5, -2.0, 0.25});
}

TEST_CASE("vjp rejects a cotangent of another shape") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr u = f.graph.constant(Tensor::zeros(DType::Float64, {2}));
  std::string message = user_error_message([&] { vjp({sin(x)}, {u}, {x}); });
  CHECK(contains(message, "(2,)"));
  CHECK(contains(message, "(3,)"));
}

TEST_CASE("vjp with cotangents at intermediate nodes") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr h = sin(x);
  Expr y = h * 3.0 + x;
  Expr u1 = f.var("u1", {3});
  Expr u2 = f.var("u2", {3});
  Tensor g = f.eval(vjp({h, y}, {u1, u2}, {x})[0]);
  for (std::int64_t i = 0; i < 3; ++i) {
    double c = std::cos(f.feeds["x"].get_double(i));
    double expected = c * f.feeds["u1"].get_double(i) + (3 * c + 1) * f.feeds["u2"].get_double(i);
    CHECK(g.get_double(i) == doctest::Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("jvp of two outputs") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr v = f.var("v", {3});
  Expr a = f.graph.constant(matrix_a());
  Expr y1 = matmul(a, square(x));
  Expr y2 = sum(exp(x));
  std::vector<Expr> t = jvp({y1, y2}, {x}, {v});
  REQUIRE(t.size() == 2);
  CHECK(t[0].shape() == Shape{2});
  CHECK(t[1].shape() == Shape{});

  std::vector<double> xv = values_of(f.feeds["x"]);
  std::vector<double> vv = values_of(f.feeds["v"]);
  std::vector<double> first = values_of(f.eval(t[0]));
  for (int i = 0; i < 2; ++i) {
    double expected = 0;
    for (int j = 0; j < 3; ++j) expected += matrix_a().get_double(i * 3 + j) * 2 * xv[j] * vv[j];
    CHECK(first[i] == doctest::Approx(expected).epsilon(1e-12));
  }
  double expected = 0;
  for (int j = 0; j < 3; ++j) expected += std::exp(xv[j]) * vv[j];
  CHECK(f.eval(t[1]).item() == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("jvp through fused ops") {
  // The fused ops' rules are fused ops again; the second pass of jvp must leave none of its
  // placeholder cotangents among their operands.
  GradFixture f;
  Expr x = f.var("x", Tensor::from_vector(std::vector<double>{-1.0, 0.5, 2.0}, {3}));
  Expr v = f.var("v", Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0}, {3}));
  Graph& graph = f.graph;
  Expr p0 = param(graph, 0, DType::Float64);
  Expr linear = fused_elementwise(p0 * 2.0, {x});
  Expr cube = fused_elementwise(p0 * p0 * p0, {x});
  Expr squares = fused_reduction(OpKind::Sum, p0 * p0, {x}, Axes(0), false);
  Expr largest = fused_reduction(OpKind::Max, p0 * p0, {x}, Axes(0), false);

  CHECK(values_of(f.eval(jvp({linear}, {x}, {v})[0])) == std::vector<double>{2, 4, 6});
  // d(x^3) = 3 x^2 v; d(sum x^2) = 2 sum(x v); the largest square is at x = 2.
  CHECK(values_of(f.eval(jvp({cube}, {x}, {v})[0])) == std::vector<double>{3, 1.5, 36});
  CHECK(f.eval(jvp({squares}, {x}, {v})[0]).item() == doctest::Approx(2 * (-1 + 1 + 6)));
  CHECK(f.eval(jvp({largest}, {x}, {v})[0]).item() == doctest::Approx(2 * 2 * 3));
  // Forward over reverse: the Hessian of sum(x^3), diag(6 x), times v.
  Expr hvp = jvp({grad(sum(cube), x)}, {x}, {v})[0];
  CHECK(values_of(f.eval(hvp)) == std::vector<double>{-6, 6, 36});
}

TEST_CASE("jvp where a gradient rule masks an infinite factor") {
  // pow's rule takes d(a^b)/da as 0 at b = 0, where the formula is 0 * a^-1, and the sparse
  // cross-entropy's rule gives non-target classes 0 whatever their probability. jvp agrees
  // with grad there instead of meeting 0 * inf.
  GradFixture f;
  Expr y = f.var("y", Tensor::from_vector(std::vector<double>{0.0, 2.0}, {2}));
  Expr ones = f.graph.constant(Tensor::full(DType::Float64, {2}, 1.0));
  CHECK(values_of(f.eval(jvp({2.0 * pow(y, 0.0)}, {y}, {ones})[0])) == std::vector<double>{0, 0});
  Expr first = grad(sum(pow(y, 1.0)), y);
  CHECK(values_of(f.eval(jvp({first}, {y}, {ones})[0])) == std::vector<double>{0, 0});

  Expr p = f.var("p", Tensor::from_vector(std::vector<double>{0.0, 0.5, 0.5}, {1, 3}));
  Expr label = f.graph.constant(Tensor::from_vector(std::vector<std::int32_t>{1}, {1}));
  Expr tangent = f.graph.constant(Tensor::full(DType::Float64, {1, 3}, 1.0));
  Expr loss = categorical_crossentropy(p, label);
  CHECK(f.eval(jvp({loss}, {p}, {tangent})[0]).item() == doctest::Approx(-2.0));
  // Forward over reverse: d/dp of -1/p[label] is 1/p^2 at the label, 4 here, and 0 elsewhere.
  Expr hvp = jvp({grad(sum(loss), p)}, {p}, {tangent})[0];
  CHECK(values_of(f.eval(hvp)) == std::vector<double>{0, 4, 0});
}

TEST_CASE("jacobian of a vector and a matrix output") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr a = f.graph.constant(matrix_a());
  Expr jac = jacobian(matmul(a, sin(x)), x);
  CHECK(jac.shape() == Shape{2, 3});
  std::vector<double> values = values_of(f.eval(jac));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      CHECK(values[i * 3 + j] == doctest::Approx(matrix_a().get_double(i * 3 + j) *
                                                 std::cos(f.feeds["x"].get_double(j))));

  Expr outer = expand_dims(x, 1) * expand_dims(x, 0);  // (3, 3): x_i x_j
  Expr jac3 = jacobian(outer, x);
  CHECK(jac3.shape() == Shape{3, 3, 3});
  Tensor value = f.eval(jac3);
  std::vector<double> xv = values_of(f.feeds["x"]);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) {
        double expected = (i == k ? xv[j] : 0.0) + (j == k ? xv[i] : 0.0);
        CHECK(value.get_double(i * 9 + j * 3 + k) == doctest::Approx(expected));
      }
}

TEST_CASE("jvp of outputs with derived sizes") {
  // Outputs of sizes n*6 and n-1: the cotangent placeholders take those sizes.
  Graph graph;
  Expr x = graph.input("x", DType::Float64, Shape{"n", 2, 3});
  Expr c = graph.input("c", DType::Float64, Shape{"n", 2, 3});
  Expr v = graph.input("v", DType::Float64, Shape{"k"});
  Expr u = graph.input("u", DType::Float64, Shape{"k"});
  std::vector<Expr> flat = jvp({reshape(sin(x), {-1})}, {x}, {c});
  CHECK(flat[0].shape().to_string() == "(n*6,)");
  std::vector<Expr> pairs = jvp({slice(v, 0, 1, std::nullopt) * slice(v, 0, std::nullopt, -1)}, {v}, {u});
  CHECK(pairs[0].shape().to_string() == "(k-1,)");

  Tensor xs = Tensor::from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {1, 2, 3});
  Tensor cs = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {1, 2, 3});
  Tensor vs = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
  Tensor us = Tensor::from_vector(std::vector<double>{1, 10, 100}, {3});
  Feeds feeds = {{"x", xs}, {"c", cs}, {"v", vs}, {"u", us}};
  std::vector<double> tangent = values_of(evaluate(flat[0], feeds));
  REQUIRE(tangent.size() == 6);
  for (std::size_t i = 0; i < 6; ++i)
    CHECK(tangent[i] == doctest::Approx(std::cos(0.1 * static_cast<double>(i + 1)) * static_cast<double>(i + 1)));
  // d(v[1:] * v[:-1]) = u[1:] * v[:-1] + v[1:] * u[:-1].
  CHECK(values_of(evaluate(pairs[0], feeds)) == std::vector<double>{10 * 1 + 2 * 1, 100 * 2 + 3 * 10});
}

TEST_CASE("jacobian rejects symbolic shapes") {
  Graph graph;
  Expr x = graph.input("x", DType::Float64, Shape{"n"});
  std::string message = user_error_message([&] { jacobian(sin(x), x); });
  CHECK(contains(message, "symbolic"));
}

TEST_CASE("hessian of a cubic with a cross term") {
  // f(x) = sum(x^3) + x0 x1 has Hessian diag(6 x) plus 1 at (0, 1) and (1, 0).
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr cost = sum(x * x * x) + sum(slice(x, 0, 0, 1) * slice(x, 0, 1, 2));
  Expr h = hessian(cost, x);
  CHECK(h.shape() == Shape{3, 3});
  std::vector<double> xv = values_of(f.feeds["x"]);
  std::vector<double> expected = {6 * xv[0], 1, 0, 1, 6 * xv[1], 0, 0, 0, 6 * xv[2]};
  std::vector<double> values = values_of(f.eval(h));
  for (int i = 0; i < 9; ++i) CHECK(values[i] == doctest::Approx(expected[i]).epsilon(1e-12));

  Expr linear = sum(x * 2.0);
  CHECK(values_of(f.eval(hessian(linear, x))) == std::vector<double>(9, 0.0));
}

TEST_CASE("verify_grad reports the worst element") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_vector(std::vector<double>{1.0, 0.0, -1.0}, {3}));
  GradCheckResult result = verify_grad(relu(x) * 2.0, {x}, f.feeds);
  CHECK_FALSE(result.passed);
  CHECK(result.worst_variable == "x");
  CHECK(result.worst_index == 1);
  CHECK(result.worst_point.equals(f.feeds["x"]));
  CHECK(result.max_abs_error > 0.1);
  CHECK(contains(result.message, "failed"));

  GradCheckResult good = verify_grad(sin(x), {x}, f.feeds);
  CHECK(good.passed);
  CHECK(good.max_abs_error < 1e-8);
  CHECK(contains(good.message, "passed"));
}

TEST_CASE("verify_grad rejects non-f64 variables") {
  Graph graph;
  Expr x = graph.input("x", DType::Float32, Shape{2});
  Feeds feeds{{"x", Tensor::zeros(DType::Float32, {2})}};
  std::string message = user_error_message([&] { verify_grad(sin(x), {x}, feeds); });
  CHECK(contains(message, "'x'"));
  CHECK(contains(message, "f32"));
  Expr y = graph.input("y", DType::Float64, Shape{2});
  std::string missing = user_error_message([&] { verify_grad(sin(y), {y}, feeds); });
  CHECK(contains(missing, "'y'"));
}

TEST_CASE("grad of a braced list of one variable is a list") {
  Graph g;
  Expr w = g.input("w", DType::Float64, {3});
  Expr cost = sum(w * w);
  std::vector<Expr> listed = grad(cost, {w});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].node() == grad(cost, w).node());
}
