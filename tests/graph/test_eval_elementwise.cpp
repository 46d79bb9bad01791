// Tests of the evaluator's elementwise ops against float64 references computed here with
// std:: math, and of the integer and IEEE edge cases listed in docs/ops.md.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;
using damo::test::values_of;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr DType kFloatTypes[] = {DType::Float32, DType::Float64};

double ref_sign(double x) {
  if (std::isnan(x)) return x;
  return x > 0 ? 1 : (x < 0 ? -1 : 0);
}

struct UnaryCase {
  OpKind op;
  double (*ref)(double);
};

const UnaryCase kFloatUnaryCases[] = {
    {OpKind::Neg, [](double x) { return -x; }},
    {OpKind::Abs, [](double x) { return std::fabs(x); }},
    {OpKind::Sign, ref_sign},
    {OpKind::Exp, [](double x) { return std::exp(x); }},
    {OpKind::Expm1, [](double x) { return std::expm1(x); }},
    {OpKind::Log, [](double x) { return std::log(x); }},
    {OpKind::Log1p, [](double x) { return std::log1p(x); }},
    {OpKind::Log2, [](double x) { return std::log2(x); }},
    {OpKind::Log10, [](double x) { return std::log10(x); }},
    {OpKind::Erf, [](double x) { return std::erf(x); }},
    {OpKind::Erfc, [](double x) { return std::erfc(x); }},
    {OpKind::Sqrt, [](double x) { return std::sqrt(x); }},
    {OpKind::Square, [](double x) { return x * x; }},
    {OpKind::Reciprocal, [](double x) { return 1 / x; }},
    {OpKind::Sin, [](double x) { return std::sin(x); }},
    {OpKind::Cos, [](double x) { return std::cos(x); }},
    {OpKind::Tanh, [](double x) { return std::tanh(x); }},
    {OpKind::Sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }},
    {OpKind::Softplus, [](double x) { return std::log1p(std::exp(x)); }},
    {OpKind::Relu, [](double x) { return std::isnan(x) || x > 0 ? x : 0.0; }},
    {OpKind::Floor, [](double x) { return std::floor(x); }},
    {OpKind::Ceil, [](double x) { return std::ceil(x); }},
    {OpKind::Round, [](double x) { return std::nearbyint(x); }},
};

// Special values followed by random ones: 31 elements, an odd length.
std::vector<double> unary_inputs() {
  std::vector<double> values = {kNaN, kInf, -kInf, 0.0,   -0.0, 0.5, 1.5, 2.5,
                                -0.5, -2.5, 1e-8,  -1e-8, 30,   -30, 100};
  std::vector<double> random = values_of(test::random_tensor(DType::Float64, {16}, 7, -5, 5));
  values.insert(values.end(), random.begin(), random.end());
  return values;
}

Tensor tensor_of(const std::vector<double>& values, DType dtype, Dims dims = {}) {
  if (dims.empty() && values.size() != 1) dims = {static_cast<std::int64_t>(values.size())};
  Tensor t = Tensor::empty(dtype, dims);
  for (std::size_t i = 0; i < values.size(); ++i)
    t.set_double(static_cast<std::int64_t>(i), values[i]);
  return t;
}

// Evaluates op(a, b) for values a and b fed as inputs.
Tensor eval_binary_op(OpKind op, const Tensor& a, const Tensor& b) {
  Graph g;
  Expr x = g.input("a", a.dtype(), Shape::from_dims(a.shape()));
  Expr y = g.input("b", b.dtype(), Shape::from_dims(b.shape()));
  return evaluate(binary(op, x, y), {{"a", a}, {"b", b}});
}

Tensor eval_unary_op(OpKind op, const Tensor& a) {
  Graph g;
  Expr x = g.input("a", a.dtype(), Shape::from_dims(a.shape()));
  return evaluate(unary(op, x), {{"a", a}});
}

// The float64 reference of a broadcasting binary op on the values of a and b.
std::vector<double> broadcast_reference(const Tensor& a, const Tensor& b,
                                        double (*ref)(double, double)) {
  Dims dims = test::broadcast_shape(a.shape(), b.shape());
  std::vector<double> out;
  for (std::int64_t i = 0; i < test::numel_of(dims); ++i) {
    Dims index = test::unravel(i, dims);
    out.push_back(ref(a.get_double(test::broadcast_offset(index, a.shape())),
                      b.get_double(test::broadcast_offset(index, b.shape()))));
  }
  return out;
}

}  // namespace

