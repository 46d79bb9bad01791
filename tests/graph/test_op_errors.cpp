// Every UserError an op factory raises, with its full message.
#include <doctest/doctest.h>

#include "damo/graph/ops.h"
#include "graph/graph_test_util.h"

using namespace damo;
using damo::testing::user_error;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;
constexpr DType B = DType::Bool;

}  // namespace

TEST_CASE("elementwise broadcast errors") {
  Graph g;
  Expr a = g.input("a", F32, {2, 3});
  Expr b = g.input("b", F32, {4});
  Expr n = g.input("n", F32, {"n"});
  Expr m = g.input("m", F32, {"m"});
  Expr c = g.input("c", B, {5});
  CHECK(user_error([&] { a + b; }) ==
        "add: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from the last, must "
        "have equal sizes or size 1");
  CHECK(user_error([&] { n * m; }) ==
        "mul: shapes (n,) and (m,) do not broadcast: each axis, aligned from the last, must have "
        "equal sizes or size 1. Two symbols may stand for different sizes in a call, so Damo does "
        "not match n with m; give both inputs the same symbol, n in both shapes");
  CHECK(user_error([&] { (void)(a < b); }) ==
        "lt: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from the last, must "
        "have equal sizes or size 1");
  CHECK(user_error([&] { where(c, a, a); }) ==
        "where: shapes (5,) and (2, 3) do not broadcast: each axis, aligned from the last, must "
        "have equal sizes or size 1");
  CHECK(user_error([&] { where(n > 0, n, b); }) ==
        "where: shapes (n,) and (4,) do not broadcast: each axis, aligned from the last, must "
        "have equal sizes or size 1. Damo never takes the symbolic size n to be 4; declare the "
        "input with the static size, or both with one symbol");
  CHECK(user_error([&] { clip(a, b, a); }) ==
        "clip: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from the last, must "
        "have equal sizes or size 1");
  CHECK(user_error([&] { binary_crossentropy(a, b); }) ==
        "binary_crossentropy: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from "
        "the last, must have equal sizes or size 1");
}

TEST_CASE("undefined and foreign operands") {
  Graph g;
  Graph h;
  Expr x = g.input("x", F32, {2});
  Expr y = h.input("y", F32, {2});
  CHECK(user_error([&] { sum(Expr()); }) == "sum: operand 1 is undefined");
  CHECK(user_error([&] { where(x > 0, x, Expr()); }) == "where: operand 3 is undefined");
  CHECK(user_error([&] { matmul(x, y); }) ==
        "matmul: operand 2 belongs to another graph; build all operands of an expression in one "
        "Graph");
  CHECK(user_error([&] { cast(Expr(), F32); }) == "cast: operand 1 is undefined");
  CHECK(user_error([&] { concatenate({x, y}); }) ==
        "concatenate: operand 2 belongs to another graph; build all operands of an expression "
        "in one Graph");
}

