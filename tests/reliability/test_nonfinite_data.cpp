// NaN, infinities, signed zeros and denormals in data propagate through compiled code
// exactly as through the reference evaluator. An op turns a NaN into a number only where
// docs/ops.md defines it (isnan, not, comparisons, casts to integers).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "damo/frontend/function.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"

using namespace damo;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// NaN, +inf, -inf, -0, +0, the smallest float32 denormal, 1, -1.
Tensor special_values(DType dtype) {
  std::vector<double> values = {
      kNaN, kInf, -kInf, -0.0, 0.0, std::numeric_limits<float>::denorm_min(), 1.0, -1.0};
  Tensor t = Tensor::empty(dtype, {static_cast<std::int64_t>(values.size())});
  for (std::size_t i = 0; i < values.size(); ++i)
    t.set_double(static_cast<std::int64_t>(i), values[i]);
  return t;
}

// Compiles outputs with the JIT, evaluates them, and checks element by element that NaN
// sits where NaN sits, infinities and zeros agree in sign, and finite values agree within
// the tolerance of tests/codegen/jit_check.h. Returns the JIT's results.
std::vector<Tensor> check_backends_agree(const std::vector<Expr>& inputs,
                                         const std::vector<Expr>& outputs,
                                         const std::vector<Tensor>& arguments) {
  CompileOptions options;
  options.use_cache = false;
  std::vector<Tensor> actual = compile(inputs, outputs, {}, options)(arguments);
  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) feeds[inputs[i]->name()] = arguments[i];
  std::vector<Tensor> expected = evaluate(outputs, feeds);
  REQUIRE(actual.size() == expected.size());
  for (std::size_t k = 0; k < actual.size(); ++k) {
    INFO(outputs[k].to_string());
    REQUIRE(actual[k].dtype() == expected[k].dtype());
    REQUIRE(actual[k].shape() == expected[k].shape());
    double rtol = expected[k].dtype() == DType::Float32 ? 2e-5 : 1e-12;
    for (std::int64_t i = 0; i < expected[k].numel(); ++i) {
      INFO("element " << i);
      double a = actual[k].get_double(i), e = expected[k].get_double(i);
      CHECK(std::isnan(a) == std::isnan(e));
      if (std::isnan(e)) continue;
      if (e == 0 || std::isinf(e)) CHECK(std::signbit(a) == std::signbit(e));
      if (std::isinf(e))
        CHECK(a == e);
      else
        CHECK(std::abs(a - e) <= rtol * std::max(1.0, std::abs(e)));
    }
  }
  return actual;
}

}  // namespace

TEST_CASE("special values through unary ops") {
  const OpKind ops[] = {OpKind::Neg,    OpKind::Abs,        OpKind::Sign,     OpKind::Exp,
                        OpKind::Expm1,  OpKind::Log,        OpKind::Log1p,    OpKind::Sqrt,
                        OpKind::Square, OpKind::Reciprocal, OpKind::Sin,      OpKind::Cos,
                        OpKind::Tanh,   OpKind::Sigmoid,    OpKind::Softplus, OpKind::Relu,
                        OpKind::Floor,  OpKind::Ceil,       OpKind::Round,    OpKind::StopGradient};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {8});
    std::vector<Expr> outputs;
    for (OpKind op : ops) outputs.push_back(unary(op, x));
    std::vector<Tensor> out = check_backends_agree({x}, outputs, {special_values(dtype)});
    for (std::size_t k = 0; k < out.size(); ++k) {
      INFO(op_name(ops[k]) << " " << dtype_name(dtype));
      CHECK(std::isnan(out[k].get_double(0)));
    }
  }
}

TEST_CASE("special values through predicates and casts") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {8});
  std::vector<Tensor> out = check_backends_agree(
      {x}, {isnan(x), isinf(x), logical_not(x), cast(x, DType::Int32), cast(x, DType::Float64)},
      {special_values(DType::Float32)});
  CHECK(out[0].get_int64(0) == 1);
  CHECK(out[0].get_int64(1) == 0);
  CHECK(out[1].get_int64(1) == 1);
  CHECK(out[1].get_int64(2) == 1);
  CHECK(out[2].get_int64(0) == 0);  // not(NaN) is false: NaN is nonzero
  CHECK(out[2].get_int64(3) == 1);  // not(-0.0) is true
  CHECK(out[3].get_int64(0) == 0);  // NaN casts to 0
  CHECK(out[3].get_int64(1) == std::numeric_limits<std::int32_t>::max());
  CHECK(out[3].get_int64(2) == std::numeric_limits<std::int32_t>::min());
  CHECK(std::isnan(out[4].get_double(0)));
  CHECK(out[4].get_double(5) == std::numeric_limits<float>::denorm_min());
}

