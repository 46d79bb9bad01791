// Constant folding: golden text before and after, exact values for special values, dtype
// and weakness of the folded constant, and the size budget.
#include <doctest/doctest.h>

#include "damo/optimizer/constant_folding.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_same_values;
using testing::run_pass;

TEST_CASE("constant folding golden text") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr two = g.scalar(2, DType::Float32);
  Expr three = g.scalar(3, DType::Float32);
  Expr e = x * exp(two - three) + sqrt(two * 8.0);
  CHECK(to_infix(e) == "x * exp(2 - 3) + sqrt(2 * 8)");
  CHECK(to_infix(run_pass(ConstantFolding(), e)) == "x * 0.36787945 + 4");
}

TEST_CASE("constant folding keeps special values exact") {
  Graph g;
  Expr c = g.constant(testing::special_tensor(DType::Float32));
  Expr x = g.input("x", DType::Float32, {12});
  Expr e = x + (sqrt(c) * -1.0 + c * 0.0 - c / c + maximum(c, -c) + floor_div(c, c));
  Expr folded = run_pass(ConstantFolding(), e);
  CHECK(to_infix(folded) == "x + constant(f32, (12,))");
  Feeds feeds = {{"x", Tensor::zeros(DType::Float32, {12})}};
  check_same_values(evaluate(folded, feeds), evaluate(e, feeds), "folded special values");
}

TEST_CASE("constant folding keeps dtype and weakness") {
  Graph g;
  Expr weak_sum = literal_like(g.input("u", DType::Int32, {}), 2) +
                  literal_like(g.input("u", DType::Int32, {}), 3);
  Expr folded = run_pass(ConstantFolding(), weak_sum);
  REQUIRE(folded->is_constant());
  CHECK(folded->weak());
  CHECK(folded.dtype() == DType::Int64);
  CHECK(folded->value().get_int64(0) == 5);

  Expr i = g.input("i", DType::Int32, {2});
  Expr typed = i + cast(g.scalar(7, DType::Float64), DType::Int32) * 2;
  Expr typed_folded = run_pass(ConstantFolding(), typed);
  CHECK(to_infix(typed_folded) == "i + 14");
  CHECK(typed_folded->input(1)->dtype() == DType::Int32);
  CHECK_FALSE(typed_folded->input(1)->weak());

  // Integer division by zero folds to the evaluator's 0, not to a compile-time error.
  Expr div_zero = floor_div(g.scalar(7, DType::Int32), g.scalar(0, DType::Int32));
  CHECK(run_pass(ConstantFolding(), div_zero)->is_constant_value(0));
}

TEST_CASE("constant folding keeps broadcasts symbolic") {
  Graph g;
  Expr c = g.scalar(2, DType::Float32);
  Expr big = broadcast_to(c, Shape{1000, 1000});
  Expr n = g.input("v", DType::Float32, {"n", 3});
  CHECK(run_pass(ConstantFolding(), big).node() == big.node());

  Expr e = exp(big) + broadcast_to(g.scalar(1, DType::Float32), Shape{1000, 1000});
  CHECK(to_infix(run_pass(ConstantFolding(), e)) == "broadcast_to(8.389056, [1000, 1000])");

  Expr symbolic = n * square(broadcast_to(c, Shape{"n", 3}));
  CHECK(to_infix(run_pass(ConstantFolding(), symbolic)) == "v * broadcast_to(4, [n, 3])");
}

TEST_CASE("constant folding respects the size budget") {
  Graph g;
  Expr big = g.constant(testing::random_tensor(DType::Float32, {300, 300}, 1));
  Expr e = big * 2.0;
  CHECK(run_pass(ConstantFolding(), e).node() == e.node());
  Expr folded = run_pass(ConstantFolding(ConstantFoldingOptions{100000, {}}), e);
  REQUIRE(folded->is_constant());
  check_same_values(folded->value(), evaluate(e), "folded under a larger budget");
}

}  // namespace
}  // namespace damo