TEST_CASE("reduction axis errors") {
  Graph g;
  Expr x = g.input("x", F32, {2, 3});
  Expr s = g.input("s", F32, {});
  CHECK(user_error([&] { sum(x, 2); }) ==
        "sum: axis 2 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { argmax(x, -3); }) ==
        "argmax: axis -3 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { mean(x, {1, -1}); }) == "mean: axis 1 is listed twice");
  CHECK(user_error([&] { max(s, 0); }) == "max: axis 0 is out of range for a scalar (rank 0)");
}

TEST_CASE("matmul errors") {
  Graph g;
  Expr a = g.input("a", F32, {"n", 6});
  Expr b = g.input("b", F32, {5, 64});
  Expr v = g.input("v", F32, {5});
  Expr s = g.input("s", F32, {});
  Expr t = g.input("t", F32, {2, 3, 4});
  Expr u = g.input("u", F32, {5, 4, 3});
  CHECK(user_error([&] { matmul(a, b); }) ==
        "matmul: cannot multiply (n, 6) by (5, 64): the last axis of the left operand (6) must "
        "equal the second-to-last axis of the right operand (5)");
  CHECK(user_error([&] { matmul(a, v); }) ==
        "matmul: cannot multiply (n, 6) by (5,): the last axis of the left operand (6) must equal "
        "the only axis of the right operand (5)");
  CHECK(user_error([&] { matmul(a, s); }) ==
        "matmul: operands must have rank 1 or more, got f32 (n, 6) and f32 ()");
  CHECK(user_error([&] { matmul(t, u); }) ==
        "matmul: the batch axes of (2, 3, 4) and (5, 4, 3) do not broadcast");
  CHECK(user_error([&] { fused_matmul(a, b, Expr(), OpKind::Param); }) ==
        "fused_matmul: cannot multiply (n, 6) by (5, 64): the last axis of the left operand (6) "
        "must equal the second-to-last axis of the right operand (5)");
  CHECK(user_error([&] { fused_matmul(a, b, Expr(), OpKind::Param, true); }) ==
        "fused_matmul: cannot multiply (n, 6) by (5, 64): the last axis of the left operand (n) "
        "must equal the second-to-last axis of the right operand (5)");
}

TEST_CASE("transpose errors") {
  Graph g;
  Expr x = g.input("x", F32, {2, 3});
  CHECK(user_error([&] { transpose(x, {0}); }) ==
        "transpose: the permutation has 1 axes but the operand f32 (2, 3) has rank 2");
  CHECK(user_error([&] { transpose(x, {1, 1}); }) ==
        "transpose: axis 1 appears twice in the permutation");
  CHECK(user_error([&] { transpose(x, {0, 2}); }) ==
        "transpose: axis 2 is out of range for rank 2; valid axes are -2 to 1");
}

TEST_CASE("reshape errors") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 6});
  Expr s = g.input("s", F32, {2, 3});
  Expr e = g.input("e", F32, {0, 3});
  CHECK(user_error([&] { reshape(s, {-2, 3}); }) == "reshape: invalid dimension -2 in (-2, 3)");
  CHECK(user_error([&] { reshape(s, {-1, -1}); }) ==
        "reshape: only one dimension may be -1, in (-1, -1)");
  CHECK(user_error([&] { reshape(x, {"m", 6}); }) ==
        "reshape: cannot reshape f32 (n, 6) to (m, 6): symbolic dimension 'm' is not in the "
        "operand's shape");
  CHECK(user_error([&] { reshape(x, {"n", "n", 6}); }) ==
        "reshape: cannot reshape f32 (n, 6) to (n, n, 6): symbolic dimension 'n' is not in the "
        "operand's shape");
  CHECK(user_error([&] { reshape(e, {-1, 0}); }) ==
        "reshape: cannot reshape f32 (0, 3) to (-1, 0): the size of -1 is ambiguous for a tensor "
        "with 0 elements");
  CHECK(user_error([&] { reshape(s, {4, -1}); }) ==
        "reshape: cannot reshape f32 (2, 3) to (4, -1): the element counts do not divide");
  CHECK(user_error([&] { reshape(s, {0, -1}); }) ==
        "reshape: cannot reshape f32 (2, 3) to (0, -1): the element counts do not divide");
  CHECK(user_error([&] { reshape(x, {"n", "n", -1}); }) ==
        "reshape: cannot reshape f32 (n, 6) to (n, n, -1): symbolic dimension 'n' is not in the "
        "operand's shape");
  CHECK(user_error([&] { reshape(s, {5}); }) ==
        "reshape: cannot reshape f32 (2, 3) to (5,): the element counts differ");
  CHECK(user_error([&] { reshape(x, {6}); }) ==
        "reshape: cannot reshape f32 (n, 6) to (6,): the element counts differ");
  // A target whose sizes multiply beyond int64 is rejected before any division.
  CHECK(user_error([&] { reshape(s, {3, 6148914691236517205, -1}); }) ==
        "reshape: cannot reshape f32 (2, 3) to (3, 6148914691236517205, -1): the target has more "
        "elements than fit in int64");
}

TEST_CASE("node shapes beyond the limits") {
  Graph g;
  CHECK(user_error([&] { g.input("x", F32, {4294967296, 4294967296}); }) ==
        "input: the result shape (4294967296, 4294967296) has more elements than fit in int64");
  std::vector<Dim> many(kMaxRank + 1, Dim(1));
  CHECK(user_error([&] { g.input("y", F32, Shape(many)); }) ==
        "input: the result would have 65 axes; tensors have at most 64");
  // A size of 0 does not hide an overflowing product of the others, in any order.
  CHECK(user_error([&] { g.input("z", F32, {0, 4294967296, 4294967296}); }) ==
        "input: the nonzero sizes of the result shape (0, 4294967296, 4294967296) multiply beyond "
        "int64");
  CHECK(user_error([&] { g.input("w", F32, {4294967296, 4294967296, 0}); }) ==
        "input: the nonzero sizes of the result shape (4294967296, 4294967296, 0) multiply beyond "
        "int64");
  Expr quarter = g.input("q", F32, {4611686018427387904});
  CHECK(user_error([&] { concatenate({quarter, quarter, quarter}, 0); }) ==
        "concatenate: axis 0 of the result would have more elements than fit in int64");
}