TEST_CASE("eval unary float ops") {
  std::vector<double> inputs = unary_inputs();
  for (DType dtype : kFloatTypes) {
    Tensor x = tensor_of(inputs, dtype);
    for (const UnaryCase& c : kFloatUnaryCases) {
      INFO(op_name(c.op), " ", dtype_name(dtype));
      std::vector<double> expected;
      for (std::int64_t i = 0; i < x.numel(); ++i) expected.push_back(c.ref(x.get_double(i)));
      check_values(eval_unary_op(c.op, x), dtype, x.shape(), expected);
    }
  }
}

TEST_CASE("eval activations built from other ops") {
  // float64 references, with NaN and infinities, over sizes 0, 1, 4 and 7.
  struct Case {
    const char* name;
    Expr (*op)(Expr);
    double (*ref)(double);
  };
  const double pi = 3.14159265358979323846;
  static const double scale = std::sqrt(2.0 / pi);
  const Case cases[] = {
      {"leaky_relu", [](Expr x) { return leaky_relu(x); }, [](double v) { return v > 0 ? v : 0.01 * v; }},
      {"elu", [](Expr x) { return elu(x, 0.5); }, [](double v) { return v > 0 ? v : 0.5 * std::expm1(v); }},
      {"silu", silu, [](double v) { return v / (1 + std::exp(-v)); }},
      {"exact gelu", [](Expr x) { return gelu(x, false); },
       [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
      {"gelu", [](Expr x) { return gelu(x); },
       [](double v) { return 0.5 * v * (1 + std::tanh(scale * (v + 0.044715 * v * v * v))); }},
      {"softsign", softsign, [](double v) { return v / (1 + std::fabs(v)); }},
  };

  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> inputs = {
      {}, {0.75}, {-3.5, -0.25, 0.0, 0.5, 2.0, 1024.0, std::nan("")}, {-inf, inf, 1e-3, 30.0}};
  for (DType dtype : kFloatTypes) {
    for (const Case& c : cases) {
      for (const std::vector<double>& values : inputs) {
        INFO(c.name, " ", dtype_name(dtype), " ", values.size(), " values");
        Tensor x = tensor_of(values, dtype, {static_cast<std::int64_t>(values.size())});
        Graph g;
        Expr in = g.input("a", dtype, Shape::from_dims(x.shape()));
        std::vector<double> expected;
        for (double v : values) expected.push_back(c.ref(static_cast<double>(dtype == DType::Float32 ? static_cast<float>(v) : v)));
        check_values(evaluate(c.op(in), {{"a", x}}), dtype, x.shape(), expected);
      }
    }
  }

  // Integers become the default float first, and log2 of a power of two is exact.
  Graph g;
  CHECK(evaluate(log2(g.constant(Tensor::from_list({8, 1024}, DType::Int32)))).dtype() == DType::Float32);
  CHECK(evaluate(log2(g.constant(Tensor::from_list({8.0, 1024.0}, DType::Float32)))).get_double(1) == 10.0);
}

TEST_CASE("eval logaddexp") {
  // Broadcast operands, with ties, infinities and values whose exp overflows.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor a = tensor_of({1000, 0, -inf, inf, 2, 1e-300}, DType::Float64, {2, 3});
  Tensor b = tensor_of({1000, 1, -inf}, DType::Float64, {3});
  Graph g;
  Expr x = g.input("a", DType::Float64, {2, 3});
  Expr y = g.input("b", DType::Float64, {3});
  std::vector<double> expected = broadcast_reference(a, b, [](double u, double v) {
    if (u == v) return u + std::log(2.0);
    return std::max(u, v) + std::log1p(std::exp(-std::fabs(u - v)));
  });
  CHECK(expected[0] == doctest::Approx(1000 + std::log(2.0)));
  check_values(evaluate(logaddexp(x, y), {{"a", a}, {"b", b}}), DType::Float64, Dims{2, 3}, expected);
}

TEST_CASE("eval logaddexp ties near the largest float") {
  // a + b overflows at these ties, but a + log(2) rounds to a.
  Graph g;
  Expr x = g.input("x", DType::Float64, {3});
  Tensor values = tensor_of({1e308, -1.5e308, 8.98846567431158e307}, DType::Float64, {3});
  check_values(evaluate(logaddexp(x, x), {{"x", values}}), DType::Float64, Dims{3},
               {1e308, -1.5e308, 8.98846567431158e307});
  Expr y = g.input("y", DType::Float32, {2});
  Tensor single = tensor_of({3e38, -3e38}, DType::Float32, {2});
  check_values(evaluate(logaddexp(y, y), {{"y", single}}), DType::Float32, Dims{2}, {3e38f, -3e38f});
}

TEST_CASE("eval unary signed zeros and rounding") {
  for (DType dtype : kFloatTypes) {
    INFO(dtype_name(dtype));
    Tensor minus_zero = tensor_of({-0.0}, dtype);
    CHECK(!std::signbit(eval_unary_op(OpKind::Abs, minus_zero).item()));
    CHECK(!std::signbit(eval_unary_op(OpKind::Relu, minus_zero).item()));
    CHECK(!std::signbit(eval_unary_op(OpKind::Sign, minus_zero).item()));
    CHECK(std::signbit(eval_unary_op(OpKind::Neg, tensor_of({0.0}, dtype)).item()));
    CHECK(!std::signbit(eval_unary_op(OpKind::Relu, tensor_of({-3.0}, dtype)).item()));
    CHECK(std::isnan(eval_unary_op(OpKind::Relu, tensor_of({kNaN}, dtype)).item()));
    CHECK(std::isnan(eval_unary_op(OpKind::Sign, tensor_of({kNaN}, dtype)).item()));

    Tensor halves =
        eval_unary_op(OpKind::Round, tensor_of({0.5, 1.5, 2.5, -0.5, -2.5, 3.5}, dtype));
    CHECK(values_of(halves) == std::vector<double>{0, 2, 2, -0.0, -2, 4});
    CHECK(std::signbit(halves.get_double(3)));
  }
}

TEST_CASE("eval softplus and sigmoid extremes") {
  Tensor x = tensor_of({-1000, -100, 100, 1000}, DType::Float32);
  Tensor softplus = eval_unary_op(OpKind::Softplus, x);
  CHECK(softplus.get_double(0) == 0.0);
  CHECK(softplus.get_double(1) == doctest::Approx(std::exp(-100.0)).epsilon(1e-5));
  CHECK(softplus.get_double(2) == 100.0);
  CHECK(softplus.get_double(3) == 1000.0);
  Tensor sigmoid = eval_unary_op(OpKind::Sigmoid, x);
  CHECK(sigmoid.get_double(0) == 0.0);
  CHECK(sigmoid.get_double(3) == 1.0);
  // Between the float32 overflow of exp(-x) and the subnormal limit, sigmoid is e^x, a
  // subnormal float32, not 0.
  Tensor tiny = eval_unary_op(OpKind::Sigmoid, tensor_of({-88.9, -100}, DType::Float32));
  CHECK(tiny.get_double(0) == doctest::Approx(std::exp(static_cast<double>(-88.9f))).epsilon(1e-5));
  CHECK(tiny.get_double(1) == doctest::Approx(std::exp(-100.0)).epsilon(1e-3));
}

namespace {

// Wraps v into the two's complement range of T.
template <class T>
T wrapped(__int128 v) {
  constexpr int bits = 8 * sizeof(T);
  __int128 modulus = static_cast<__int128>(1) << bits;
  v %= modulus;
  if (v < 0) v += modulus;
  if (v >= modulus / 2) v -= modulus;
  return static_cast<T>(v);
}

template <class T>
Tensor int_tensor(const std::vector<T>& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

template <class T>
void check_integer_unary() {
  const T lo = std::numeric_limits<T>::min();
  const T hi = std::numeric_limits<T>::max();
  std::vector<T> values = {lo, static_cast<T>(lo + 1), -7, -1, 0, 1, 5, 46341, hi};
  Tensor x = int_tensor(values);
  Tensor neg = eval_unary_op(OpKind::Neg, x);
  Tensor abs = eval_unary_op(OpKind::Abs, x);
  Tensor sign = eval_unary_op(OpKind::Sign, x);
  Tensor square = eval_unary_op(OpKind::Square, x);
  Tensor relu = eval_unary_op(OpKind::Relu, x);
  for (std::size_t i = 0; i < values.size(); ++i) {
    __int128 v = values[i];
    INFO("value ", static_cast<long long>(values[i]));
    CHECK(neg.data<T>()[i] == wrapped<T>(-v));
    CHECK(abs.data<T>()[i] == wrapped<T>(v < 0 ? -v : v));
    CHECK(sign.data<T>()[i] == static_cast<T>(v > 0 ? 1 : (v < 0 ? -1 : 0)));
    CHECK(square.data<T>()[i] == wrapped<T>(v * v));
    CHECK(relu.data<T>()[i] == static_cast<T>(v > 0 ? v : 0));
  }
  CHECK(neg.data<T>()[0] == lo);
  CHECK(abs.data<T>()[0] == lo);
}

}  // namespace

TEST_CASE("eval integer unary ops wrap") {
  check_integer_unary<std::int32_t>();
  check_integer_unary<std::int64_t>();
}

TEST_CASE("eval binary float ops broadcast") {
  struct BinaryCase {
    OpKind op;
    double (*ref)(double, double);
  };
  const BinaryCase cases[] = {
      {OpKind::Add, [](double a, double b) { return a + b; }},
      {OpKind::Sub, [](double a, double b) { return a - b; }},
      {OpKind::Mul, [](double a, double b) { return a * b; }},
      {OpKind::Div, [](double a, double b) { return a / b; }},
      {OpKind::FloorDiv, [](double a, double b) { return std::floor(a / b); }},
      {OpKind::Mod, [](double a, double b) { return a - b * std::floor(a / b); }},
      {OpKind::Pow, [](double a, double b) { return std::pow(a, b); }},
      {OpKind::Maximum, [](double a, double b) { return a > b ? a : b; }},
      {OpKind::Minimum, [](double a, double b) { return a < b ? a : b; }},
  };
  for (DType dtype : kFloatTypes) {
    Tensor a = test::random_tensor(dtype, {1, 7}, 1);
    Tensor b = test::random_tensor(dtype, {17, 1}, 2);
    for (const BinaryCase& c : cases) {
      INFO(op_name(c.op), " ", dtype_name(dtype));
      // pow gets positive bases so that every result is a real number.
      Tensor left = c.op == OpKind::Pow ? eval_unary_op(OpKind::Abs, a) : a;
      check_values(eval_binary_op(c.op, left, b), dtype, {17, 7},
                   broadcast_reference(left, b, c.ref));
      check_values(eval_binary_op(c.op, b, left), dtype, {17, 7},
                   broadcast_reference(b, left, c.ref));
    }
  }
}

TEST_CASE("eval binary broadcast of sizes 0 and 1") {
  struct ShapeCase {
    Dims a, b, out;
  };
  const ShapeCase cases[] = {
      {{0}, {1}, {0}},          {{1}, {1}, {1}},
      {{}, {5}, {5}},           {{5, 0, 3}, {3}, {5, 0, 3}},
      {{1, 1}, {1}, {1, 1}},    {{4, 1, 3}, {1, 5, 1}, {4, 5, 3}},
      {{2, 1}, {2, 0}, {2, 0}}, {{}, {}, {}},
  };
  for (const ShapeCase& c : cases) {
    INFO(dims_to_string(c.a), " + ", dims_to_string(c.b));
    Tensor a = test::random_tensor(DType::Float64, c.a, 3);
    Tensor b = test::random_tensor(DType::Float64, c.b, 4);
    check_values(eval_binary_op(OpKind::Add, a, b), DType::Float64, c.out,
                 broadcast_reference(a, b, [](double x, double y) { return x + y; }));
  }
}

TEST_CASE("eval float floor_div and mod follow NumPy") {
  // a, b, a // b, a % b as Python's float operators give them. Python raises on division
  // by zero, so those rows follow NumPy: a / b and NaN.
  const double cases[][4] = {
      {5, 3, 1, 2},         {-5, 3, -2, 1},        {5, -3, -2, -1},
      {-5, -3, 1, -2},      {6, 3, 2, 0},          {-6, 3, -2, 0},
      {6, -3, -2, -0.0},    {5, 0, kInf, kNaN},    {-5, 0, -kInf, kNaN},
      {0, 0, kNaN, kNaN},   {kInf, 3, kNaN, kNaN}, {5, kInf, 0, 5},
      {-5, kInf, -1, kInf}, {kNaN, 3, kNaN, kNaN}, {0.7, 0.1, 6, 0.09999999999999992},
      {-0.0, 3, -0.0, 0},
  };
  for (DType dtype : kFloatTypes) {
    for (const auto& c : cases) {
      INFO(dtype_name(dtype), " ", c[0], " and ", c[1]);
      Tensor a = tensor_of({c[0]}, dtype);
      Tensor b = tensor_of({c[1]}, dtype);
      double quotient = eval_binary_op(OpKind::FloorDiv, a, b).item();
      double remainder = eval_binary_op(OpKind::Mod, a, b).item();
      CHECK(test::close_to(quotient, c[2], {1e-6, 1e-6}));
      CHECK(test::close_to(remainder, c[3], {1e-6, 1e-6}));
      if (c[2] == 0) CHECK(std::signbit(quotient) == std::signbit(c[2]));
      if (c[3] == 0) CHECK(std::signbit(remainder) == std::signbit(c[3]));
    }
  }

  // float64 cases where (a - fmod(a, b)) / b lands just below an integer, such as
  // 2.9999999999999996, so the quotient must be rounded rather than floored.
  const double rounding[][4] = {
      {5.94, 1.9, 3, 0.24000000000000066},
      {4.08, 0.05, 81, 0.029999999999999846},
      {-8.5, 0.81, -11, 0.4100000000000006},
  };
  for (const auto& c : rounding) {
    INFO(c[0], " and ", c[1]);
    Tensor a = tensor_of({c[0]}, DType::Float64);
    Tensor b = tensor_of({c[1]}, DType::Float64);
    CHECK(eval_binary_op(OpKind::FloorDiv, a, b).item() == c[2]);
    CHECK(eval_binary_op(OpKind::Mod, a, b).item() == c[3]);
  }
}

namespace {

template <class T>
void check_integer_division() {
  const std::int64_t lo = std::numeric_limits<T>::min();
  const std::int64_t hi = std::numeric_limits<T>::max();
  // a, b, a // b, a % b with Python's semantics, 0 for division by zero, wrapping for
  // min // -1; the other values are Python's.
  const std::int64_t third =
      lo == std::numeric_limits<std::int64_t>::min() ? -3074457345618258603LL : -715827883LL;
  const std::vector<std::array<std::int64_t, 4>> cases = {
      {7, 2, 3, 1},      {-7, 2, -4, 1},      {7, -2, -4, -1}, {-7, -2, 3, -1},
      {7, 0, 0, 0},      {0, 0, 0, 0},        {-7, 0, 0, 0},   {lo, -1, lo, 0},
      {lo, 1, lo, 0},    {hi, -1, -hi, 0},    {6, 3, 2, 0},    {-6, 3, -2, 0},
      {lo, 3, third, 1}, {hi, -3, third, -2}, {lo, lo, 1, 0},  {5, lo, -1, lo + 5},
  };
  std::vector<T> a, b;
  for (const auto& c : cases) {
    a.push_back(static_cast<T>(c[0]));
    b.push_back(static_cast<T>(c[1]));
  }
  Tensor quotient = eval_binary_op(OpKind::FloorDiv, int_tensor(a), int_tensor(b));
  Tensor remainder = eval_binary_op(OpKind::Mod, int_tensor(a), int_tensor(b));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i][0], " and ", cases[i][1]);
    CHECK(quotient.data<T>()[i] == static_cast<T>(cases[i][2]));
    CHECK(remainder.data<T>()[i] == static_cast<T>(cases[i][3]));
  }
}

template <class T>
void check_integer_pow_and_wrapping() {
  const std::int64_t lo = std::numeric_limits<T>::min();
  const std::int64_t hi = std::numeric_limits<T>::max();
  const bool wide = sizeof(T) == 8;
  // base, exponent, result; the wrapped powers were computed with Python modulo 2**bits.
  const std::vector<std::array<std::int64_t, 3>> cases = {
      {2, 10, 1024},
      {3, 0, 1},
      {0, 0, 1},
      {0, 5, 0},
      {-2, 3, -8},
      {2, wide ? 63 : 31, lo},
      {2, wide ? 64 : 32, 0},
      {3, 40, wide ? -6289078614652622815LL : 689956897LL},
      {-3, 41, wide ? 420491770248316829LL : -2069870691LL},
      {2, -1, 0},
      {1, -5, 1},
      {-1, -3, -1},
      {-1, -4, 1},
      {0, -1, 0},
      {-2, -1, 0},
      {7, 1, 7},
      {lo, 2, 0},
  };
  std::vector<T> base, exponent;
  for (const auto& c : cases) {
    base.push_back(static_cast<T>(c[0]));
    exponent.push_back(static_cast<T>(c[1]));
  }
  Tensor power = eval_binary_op(OpKind::Pow, int_tensor(base), int_tensor(exponent));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i][0], " ** ", cases[i][1]);
    CHECK(power.data<T>()[i] == static_cast<T>(cases[i][2]));
  }

  Tensor a = int_tensor(std::vector<T>{static_cast<T>(hi), static_cast<T>(lo), static_cast<T>(hi),
                                       static_cast<T>(lo)});
  Tensor b = int_tensor(std::vector<T>{1, 1, 2, -1});
  CHECK(eval_binary_op(OpKind::Add, a, b).data<T>()[0] == static_cast<T>(lo));
  CHECK(eval_binary_op(OpKind::Sub, a, b).data<T>()[1] == static_cast<T>(hi));
  CHECK(eval_binary_op(OpKind::Mul, a, b).data<T>()[2] == static_cast<T>(-2));
  CHECK(eval_binary_op(OpKind::Mul, a, b).data<T>()[3] == static_cast<T>(lo));
}

}  // namespace

