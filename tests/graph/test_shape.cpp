// Tests of Dim, Shape and broadcasting, and the shape inference of the elementwise ops,
// matmul and the reductions.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "damo/graph/ops.h"
#include "graph/graph_test_util.h"

using namespace damo;
using damo::testing::user_error;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;
constexpr DType I32 = DType::Int32;
constexpr DType B = DType::Bool;

}  // namespace

TEST_CASE("dim static and symbolic") {
  Dim three(3);
  Dim n("n");
  CHECK(three.is_static());
  CHECK_FALSE(three.is_symbolic());
  CHECK(three.size() == 3);
  CHECK(three.to_string() == "3");
  CHECK(n.is_symbolic());
  CHECK(n.symbol() == "n");
  CHECK(n.to_string() == "n");
  CHECK(Dim(std::int64_t{5}) == Dim(5));
  CHECK(Dim("n") == Dim(std::string("n")));
  CHECK(Dim("n") != Dim("m"));
  CHECK(Dim(1) != Dim("n"));
}

TEST_CASE("shape text and counts") {
  CHECK(Shape{}.to_string() == "()");
  CHECK(Shape{3}.to_string() == "(3,)");
  CHECK((Shape{"n", 6}).to_string() == "(n, 6)");
  CHECK(Shape{}.rank() == 0);
  CHECK((Shape{2, "n", 4}).rank() == 3);
  CHECK((Shape{2, 3}).is_static());
  CHECK_FALSE((Shape{2, "n"}).is_static());
  CHECK((Shape{2, 3}).static_numel() == 6);
  CHECK(Shape{}.static_numel() == 1);
  CHECK((Shape{2, "n"}).static_numel() == std::nullopt);
  CHECK((Shape{2, 3}).static_dims() == Dims{2, 3});
  CHECK_THROWS_WITH_AS((Shape{2, "n"}).static_dims(),
                       "static_dims(): the shape (2, n) has symbolic dimensions; bind them "
                       "first or use is_static() to check",
                       UserError);
  CHECK((Shape{"n", 0}).is_statically_empty());
  CHECK_FALSE((Shape{"n", 1}).is_statically_empty());
  CHECK(Shape::from_dims({4, 5}) == (Shape{4, 5}));
}

TEST_CASE("broadcast shapes") {
  CHECK(broadcast_shapes({2, 3}, {3}) == Shape{2, 3});
  CHECK(broadcast_shapes({2, 1}, {1, 3}) == Shape{2, 3});
  CHECK(broadcast_shapes({}, {"n", 3}) == Shape{"n", 3});
  CHECK(broadcast_shapes({"n", 1}, {3}) == Shape{"n", 3});
  CHECK(broadcast_shapes({"n", 3}, {"n", 1}) == Shape{"n", 3});
  CHECK(broadcast_shapes({5, 1, 4}, {"k", 1}) == Shape{5, "k", 4});
  CHECK(broadcast_shapes({0, 3}, {1, 3}) == Shape{0, 3});
  CHECK(broadcast_shapes({2, 3}, {4, 3}) == std::nullopt);
  CHECK(broadcast_shapes({"n"}, {"m"}) == std::nullopt);
  CHECK(broadcast_shapes({"n"}, {3}) == std::nullopt);
  CHECK(broadcast_shapes({0}, {2}) == std::nullopt);
}

TEST_CASE("normalize axis") {
  CHECK(normalize_axis(0, 3, "op") == 0);
  CHECK(normalize_axis(-1, 3, "op") == 2);
  CHECK(normalize_axis(-3, 3, "op") == 0);
  CHECK(user_error([] { normalize_axis(3, 3, "op"); }) ==
        "op: axis 3 is out of range for rank 3; valid axes are -3 to 2");
  CHECK(user_error([] { normalize_axis(-4, 3, "op"); }) ==
        "op: axis -4 is out of range for rank 3; valid axes are -3 to 2");
  CHECK(user_error([] { normalize_axis(0, 0, "op"); }) ==
        "op: axis 0 is out of range for a scalar (rank 0)");
}

TEST_CASE("unary ops keep the shape") {
  Graph g;
  struct Case {
    const char* name;
    Expr (*build)(Expr);
    OpKind op;
  };
  const Case cases[] = {
      {"abs", damo::abs, OpKind::Abs},
      {"sign", damo::sign, OpKind::Sign},
      {"exp", damo::exp, OpKind::Exp},
      {"expm1", damo::expm1, OpKind::Expm1},
      {"log", damo::log, OpKind::Log},
      {"log1p", damo::log1p, OpKind::Log1p},
      {"sqrt", damo::sqrt, OpKind::Sqrt},
      {"square", damo::square, OpKind::Square},
      {"reciprocal", damo::reciprocal, OpKind::Reciprocal},
      {"sin", damo::sin, OpKind::Sin},
      {"cos", damo::cos, OpKind::Cos},
      {"tanh", damo::tanh, OpKind::Tanh},
      {"sigmoid", damo::sigmoid, OpKind::Sigmoid},
      {"softplus", damo::softplus, OpKind::Softplus},
      {"relu", damo::relu, OpKind::Relu},
      {"floor", damo::floor, OpKind::Floor},
      {"ceil", damo::ceil, OpKind::Ceil},
      {"round", damo::round, OpKind::Round},
      {"isnan", damo::isnan, OpKind::IsNan},
      {"isinf", damo::isinf, OpKind::IsInf},
      {"stop_gradient", damo::stop_gradient, OpKind::StopGradient},
      {"neg", damo::neg, OpKind::Neg},
      {"logical_not", damo::logical_not, OpKind::Not},
  };
  const Shape shapes[] = {{}, {"n", 3}, {0, "m"}, {2, 3, 4}};
  for (const Case& c : cases) {
    for (std::size_t k = 0; k < std::size(shapes); ++k) {
      const Shape& shape = shapes[k];
      Expr x = g.input(fmt::format("x{}", k), F64, shape);
      Expr y = c.build(x);
      CAPTURE(c.name);
      CAPTURE(shape.to_string());
      CHECK(y.shape() == shape);
      CHECK(y->op() == c.op);
      CHECK(y->input(0) == x.node());
      CHECK(unary(c.op, x).node() == y.node());
    }
  }
  Expr x = g.input("x", F64, {"n", 3});
  CHECK(cast(x, I32).shape() == Shape{"n", 3});
  CHECK(cast(x, I32)->op() == OpKind::Cast);
  CHECK(cast(x, I32)->attrs().dtype == I32);
  CHECK(cast(x, F64).node() == x.node());
}