TEST_CASE("special values through binary ops") {
  const OpKind ops[] = {OpKind::Add, OpKind::Sub, OpKind::Mul,     OpKind::Div,    OpKind::FloorDiv,
                        OpKind::Mod, OpKind::Pow, OpKind::Maximum, OpKind::Minimum};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr a = g.input("a", dtype, {8, 1});
    Expr b = g.input("b", dtype, {1, 8});
    std::vector<Expr> outputs;
    for (OpKind op : ops) outputs.push_back(binary(op, a, b));
    for (OpKind op : {OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Ge})
      outputs.push_back(binary(op, a, b));
    Tensor values = special_values(dtype);
    std::vector<Tensor> out =
        check_backends_agree({a, b}, outputs, {values.reshape({8, 1}), values.reshape({1, 8})});
    // Row 0 and column 0 hold NaN: every arithmetic result there is NaN, except pow with a
    // zero exponent or a base of 1, which C's pow defines as 1.
    for (std::size_t k = 0; k < std::size(ops); ++k) {
      INFO(op_name(ops[k]) << " " << dtype_name(dtype));
      for (std::int64_t j = 0; j < 8; ++j) {
        bool pow_one = ops[k] == OpKind::Pow && (j == 3 || j == 4);
        if (!pow_one) CHECK(std::isnan(out[k].get_double(j)));
        if (ops[k] != OpKind::Pow) CHECK(std::isnan(out[k].get_double(j * 8)));
      }
    }
    std::size_t eq = std::size(ops);
    CHECK(out[eq].get_int64(0) == 0);          // NaN == NaN is false
    CHECK(out[eq + 1].get_int64(0) == 1);      // NaN != NaN is true
    CHECK(out[eq].get_int64(3 * 8 + 4) == 1);  // -0 == +0
  }
}

TEST_CASE("special values through reductions and matmul") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {2, 8});
  Tensor values = Tensor::empty(DType::Float64, {2, 8});
  Tensor specials = special_values(DType::Float64);
  for (std::int64_t i = 0; i < 8; ++i) {
    values.set_double(i, specials.get_double(i));
    values.set_double(8 + i, static_cast<double>(i));
  }
  Expr w = g.input("w", DType::Float64, {8, 2});
  Tensor weights = Tensor::full(DType::Float64, {8, 2}, 0.5);
  std::vector<Tensor> out =
      check_backends_agree({x, w},
                           {sum(x, 1), max(x, 1), min(x, 1), argmax(x, 1), argmin(x, 1), prod(x, 1),
                            mean(x, 1), logsumexp(x, 1), softmax(x, 1), matmul(x, w)},
                           {values, weights});
  CHECK(std::isnan(out[0].get_double(0)));
  CHECK(out[0].get_double(1) == 28.0);
  CHECK(std::isnan(out[1].get_double(0)));
  CHECK(std::isnan(out[2].get_double(0)));
  CHECK(out[3].get_int64(0) == 0);  // the first NaN wins
  CHECK(out[3].get_int64(1) == 7);
  CHECK(std::isnan(out[5].get_double(0)));
  CHECK(std::isnan(out[7].get_double(0)));
  for (std::int64_t j = 0; j < 8; ++j) CHECK(std::isnan(out[8].get_double(j)));
  CHECK(std::isnan(out[9].get_double(0)));
  CHECK(out[9].get_double(2) == 14.0);
}

TEST_CASE("integer extremes wrap the same on both backends") {
  Graph g;
  Expr i = g.input("i", DType::Int32, {6});
  Tensor values = Tensor::empty(DType::Int32, {6});
  std::int32_t* data = values.data<std::int32_t>();
  data[0] = std::numeric_limits<std::int32_t>::min();
  data[1] = std::numeric_limits<std::int32_t>::max();
  data[2] = -1;
  data[3] = 0;
  data[4] = 1;
  data[5] = 7;
  Expr minus_one = g.scalar(-1, DType::Int32);
  std::vector<Tensor> out =
      check_backends_agree({i},
                           {-i, abs(i), i + i, i * i, floor_div(i, minus_one), i % i,
                            floor_div(i, i), pow(i, i), sum(i), prod(i)},
                           {values});
  CHECK(out[0].get_int64(0) == std::numeric_limits<std::int32_t>::min());
  CHECK(out[1].get_int64(0) == std::numeric_limits<std::int32_t>::min());
  CHECK(out[2].get_int64(1) == -2);
  CHECK(out[4].get_int64(0) == std::numeric_limits<std::int32_t>::min());
  CHECK(out[6].get_int64(3) == 0);  // 0 // 0 is 0
}

TEST_CASE("softmax of a line with +inf is NaN on both backends") {
  // Found by the JIT differential fuzzer: the JIT gave 0 for the finite entries and NaN
  // for the infinite one, where docs/ops.md defines the whole line as NaN.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {2, 3});
    Tensor values = Tensor::from_list({{0, -1, 1}, {-1, 0.5, kInf}}, dtype);
    std::vector<Tensor> out =
        check_backends_agree({x}, {softmax(x, 0), log_softmax(x, 0), softmax(x, 1)}, {values});
    for (std::size_t k = 0; k < out.size(); ++k) {
      INFO("output " << k << " " << dtype_name(dtype));
      CHECK(std::isnan(out[k].get_double(5)));
    }
    CHECK(std::isnan(out[0].get_double(2)));
    CHECK(std::isnan(out[1].get_double(2)));
    CHECK(std::isnan(out[2].get_double(3)));
    CHECK(out[0].get_double(0) == doctest::Approx(1 / (1 + std::exp(-1.0))));
  }
}