TEST_CASE("eval integer floor_div and mod") {
  check_integer_division<std::int32_t>();
  check_integer_division<std::int64_t>();
}

TEST_CASE("eval integer pow and wrapping") {
  check_integer_pow_and_wrapping<std::int32_t>();
  check_integer_pow_and_wrapping<std::int64_t>();
}

TEST_CASE("eval integer binary ops broadcast") {
  Tensor a = test::random_tensor(DType::Int64, {1, 7}, 5, -20, 20);
  Tensor b = test::random_tensor(DType::Int64, {17, 1}, 6, -20, 20);
  auto floor_div = [](double x, double y) { return y == 0 ? 0.0 : std::floor(x / y); };
  auto mod = [](double x, double y) { return y == 0 ? 0.0 : x - y * std::floor(x / y); };
  check_values(eval_binary_op(OpKind::FloorDiv, a, b), DType::Int64, {17, 7},
               broadcast_reference(a, b, floor_div));
  check_values(eval_binary_op(OpKind::Mod, a, b), DType::Int64, {17, 7},
               broadcast_reference(a, b, mod));
  check_values(eval_binary_op(OpKind::Maximum, a, b), DType::Int64, {17, 7},
               broadcast_reference(a, b, [](double x, double y) { return std::max(x, y); }));
  check_values(eval_binary_op(OpKind::Sub, b, a), DType::Int64, {17, 7},
               broadcast_reference(b, a, [](double x, double y) { return x - y; }));
}

