// Tests of dtype promotion: the table in promotion.h, weak literals, the dtypes of
// division, comparisons, unary ops and reductions.
#include <doctest/doctest.h>

#include <cmath>

#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "damo/graph/promotion.h"

using namespace damo;

namespace {

constexpr DType B = DType::Bool;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;
constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;

constexpr DType kOrder[] = {B, I32, I64, F32, F64};

// The typed-by-typed part of the table in promotion.h, rows and columns in kOrder.
constexpr DType kTypedTable[5][5] = {
    {B, I32, I64, F32, F64},
    {I32, I32, I64, F32, F64},
    {I64, I64, I64, F32, F64},
    {F32, F32, F32, F32, F64},
    {F64, F64, F64, F64, F64},
};

// The weak-int and weak-float columns of the table, rows in kOrder.
constexpr DType kWeakIntColumn[5] = {I64, I32, I64, F32, F64};
constexpr DType kWeakFloatColumn[5] = {F32, F32, F32, F32, F64};

}  // namespace

TEST_CASE("promotion table typed operands") {
  for (int row = 0; row < 5; ++row) {
    for (int column = 0; column < 5; ++column) {
      DType a = kOrder[row];
      DType b = kOrder[column];
      CAPTURE(dtype_name(a));
      CAPTURE(dtype_name(b));
      CHECK(promote_types(a, b) == kTypedTable[row][column]);
      CHECK(promote({a, false}, {b, false}) == OperandType{kTypedTable[row][column], false});
    }
  }
}

TEST_CASE("promotion table weak operands") {
  for (int row = 0; row < 5; ++row) {
    DType typed = kOrder[row];
    CAPTURE(dtype_name(typed));
    CHECK(promote({typed, false}, {I64, true}) == OperandType{kWeakIntColumn[row], false});
    CHECK(promote({I64, true}, {typed, false}) == OperandType{kWeakIntColumn[row], false});
    CHECK(promote({typed, false}, {F64, true}) == OperandType{kWeakFloatColumn[row], false});
    CHECK(promote({F64, true}, {typed, false}) == OperandType{kWeakFloatColumn[row], false});
    // A weak bool never raises a typed operand's kind.
    CHECK(promote({typed, false}, {B, true}) == OperandType{typed, false});
  }

  // Two weak operands promote like typed ones and stay weak.
  CHECK(promote({I64, true}, {F64, true}) == OperandType{F64, true});
  CHECK(promote({I64, true}, {I64, true}) == OperandType{I64, true});
  CHECK(promote({B, true}, {I64, true}) == OperandType{I64, true});
}

TEST_CASE("dtype kinds") {
  CHECK(dtype_kind(B) == DTypeKind::Bool);
  CHECK(dtype_kind(I32) == DTypeKind::Integer);
  CHECK(dtype_kind(I64) == DTypeKind::Integer);
  CHECK(dtype_kind(F32) == DTypeKind::Float);
  CHECK(dtype_kind(F64) == DTypeKind::Float);
}

TEST_CASE("weak literals yield to typed operands") {
  Graph g;
  Expr x = g.input("x", F32, {3});
  Expr d = g.input("d", F64, {3});
  Expr i = g.input("i", I32, {3});
  Expr l = g.input("l", I64, {3});
  Expr b = g.input("b", B, {3});

  CHECK((x * 0.5).dtype() == F32);
  CHECK_FALSE((x * 0.5)->weak());
  CHECK((x * 0.5)->input(1)->dtype() == F32);
  CHECK((x * 0.5)->input(1)->weak());
  CHECK((x * 0.5)->input(0) == x.node());
  CHECK((0.5 * x).dtype() == F32);
  CHECK((x + 2).dtype() == F32);
  CHECK((d * 0.5).dtype() == F64);
  CHECK((i * 2).dtype() == I32);
  CHECK((i * 0.5).dtype() == F32);
  CHECK((i * 0.5)->input(0)->op() == OpKind::Cast);
  CHECK((l * 0.5).dtype() == F32);
  CHECK((l + 1).dtype() == I64);
  CHECK((b + 1).dtype() == I64);
  CHECK((b * 0.5).dtype() == F32);
  CHECK((b & true).dtype() == B);
  CHECK((i + std::int64_t{7}).dtype() == I32);
}

TEST_CASE("literal only expressions stay weak") {
  Graph g;
  Expr half = g.literal(0.5);
  Expr two = g.literal(2, true);
  CHECK((half * half).dtype() == F64);
  CHECK((half * half)->weak());
  CHECK((half + two).dtype() == F64);
  CHECK((half + two)->weak());
  CHECK((two + two).dtype() == I64);
  CHECK((two + two)->weak());
  CHECK((two / two).dtype() == F64);
  CHECK((two / two)->weak());
  CHECK(exp(two).dtype() == F64);
  CHECK(exp(two)->weak());
  CHECK((half < two).dtype() == B);
  CHECK((half < two)->weak());

  // The weak result still yields to a typed operand it meets later.
  Expr x = g.input("x", F32, {});
  CHECK((x * (half * half)).dtype() == F32);
  CHECK((x * exp(two)).dtype() == F32);
}

