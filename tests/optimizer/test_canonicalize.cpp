// Canonical operand order: constants last, other operands by creation order.
#include <doctest/doctest.h>

#include "damo/optimizer/canonicalize.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_same_values;
using testing::run_pass;

TEST_CASE("canonicalize golden text") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {144});
  Expr y = g.input("y", DType::Float32, {144});
  std::vector<Expr> inputs = {2.0 * x, y + x,    x + y,  maximum(y, x),
                              1.0 < x, 1.0 >= x, y == x, 2.0 * (y * x)};
  std::vector<std::string> expected = {"x * 2", "x + y",  "x + y",  "maximum(x, y)",
                                       "x > 1", "x <= 1", "x == y", "x * y * 2"};
  std::vector<Expr> roots = run_pass(Canonicalize(), inputs);
  auto [a, b] = testing::special_pairs(DType::Float32);
  Feeds feeds = {{"x", a}, {"y", b}};
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO(to_infix(inputs[i]));
    CHECK(to_infix(roots[i]) == expected[i]);
    check_same_values(evaluate(roots[i], feeds), evaluate(inputs[i], feeds), expected[i]);
  }
  // Both orders of a sum become one node.
  CHECK(roots[1].node() == roots[2].node());
}

TEST_CASE("canonicalize leaves non-commutative ops alone") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr y = g.input("y", DType::Float32, {3});
  for (Expr e : {y - x, 2.0 - x, y / x, pow(y, x)})
    CHECK(run_pass(Canonicalize(), e).node() == e.node());
}

}  // namespace
}  // namespace damo