TEST_CASE("eval maximum and minimum propagate NaN and order zeros") {
  // a, b, maximum, minimum
  const double cases[][4] = {
      {kNaN, 1, kNaN, kNaN},  {1, kNaN, kNaN, kNaN}, {-0.0, 0.0, 0.0, -0.0},
      {0.0, -0.0, 0.0, -0.0}, {kInf, 1, kInf, 1},    {-kInf, 1, 1, -kInf},
  };
  for (DType dtype : kFloatTypes) {
    for (const auto& c : cases) {
      INFO(dtype_name(dtype), " ", c[0], " and ", c[1]);
      Tensor a = tensor_of({c[0]}, dtype);
      Tensor b = tensor_of({c[1]}, dtype);
      double max = eval_binary_op(OpKind::Maximum, a, b).item();
      double min = eval_binary_op(OpKind::Minimum, a, b).item();
      CHECK(test::close_to(max, c[2], {0, 0}));
      CHECK(test::close_to(min, c[3], {0, 0}));
      CHECK(std::signbit(max) == std::signbit(c[2]));
      CHECK(std::signbit(min) == std::signbit(c[3]));
    }
  }
}

TEST_CASE("eval comparisons and logic") {
  struct CompareCase {
    OpKind op;
    bool (*ref)(double, double);
  };
  const CompareCase cases[] = {
      {OpKind::Eq, [](double a, double b) { return a == b; }},
      {OpKind::Ne, [](double a, double b) { return a != b; }},
      {OpKind::Lt, [](double a, double b) { return a < b; }},
      {OpKind::Le, [](double a, double b) { return a <= b; }},
      {OpKind::Gt, [](double a, double b) { return a > b; }},
      {OpKind::Ge, [](double a, double b) { return a >= b; }},
  };
  std::vector<double> left = {kNaN, 1, 2, -0.0, kInf, 3, -1};
  std::vector<double> right = {kNaN, 1, 0.0, 2, -kInf};
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    std::vector<double> l = left, r = right;
    if (!is_float(dtype)) l[0] = r[0] = 4, l[4] = 9, r[4] = -9;
    Tensor a = tensor_of(l, dtype, {1, 7});
    Tensor b = tensor_of(r, dtype, {5, 1});
    for (const CompareCase& c : cases) {
      INFO(op_name(c.op), " ", dtype_name(dtype));
      std::vector<double> expected;
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 7; ++j) expected.push_back(c.ref(l[j], r[i]) ? 1 : 0);
      check_values(eval_binary_op(c.op, a, b), DType::Bool, {5, 7}, expected);
    }
  }

  Tensor p = tensor_of({0, 1}, DType::Bool, {1, 2});
  Tensor q = tensor_of({0, 1}, DType::Bool, {2, 1});
  check_values(eval_binary_op(OpKind::And, p, q), DType::Bool, {2, 2}, {0, 0, 0, 1});
  check_values(eval_binary_op(OpKind::Or, p, q), DType::Bool, {2, 2}, {0, 1, 1, 1});
  check_values(eval_binary_op(OpKind::Maximum, p, q), DType::Bool, {2, 2}, {0, 1, 1, 1});
  check_values(eval_binary_op(OpKind::Minimum, p, q), DType::Bool, {2, 2}, {0, 0, 0, 1});
}