TEST_CASE("typed operands promote") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr d = g.input("d", F64, {});
  Expr i = g.input("i", I32, {});
  Expr l = g.input("l", I64, {});
  Expr b = g.input("b", B, {});
  CHECK((x + d).dtype() == F64);
  CHECK((x + d)->input(0)->op() == OpKind::Cast);
  CHECK((i + l).dtype() == I64);
  CHECK((i + x).dtype() == F32);
  CHECK((l * x).dtype() == F32);
  CHECK((b + b).dtype() == I64);
  CHECK((b * i).dtype() == I32);
  CHECK(maximum(b, b).dtype() == B);
  CHECK(minimum(b, b).dtype() == B);
  CHECK(pow(i, i).dtype() == I32);
  CHECK(mod(i, l).dtype() == I64);
  CHECK(floor_div(i, i).dtype() == I32);
  CHECK(floor_div(b, b).dtype() == I64);
  CHECK(matmul(g.input("bm", B, {2, 2}), g.input("bm", B, {2, 2})).dtype() == I64);
  CHECK(matmul(g.input("im", I32, {2, 2}), g.input("fm", F32, {2, 2})).dtype() == F32);
  CHECK(where(b, i, x).dtype() == F32);
  CHECK(where(b, i, g.literal(1, true)).dtype() == I32);
  CHECK(where(x, i, i)->input(0)->op() == OpKind::Cast);
  CHECK(clip(i, g.literal(0, true), g.literal(10, true)).dtype() == I32);
  CHECK(clip(x, g.literal(0, true), g.literal(0.5)).dtype() == F32);
  CHECK(clip(b, b, b).dtype() == I64);
  CHECK(clip(i, x, x).dtype() == F32);
  CHECK(concatenate({g.input("cv", I32, {2}), g.input("cl", I64, {2})}).dtype() == I64);
}

TEST_CASE("division of integers gives floats") {
  Graph g;
  Expr i = g.input("i", I32, {});
  Expr l = g.input("l", I64, {});
  Expr b = g.input("b", B, {});
  Expr d = g.input("d", F64, {});
  CHECK((i / i).dtype() == F32);
  CHECK((i / i)->input(0)->op() == OpKind::Cast);
  CHECK((l / l).dtype() == F32);
  CHECK((i / 2).dtype() == F32);
  CHECK((2 / i).dtype() == F32);
  CHECK((b / b).dtype() == F32);
  CHECK((l / d).dtype() == F64);
  CHECK(floor_div(i, i).dtype() == I32);
}

TEST_CASE("comparisons and logic give bool") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr i = g.input("i", I32, {});
  Expr (*const comparisons[])(Expr, Expr) = {damo::eq, damo::ne, damo::lt,
                                             damo::le, damo::gt, damo::ge};
  for (auto compare : comparisons) {
    CHECK(compare(x, i).dtype() == B);
    CHECK(compare(x, i)->input(1)->dtype() == F32);
    CHECK(compare(i, g.literal(0.5)).dtype() == B);
    CHECK(compare(i, g.literal(0.5))->input(0)->dtype() == F32);
    CHECK_FALSE(compare(x, i)->weak());
  }
  CHECK((x & i).dtype() == B);
  CHECK((x & i)->input(0)->op() == OpKind::Cast);
  CHECK((x | i).dtype() == B);
  CHECK(logical_not(x).dtype() == B);
  CHECK(isnan(i).dtype() == B);
  CHECK(isinf(x).dtype() == B);
}

TEST_CASE("unary op result dtypes") {
  Graph g;
  Expr i = g.input("i", I32, {});
  Expr b = g.input("b", B, {});
  Expr d = g.input("d", F64, {});
  CHECK(exp(i).dtype() == F32);
  CHECK(sqrt(b).dtype() == F32);
  CHECK(sigmoid(d).dtype() == F64);
  CHECK(neg(i).dtype() == I32);
  CHECK(neg(b).dtype() == I64);
  CHECK(abs(b).dtype() == I64);
  CHECK(square(i).dtype() == I32);
  CHECK(relu(b).dtype() == I64);
  CHECK(sign(d).dtype() == F64);
  CHECK(floor(i).node() == i.node());
  CHECK(round(b).node() == b.node());
  CHECK(ceil(d).dtype() == F64);
  CHECK(ceil(d)->op() == OpKind::Ceil);
  CHECK(stop_gradient(b).dtype() == B);
  CHECK(cast(d, I32).dtype() == I32);
}

