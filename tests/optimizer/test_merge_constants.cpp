// Merging constants that differ only in weakness or in being broadcast.
#include <doctest/doctest.h>

#include "damo/optimizer/merge_constants.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_same_values;
using testing::run_pass;

TEST_CASE("merge constants golden text") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr full = g.constant(Tensor::full(DType::Float32, {3}, 2.0));
  Expr e = x * full + x * broadcast_to(g.scalar(2, DType::Float32), Shape{3});
  CHECK(to_infix(e) == "x * [2, 2, 2] + x * broadcast_to(2, [3])");
  Expr merged = run_pass(MergeConstants(), e);
  CHECK(to_infix(merged) == "x * broadcast_to(2, [3]) + x * broadcast_to(2, [3])");
  // The two products are now one node.
  CHECK(merged->input(0) == merged->input(1));
}

TEST_CASE("merge constants unifies weak and typed constants") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr y = g.input("y", DType::Float32, {3});
  Expr weak = x * 0.5;
  Expr typed = y * g.scalar(0.5, DType::Float32);
  REQUIRE(weak->input(1) != typed->input(1));
  auto roots = run_pass(MergeConstants(), {weak, typed});
  CHECK(roots[0]->input(1) == roots[1]->input(1));
  CHECK_FALSE(roots[0]->input(1)->weak());
}

TEST_CASE("merge constants keeps signed zeros and dtypes apart") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr d = g.input("d", DType::Float64, {3});
  Expr plus = x + g.constant(Tensor::full(DType::Float32, {3}, 0.0));
  Expr minus = x + g.constant(Tensor::full(DType::Float32, {3}, -0.0));
  Expr wide = d + g.constant(Tensor::full(DType::Float64, {3}, 0.0));
  auto roots = run_pass(MergeConstants(), {plus, minus, wide});
  CHECK(to_infix(roots[0]) == "x + broadcast_to(0, [3])");
  CHECK(to_infix(roots[1]) == "x + broadcast_to(-0, [3])");
  CHECK(roots[0].node() != roots[1].node());
  CHECK(roots[2]->input(1)->dtype() == DType::Float64);

  Feeds feeds = {{"x", Tensor::full(DType::Float32, {3}, -0.0)},
                 {"d", Tensor::full(DType::Float64, {3}, -0.0)}};
  for (std::size_t i = 0; i < roots.size(); ++i)
    check_same_values(evaluate(roots[i], feeds),
                      evaluate(std::vector<Expr>{plus, minus, wide}[i], feeds), "merged root");
}

TEST_CASE("merge constants keeps a weak constant its consumer needs weak") {
  Graph g;
  Expr weak_sum = g.weak_constant(Tensor::full(DType::Float64, {2}, 1.0)) + 1.0;
  REQUIRE(weak_sum->weak());
  Expr merged = run_pass(MergeConstants(), weak_sum);
  CHECK(merged->weak());
  CHECK(merged.dtype() == DType::Float64);
  check_same_values(evaluate(merged), evaluate(weak_sum), "weak sum");
}

}  // namespace
}  // namespace damo