TEST_CASE("expand dims and squeeze errors") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 1});
  CHECK(user_error([&] { expand_dims(x, 3); }) ==
        "expand_dims: axis 3 is out of range for rank 3; valid axes are -3 to 2");
  CHECK(user_error([&] { expand_dims(x, -4); }) ==
        "expand_dims: axis -4 is out of range for rank 3; valid axes are -3 to 2");
  CHECK(user_error([&] { squeeze(x, 0); }) == "squeeze: axis 0 of f32 (n, 1) has size n, not 1");
  CHECK(user_error([&] { squeeze(x, {1, -1}); }) == "squeeze: axis 1 is listed twice");
  CHECK(user_error([&] { squeeze(x, 2); }) ==
        "squeeze: axis 2 is out of range for rank 2; valid axes are -2 to 1");
}

TEST_CASE("broadcast to errors") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  CHECK(user_error([&] { broadcast_to(x, {3}); }) ==
        "broadcast_to: cannot broadcast f32 (n, 3) to (3,): the operand has rank 2, more than the "
        "target's 1");
  CHECK(user_error([&] { broadcast_to(x, {"m", 3}); }) ==
        "broadcast_to: cannot broadcast f32 (n, 3) to (m, 3): axis 0 of the operand has size n, "
        "which is neither 1 nor the target's m");
  CHECK(user_error([&] { broadcast_to(x, {1, 3}); }) ==
        "broadcast_to: cannot broadcast f32 (n, 3) to (1, 3): axis 0 of the operand has size n, "
        "which is neither 1 nor the target's 1");
}

TEST_CASE("concatenate errors") {
  Graph g;
  Expr a = g.input("a", F32, {2, 3});
  Expr b = g.input("b", F32, {2, 4});
  Expr v = g.input("v", F32, {3});
  Expr s = g.input("s", F32, {});
  Expr n = g.input("n", F32, {"n", 3});
  CHECK(user_error([&] { concatenate({}); }) == "concatenate: needs at least one operand");
  CHECK(user_error([&] { concatenate({s, s}); }) ==
        "concatenate: operands must have rank 1 or more, not scalars");
  CHECK(user_error([&] { concatenate({a, v}); }) ==
        "concatenate: operand f32 (3,) has rank 1 but the first has rank 2");
  CHECK(user_error([&] { concatenate({a, b}, 0); }) ==
        "concatenate: shapes (2, 3) and (2, 4) differ on axis 1, which is not the concatenation "
        "axis 0");
  CHECK(user_error([&] { concatenate({n, a}, 0); }) ==
        "concatenate: the parts have the sizes n and 2 along axis 0; Damo concatenates along a "
        "symbolic axis only parts of one size, such as n and n");
  CHECK(user_error([&] { concatenate({n, n, slice(n, 0, 1, std::nullopt)}, 0); }) ==
        "concatenate: the parts have the sizes n, n and n-1 along axis 0; Damo concatenates along "
        "a symbolic axis only parts of one size, such as n and n");
  CHECK(user_error([&] { concatenate({a, b}, 2); }) ==
        "concatenate: axis 2 is out of range for rank 2; valid axes are -2 to 1");
}

TEST_CASE("slice errors") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  Expr s = g.input("s", F32, {});
  CHECK(user_error([&] { slice(s, 0, 0, 1); }) == "slice: cannot slice a scalar");
  CHECK(user_error([&] { slice(x, 1, 0, 1, 0); }) == "slice: step must not be zero");
  CHECK(user_error([&] { slice(x, 0, -2, std::nullopt); }) ==
        "slice: axis 0 of f32 (n, 3) has the symbolic size n, and the size of the slice [-2:] would "
        "not be n less a constant; on a symbolic axis use a start of 0 or more, a stop that is "
        "empty or negative and step 1 (x[1:], x[:-1], x[2:-3]), or take() with indices");
  CHECK(user_error([&] { slice(x, 2, 0, 1); }) ==
        "slice: axis 2 is out of range for rank 2; valid axes are -2 to 1");
}

TEST_CASE("slices with steps near the int64 limits") {
  // Python's rules give one element for each of these.
  Graph g;
  Expr v = g.input("v", F32, {5});
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  CHECK(slice(v, 0, 0, 5, kMax).shape() == Shape({1}));
  CHECK(slice(v, 0, std::nullopt, std::nullopt, kMin).shape() == Shape({1}));
  CHECK(slice(v, 0, kMin, kMax, kMax).shape() == Shape({1}));
  CHECK(slice(v, 0, 4, 0, -2).shape() == Shape({2}));
}

