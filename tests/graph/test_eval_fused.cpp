// Tests of the evaluator's fused ops with bodies (fused_elementwise, fused_reduction),
// stop_gradient and the rule that a param outside a body is an internal error.
#include <doctest/doctest.h>

#include <cmath>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;
using damo::test::values_of;

TEST_CASE("eval fused_elementwise broadcasts its operands") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Graph g;
    Tensor a = test::random_tensor(dtype, {1, 7}, 71);
    Tensor b = test::random_tensor(dtype, {17, 1}, 72);
    Expr p0 = param(g, 0, dtype);
    Expr p1 = param(g, 1, dtype);
    Expr body = p0 * p1 + exp(p0) - 0.5;
    Expr x = g.input("a", dtype, Shape{1, 7});
    Expr y = g.input("b", dtype, Shape{17, 1});
    Feeds feeds = {{"a", a}, {"b", b}};

    std::vector<double> expected;
    for (int i = 0; i < 17; ++i)
      for (int j = 0; j < 7; ++j) {
        double u = a.get_double(j), v = b.get_double(i);
        expected.push_back(u * v + std::exp(u) - 0.5);
      }
    Expr fused = fused_elementwise(body, {x, y});
    check_values(evaluate(fused, feeds), dtype, {17, 7}, expected);
    // The same through evaluate_node, on operand values.
    check_values(evaluate_node(*fused.node(), {a, b}), dtype, {17, 7}, expected);

    // A body that only reads one operand still has the broadcast shape.
    std::vector<double> first;
    for (int i = 0; i < 17; ++i)
      for (int j = 0; j < 7; ++j) first.push_back(a.get_double(j));
    check_values(evaluate(fused_elementwise(p0, {x, y}), feeds), dtype, {17, 7}, first);
    check_values(evaluate(fused_elementwise(g.scalar(2, dtype), {x}), feeds), dtype, {1, 7},
                 std::vector<double>(7, 2.0));
  }

  // A body that casts and compares: where(p0 > 0, cast(p1, f32), 0).
  Graph g;
  Expr p0 = param(g, 0, DType::Float32);
  Expr p1 = param(g, 1, DType::Int32);
  Expr body = where(p0 > 0, cast(p1, DType::Float32), g.scalar(0, DType::Float32));
  Tensor a = Tensor::from_list({-1, 2, 0.5}, DType::Float32);
  Tensor b = Tensor::from_vector(std::vector<std::int32_t>{4, 5, 6}, {3});
  Expr fused = fused_elementwise(
      body, {g.input("a", DType::Float32, Shape{3}), g.input("b", DType::Int32, Shape{3})});
  check_values(evaluate(fused, {{"a", a}, {"b", b}}), DType::Float32, {3}, {0, 5, 6});
}

TEST_CASE("eval fused_reduction reduces the body") {
  Graph g;
  Tensor a = test::random_tensor(DType::Float64, {4, 5}, 73);
  Tensor b = test::random_tensor(DType::Float64, {4, 1}, 74);
  Expr x = g.input("a", DType::Float64, Shape{4, 5});
  Expr y = g.input("b", DType::Float64, Shape{4, 1});
  Expr p0 = param(g, 0, DType::Float64);
  Expr p1 = param(g, 1, DType::Float64);
  Expr body = square(p0 - p1);
  Feeds feeds = {{"a", a}, {"b", b}};

  struct ReduceCase {
    OpKind op;
    double start;
    double (*step)(double, double);
  };
  const ReduceCase cases[] = {
      {OpKind::Sum, 0, [](double acc, double v) { return acc + v; }},
      {OpKind::Prod, 1, [](double acc, double v) { return acc * v; }},
      {OpKind::Max, -INFINITY, [](double acc, double v) { return std::max(acc, v); }},
      {OpKind::Min, INFINITY, [](double acc, double v) { return std::min(acc, v); }},
  };
  for (const ReduceCase& c : cases) {
    INFO(op_name(c.op));
    std::vector<double> rows(4, c.start), columns(5, c.start);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 5; ++j) {
        double d = a.get_double(i * 5 + j) - b.get_double(i);
        rows[i] = c.step(rows[i], d * d);
        columns[j] = c.step(columns[j], d * d);
      }
    check_values(evaluate(fused_reduction(c.op, body, {x, y}, Axes{1}, true), feeds),
                 DType::Float64, {4, 1}, rows);
    check_values(evaluate(fused_reduction(c.op, body, {x, y}, Axes{0}, false), feeds),
                 DType::Float64, {5}, columns);
  }
}

TEST_CASE("eval stop_gradient is the identity") {
  Graph g;
  Tensor a = test::random_tensor(DType::Float32, {3, 2}, 75);
  Expr x = g.input("a", DType::Float32, Shape{3, 2});
  Tensor result = evaluate(stop_gradient(x) * 2.0, {{"a", a}});
  std::vector<double> doubled;
  for (double v : values_of(a)) doubled.push_back(2 * v);
  check_values(result, DType::Float32, {3, 2}, doubled);
  check_values(evaluate(stop_gradient(x), {{"a", a}}), DType::Float32, {3, 2}, values_of(a));
}

TEST_CASE("eval param outside a body is an internal error") {
  Graph g;
  Expr p = param(g, 0, DType::Float32);
  CHECK_THROWS_AS(evaluate(p), InternalError);
  CHECK_THROWS_AS(evaluate_node(*p.node(), {}), InternalError);
  CHECK_THROWS_AS(evaluate(p + 1.0), InternalError);
}