TEST_CASE("eval not, isnan and isinf") {
  for (DType dtype : kFloatTypes) {
    Tensor x = tensor_of({0.0, -0.0, kNaN, 2, kInf, -kInf}, dtype);
    check_values(eval_unary_op(OpKind::Not, x), DType::Bool, {6}, {1, 1, 0, 0, 0, 0});
    check_values(eval_unary_op(OpKind::IsNan, x), DType::Bool, {6}, {0, 0, 1, 0, 0, 0});
    check_values(eval_unary_op(OpKind::IsInf, x), DType::Bool, {6}, {0, 0, 0, 0, 1, 1});
  }
  Tensor i = tensor_of({0, 3, -1}, DType::Int32);
  check_values(eval_unary_op(OpKind::Not, i), DType::Bool, {3}, {1, 0, 0});
  check_values(eval_unary_op(OpKind::IsNan, i), DType::Bool, {3}, {0, 0, 0});
  check_values(eval_unary_op(OpKind::IsInf, i), DType::Bool, {3}, {0, 0, 0});
  check_values(eval_unary_op(OpKind::Not, tensor_of({0, 1}, DType::Bool)), DType::Bool, {2},
               {1, 0});
}

TEST_CASE("eval cast saturates and maps NaN to zero") {
  Graph g;
  Tensor values = tensor_of({kNaN, 1e10, -1e10, 2.7, -2.7, kInf, -kInf, -0.0, 0.1}, DType::Float64);
  Expr x = g.input("x", DType::Float64, Shape{9});
  const double i32_max = std::numeric_limits<std::int32_t>::max();
  const double i32_min = std::numeric_limits<std::int32_t>::min();
  check_values(evaluate(cast(x, DType::Int32), {{"x", values}}), DType::Int32, {9},
               {0, i32_max, i32_min, 2, -2, i32_max, i32_min, 0, 0});
  check_values(evaluate(cast(x, DType::Bool), {{"x", values}}), DType::Bool, {9},
               {1, 1, 1, 1, 1, 1, 1, 0, 1});
  check_values(evaluate(cast(x, DType::Float32), {{"x", values}}), DType::Float32, {9},
               {kNaN, 1e10, -1e10, 2.7, -2.7, kInf, -kInf, 0, 0.1});

  Tensor big = Tensor::from_vector(std::vector<std::int64_t>{(1LL << 32) + 5, -1}, {2});
  Expr y = g.input("y", DType::Int64, Shape{2});
  check_values(evaluate(cast(y, DType::Int32), {{"y", big}}), DType::Int32, {2}, {5, -1});
}