TEST_CASE("take errors") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  Expr s = g.input("s", F32, {});
  Expr i = g.input("i", I64, {2});
  Expr f = g.input("f", F32, {2});
  Expr wide = g.input("wide", I64, {"n", 4});
  Expr flat = g.input("flat", I64, {4});
  Expr mismatch = g.input("mismatch", I32, {5, 2});
  CHECK(user_error([&] { take(x, f); }) ==
        "take: indices must be i32 or i64, not f32 (2,); cast them first");
  CHECK(user_error([&] { take(s, i); }) == "take: cannot take from a scalar");
  CHECK(user_error([&] { take(x, i, 2); }) ==
        "take: axis 2 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { take_along_axis(x, f, 0); }) ==
        "take_along_axis: indices must be i32 or i64, not f32 (2,); cast them first");
  CHECK(user_error([&] { take_along_axis(x, flat, 0); }) ==
        "take_along_axis: indices i64 (4,) must have the rank of the operand f32 (n, 3)");
  CHECK(user_error([&] { take_along_axis(s, g.input("k", I64, {}), 0); }) ==
        "take_along_axis: cannot take from a scalar");
  CHECK(user_error([&] { take_along_axis(x, wide, 0); }) ==
        "take_along_axis: indices i64 (n, 4) do not broadcast with the operand f32 (n, 3) on "
        "axis 1");
  CHECK(user_error([&] { take_along_axis(x, mismatch, 1); }) ==
        "take_along_axis: indices i32 (5, 2) do not broadcast with the operand f32 (n, 3) on "
        "axis 0");
  CHECK(user_error([&] { take_along_axis(x, wide, -3); }) ==
        "take_along_axis: axis -3 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { one_hot(f, 3); }) ==
        "one_hot: indices must be i32 or i64, not f32 (2,); cast them first");
  CHECK(user_error([&] { one_hot(i, -1); }) == "one_hot: depth -1 is negative");
}

TEST_CASE("neural network op errors") {
  Graph g;
  Expr s = g.input("s", F32, {});
  Expr p = g.input("p", F32, {"n", 3});
  Expr wrong_dense = g.input("wd", F32, {"n", 4});
  Expr wrong_labels = g.input("wl", I64, {"n", 3});
  Expr labels = g.input("labels", I64, {"n"});
  Expr wrong_g = g.input("wg", F32, {"n", 3});
  CHECK(user_error([&] { softmax(s); }) == "softmax: the operand must have rank 1 or more");
  CHECK(user_error([&] { log_softmax(s); }) == "log_softmax: the operand must have rank 1 or more");
  CHECK(user_error([&] { softmax(p, 2); }) ==
        "softmax: axis 2 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { categorical_crossentropy(s, s); }) ==
        "categorical_crossentropy: the predictions must have a class axis, got f32 ()");
  CHECK(user_error([&] { categorical_crossentropy(p, wrong_dense); }) ==
        "categorical_crossentropy: dense targets f32 (n, 4) must have the predictions' shape "
        "(n, 3); for class indices use an integer dtype");
  CHECK(user_error([&] { categorical_crossentropy(p, wrong_labels); }) ==
        "categorical_crossentropy: integer class targets i64 (n, 3) must have the predictions' "
        "shape without the class axis, (n,)");
  CHECK(user_error([&] { softmax_crossentropy(p, wrong_dense); }) ==
        "softmax_crossentropy: dense targets f32 (n, 4) must have the predictions' shape (n, 3); "
        "for class indices use an integer dtype");
  CHECK(user_error([&] { softmax_crossentropy_grad(p, labels, wrong_g); }) ==
        "softmax_crossentropy_grad: the upstream gradient f32 (n, 3) must have the loss shape "
        "(n,)");
  CHECK(user_error([&] { softmax_crossentropy_grad(p, wrong_labels, labels); }) ==
        "softmax_crossentropy_grad: integer class targets i64 (n, 3) must have the predictions' "
        "shape without the class axis, (n,)");
}

TEST_CASE("gradient and fused op errors") {
  Graph g;
  Expr x = g.input("x", F32, {2, 3});
  Expr i = g.input("i", I64, {2});
  Expr v = g.input("v", F32, {4});
  Expr p0 = param(g, 0, F32);
  CHECK(user_error([&] { slice_scatter(x, {5, 3}, 2, 0, 2, 1); }) ==
        "slice_scatter: axis 2 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { index_add(x, i, {5, 3}, -3); }) ==
        "index_add: axis -3 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { scatter_add_along_axis(x, i, {5, 3}, 2); }) ==
        "scatter_add_along_axis: axis 2 is out of range for rank 2; valid axes are -2 to 1");
  CHECK(user_error([&] { fused_elementwise(p0, {x, v}); }) ==
        "fused_elementwise: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from the "
        "last, must have equal sizes or size 1");
  CHECK(user_error([&] { fused_reduction(OpKind::Sum, p0, {x, v}, {}, false); }) ==
        "fused_reduction: shapes (2, 3) and (4,) do not broadcast: each axis, aligned from the "
        "last, must have equal sizes or size 1");
  CHECK(user_error([&] { fused_reduction(OpKind::Sum, p0, {x}, 2, false); }) ==
        "fused_reduction: axis 2 is out of range for rank 2; valid axes are -2 to 1");
}