TEST_CASE("binary ops broadcast") {
  Graph g;
  Expr col = g.input("col", F32, {"n", 1});
  Expr row = g.input("row", F32, {3});
  Expr s = g.input("s", F32, {});
  Expr m = g.input("m", F32, {"n", 3});
  Expr bcol = g.input("bcol", B, {"n", 1});
  Expr brow = g.input("brow", B, {3});
  Expr (*const arithmetic[])(Expr, Expr) = {
      damo::add,       damo::sub, damo::mul,     damo::div,     damo::mod,
      damo::floor_div, damo::pow, damo::maximum, damo::minimum, damo::eq,
      damo::ne,        damo::lt,  damo::le,      damo::gt,      damo::ge,
  };
  for (auto build : arithmetic) {
    Expr y = build(col, row);
    CAPTURE(op_name(y->op()));
    CHECK(y.shape() == Shape{"n", 3});
    CHECK(build(s, m).shape() == Shape{"n", 3});
    CHECK(build(m, s).shape() == Shape{"n", 3});
    CHECK(build(m, col).shape() == Shape{"n", 3});
    CHECK(build(s, s).shape() == Shape{});
  }
  CHECK(logical_and(bcol, brow).shape() == Shape{"n", 3});
  CHECK(logical_or(bcol, brow).shape() == Shape{"n", 3});
  CHECK(binary(OpKind::Add, col, row).node() == add(col, row).node());
}

TEST_CASE("where and clip broadcast") {
  Graph g;
  Expr c = g.input("c", B, {"n", 1});
  Expr x = g.input("x", F32, {3});
  Expr y = g.input("y", F32, {});
  CHECK(where(c, x, y).shape() == Shape{"n", 3});
  CHECK(where(c, x, y)->op() == OpKind::Where);
  CHECK(where(y, x, x).shape() == Shape{3});
  CHECK(clip(x, y, c > 0).shape() == Shape{"n", 3});
  CHECK(clip(x, 0.0 * y, 1.0 * y).shape() == Shape{3});
  CHECK(clip(x, y, y)->op() == OpKind::Clip);
}

TEST_CASE("matmul shapes") {
  Graph g;
  auto in = [&](const char* name, Shape shape) { return g.input(name, F32, std::move(shape)); };
  CHECK(matmul(in("a", {"n", 4}), in("b", {4, 3})).shape() == Shape{"n", 3});
  CHECK(matmul(in("v", {4}), in("b", {4, 3})).shape() == Shape{3});
  CHECK(matmul(in("a", {"n", 4}), in("v", {4})).shape() == Shape{"n"});
  CHECK(matmul(in("v", {4}), in("v", {4})).shape() == Shape{});
  CHECK(matmul(in("t", {2, 1, "n", 4}), in("u", {5, 4, 3})).shape() == Shape{2, 5, "n", 3});
  CHECK(matmul(in("w", {"k", "n", "m"}), in("z", {"m", 2})).shape() == Shape{"k", "n", 2});
  CHECK(matmul(in("e", {0, 4}), in("b", {4, 3})).shape() == Shape{0, 3});
  CHECK(matmul(in("a", {"n", 4}), in("b", {4, 3}))->op() == OpKind::MatMul);
}

TEST_CASE("reduction shapes") {
  Graph g;
  Expr x = g.input("x", F32, {2, "n", 4});
  Expr (*const reductions[])(Expr, Axes, bool) = {
      damo::sum,    damo::mean,   damo::prod,      damo::max, damo::min,
      damo::argmax, damo::argmin, damo::logsumexp, damo::all, damo::any,
  };
  for (auto build : reductions) {
    CAPTURE(op_name(build(x, {}, false)->op()));
    CHECK(build(x, {}, false).shape() == Shape{});
    CHECK(build(x, {}, true).shape() == Shape{1, 1, 1});
    CHECK(build(x, 1, false).shape() == Shape{2, 4});
    CHECK(build(x, 1, true).shape() == Shape{2, 1, 4});
    CHECK(build(x, -1, false).shape() == Shape{2, "n"});
    CHECK(build(x, {2, 0}, false).shape() == Shape{"n"});
    CHECK(build(x, {2, 0}, false)->attrs().ints == std::vector<std::int64_t>{0, 2});
    CHECK(build(x, {2, 0}, true).shape() == Shape{1, "n", 1});
    CHECK(build(x, std::vector<std::int64_t>{}, false).shape() == x.shape());
    CHECK(build(x, 1, true)->attrs().keepdims);
    OpKind op = build(x, 1, false)->op();
    CHECK(reduce(op, x, 1, false).node() == build(x, 1, false).node());
  }
  Expr s = g.input("s", F32, {});
  CHECK(sum(s).shape() == Shape{});
  CHECK(sum(s, {}, true).shape() == Shape{});
}