TEST_CASE("eval where and clip broadcast") {
  for (DType dtype : kFloatTypes) {
    INFO(dtype_name(dtype));
    Graph g;
    Tensor cond = tensor_of({1, 0, 0, 1, 1}, DType::Bool, {5, 1});
    Tensor a = test::random_tensor(dtype, {1, 7}, 8);
    Tensor lo = tensor_of({-1}, dtype);
    Tensor hi = test::random_tensor(dtype, {1, 7}, 9, 0, 2);
    Expr c = g.input("c", DType::Bool, Shape{5, 1});
    Expr x = g.input("x", dtype, Shape{1, 7});
    Expr h = g.input("h", dtype, Shape{1, 7});
    Expr l = g.constant(lo);
    Feeds feeds = {{"c", cond}, {"x", a}, {"h", hi}};

    std::vector<double> expected;
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 7; ++j)
        expected.push_back(cond.get_double(i) != 0 ? a.get_double(j) : -1.0);
    check_values(evaluate(where(c, x, l), feeds), dtype, {5, 7}, expected);

    Tensor big = test::random_tensor(dtype, {5, 7}, 10, -3, 3);
    big.set_double(3, kNaN);
    Expr b = g.input("b", dtype, Shape{5, 7});
    feeds["b"] = big;
    expected.clear();
    for (int i = 0; i < 35; ++i) {
      double v = big.get_double(i);
      double top = hi.get_double(i % 7);
      expected.push_back(std::isnan(v) ? v : std::min(std::max(v, -1.0), top));
    }
    check_values(evaluate(clip(b, l, h), feeds), dtype, {5, 7}, expected);
  }

  // A low bound above the high bound gives the high bound, as minimum(maximum(x, lo), hi).
  Graph g;
  Expr i = g.input("i", DType::Int32, Shape{3});
  Tensor values = tensor_of({-5, 0, 5}, DType::Int32);
  check_values(
      evaluate(clip(i, g.scalar(-2, DType::Int32), g.scalar(2, DType::Int32)), {{"i", values}}),
      DType::Int32, {3}, {-2, 0, 2});
  check_values(
      evaluate(clip(i, g.scalar(3, DType::Int32), g.scalar(1, DType::Int32)), {{"i", values}}),
      DType::Int32, {3}, {1, 1, 1});
}

TEST_CASE("eval elementwise speed on a million elements") {
  Graph g;
  Expr x = g.input("x", DType::Float32, Shape{1000, 1000});
  Expr y = g.input("y", DType::Float32, Shape{1000, 1000});
  Expr row = g.input("r", DType::Float32, Shape{1, 1000});
  Feeds feeds = {{"x", test::random_tensor(DType::Float32, {1000, 1000}, 11)},
                 {"y", test::random_tensor(DType::Float32, {1000, 1000}, 12)},
                 {"r", test::random_tensor(DType::Float32, {1, 1000}, 13)}};

  auto start = std::chrono::steady_clock::now();
  Tensor sum = evaluate(x + y, feeds);
  Tensor broadcast = evaluate(x * row, feeds);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("two 1e6-element float32 ops took ", ms, " ms");
  CHECK(sum.get_double(123456) ==
        doctest::Approx(feeds["x"].get_double(123456) + feeds["y"].get_double(123456)));
  CHECK(broadcast.get_double(2001) ==
        doctest::Approx(feeds["x"].get_double(2001) * feeds["r"].get_double(1)));
#ifdef NDEBUG
  // Generous for a shared machine: in an optimized build each op takes a few milliseconds.
  CHECK(ms < 250);
#endif
}