TEST_CASE("reduction result dtypes") {
  Graph g;
  Expr b = g.input("b", B, {4});
  Expr i = g.input("i", I32, {4});
  Expr l = g.input("l", I64, {4});
  Expr x = g.input("x", F32, {4});
  Expr d = g.input("d", F64, {4});
  CHECK(sum(b).dtype() == I64);
  CHECK(sum(i).dtype() == I64);
  CHECK(sum(i)->input(0)->op() == OpKind::Cast);
  CHECK(sum(x).dtype() == F32);
  CHECK(sum(d).dtype() == F64);
  CHECK(prod(i).dtype() == I64);
  CHECK(mean(i).dtype() == F32);
  CHECK(mean(l).dtype() == F32);
  CHECK(mean(d).dtype() == F64);
  CHECK(logsumexp(b).dtype() == F32);
  CHECK(logsumexp(x).dtype() == F32);
  CHECK(max(i).dtype() == I32);
  CHECK(max(i)->input(0) == i.node());
  CHECK(min(b).dtype() == B);
  CHECK(argmax(x).dtype() == I64);
  CHECK(argmin(i).dtype() == I64);
  CHECK(all(x).dtype() == B);
  CHECK(any(i).dtype() == B);
  CHECK_FALSE(sum(x)->weak());
}

TEST_CASE("neural network result dtypes") {
  Graph g;
  Expr i = g.input("i", I32, {2, 3});
  Expr d = g.input("d", F64, {2, 3});
  Expr labels = g.input("labels", I64, {2});
  CHECK(softmax(i).dtype() == F32);
  CHECK(log_softmax(d).dtype() == F64);
  CHECK(categorical_crossentropy(d, labels).dtype() == F64);
  Expr t = g.input("t", F32, {2, 3});
  CHECK(categorical_crossentropy(d, t).dtype() == F64);
  CHECK(categorical_crossentropy(d, t)->input(1)->op() == OpKind::Cast);
  CHECK(categorical_crossentropy(i, t).dtype() == F32);
  CHECK(binary_crossentropy(d, i).dtype() == F64);
  CHECK(one_hot(labels, 3).dtype() == F32);
}

TEST_CASE("ops take C++ numbers as weak literals") {
  Graph g;
  Expr x = g.input("x", F32, {3});
  Expr i = g.input("i", I32, {3});
  Expr mask = x > 0;
  Feeds feeds{{"x", Tensor::from_list({-1.5, 0.0, 2.5})}, {"i", Tensor::from_list({-7, 0, 7}, I32)}};
  auto values = [&](Expr e) {
    Tensor t = evaluate(e, feeds);
    return std::vector<double>{t.get_double(0), t.get_double(1), t.get_double(2)};
  };
  // A literal 0 is a weak literal here, not a null node pointer.
  CHECK(maximum(x, 0).dtype() == F32);
  CHECK(values(maximum(x, 0)) == std::vector<double>{0, 0, 2.5});
  CHECK(values(minimum(1, x)) == std::vector<double>{-1.5, 0, 1});
  CHECK(values(pow(x, 2)) == std::vector<double>{2.25, 0, 6.25});
  CHECK(values(pow(2.0, i)) == std::vector<double>{0.0078125, 1, 128});
  CHECK(pow(2.0, i).dtype() == F32);
  CHECK(values(floor_div(i, 2)) == std::vector<double>{-4, 0, 3});
  CHECK(floor_div(i, 2).dtype() == I32);
  CHECK(values(where(mask, x, 0)) == std::vector<double>{0, 0, 2.5});
  CHECK(values(where(mask, -1.0, x)) == std::vector<double>{-1.5, 0, -1});
  CHECK(where(mask, i, 0).dtype() == I32);
  // Two weak literals meet no tensor dtype, so they keep a literal's own dtype, as in NumPy.
  CHECK(where(mask, 1.0, 0.0).dtype() == F64);
  CHECK(where(mask, 1, 0).dtype() == I64);
  CHECK(values(where(mask, 1.0, 0.0)) == std::vector<double>{0, 0, 1});
  // Over a typed mask that result is typed, so it widens x; typed branches keep x in f32.
  CHECK((x + where(mask, -INFINITY, 0.0)).dtype() == F64);
  CHECK((x + where(mask, cast(g.literal(-INFINITY, false), F32), cast(g.literal(0, false), F32))).dtype() == F32);
  CHECK(values(clip(x, 0, 1)) == std::vector<double>{0, 0, 1});
  CHECK(values(clip(i, -5, x)) == std::vector<double>{-5, 0, 2.5});
  CHECK(values(clip(x, -1.0, 2)) == std::vector<double>{-1, 0, 2});
  CHECK(clip(i, 0, 3).dtype() == I32);

  // Integers beyond 2^53 stay exact with an i64 tensor; beyond int64 they are an error.
  Expr l = g.input("l", I64, {1});
  Feeds zero{{"l", Tensor::zeros(I64, {1})}};
  CHECK(evaluate(maximum(l, 9007199254740993LL), zero).get_int64(0) == 9007199254740993LL);
  CHECK(evaluate(l + 9007199254740993LL, zero).get_int64(0) == 9007199254740993LL);
  CHECK(evaluate(where(l == 0, l, 9007199254740993LL), zero).get_int64(0) == 0);
  CHECK_THROWS_WITH_AS(maximum(l, 18446744073709551615ULL),
                       "the integer literal 18446744073709551615 does not fit in int64, the widest "
                       "integer dtype; pass a smaller value or a float",
                       UserError);
}
