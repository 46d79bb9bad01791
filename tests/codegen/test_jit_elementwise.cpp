// Every elementwise op compiled by the JIT against the reference evaluator, in each dtype
// it accepts, with broadcasting, special values and sizes 0, 1, 7, 17 and 1000.
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include "damo/graph/autodiff.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

const std::vector<std::int64_t> kSizes = {0, 1, 7, 17, 1000};

// Random values with NaN, infinities, signed zeros and extremes mixed in for floats, and
// zero, -1 and the integer extremes for integers.
Tensor special_tensor(DType dtype, const Dims& shape, std::mt19937_64& rng) {
  Tensor t = random_tensor(dtype, shape, rng);
  std::vector<double> specials;
  if (is_float(dtype)) {
    double inf = std::numeric_limits<double>::infinity();
    specials = {std::nan(""), inf, -inf, 0.0, -0.0, 1e30, -1e-30, 0.5, -2.5, 88.0, -100.0};
  } else if (is_integer(dtype)) {
    double low = dtype == DType::Int32 ? -2147483648.0 : -9223372036854775808.0;
    specials = {0, -1, 1, low, -low - 1};
  }
  for (std::size_t i = 0; i < specials.size() && static_cast<std::int64_t>(i) < t.numel(); ++i)
    t.set_double(static_cast<std::int64_t>(i) * 3 % t.numel(), specials[i]);
  return t;
}

const std::vector<OpKind> kFloatUnary = {
    OpKind::Neg,  OpKind::Abs,      OpKind::Sign,       OpKind::Exp,    OpKind::Expm1,
    OpKind::Log,  OpKind::Log1p,    OpKind::Sqrt,       OpKind::Square, OpKind::Reciprocal,
    OpKind::Sin,  OpKind::Cos,      OpKind::Tanh,       OpKind::Sigmoid, OpKind::Softplus,
    OpKind::Relu, OpKind::Floor,    OpKind::Ceil,       OpKind::Round,  OpKind::IsNan,
    OpKind::IsInf, OpKind::Not, OpKind::StopGradient, OpKind::Log2, OpKind::Log10, OpKind::Erf,
    OpKind::Erfc};

const std::vector<OpKind> kIntegerUnary = {OpKind::Neg,   OpKind::Abs,   OpKind::Sign, OpKind::Square,
                                           OpKind::Relu,  OpKind::IsNan, OpKind::IsInf, OpKind::Not};

const std::vector<OpKind> kArithmetic = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                         OpKind::FloorDiv, OpKind::Mod, OpKind::Pow,
                                         OpKind::Maximum, OpKind::Minimum};
const std::vector<OpKind> kComparisons = {OpKind::Eq, OpKind::Ne, OpKind::Lt,
                                          OpKind::Le, OpKind::Gt, OpKind::Ge};

}  // namespace

TEST_CASE("jit float unary ops") {
  std::mt19937_64 rng(7);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {"n"});
    for (OpKind op : kFloatUnary) {
      for (std::int64_t n : kSizes) {
        Tensor value = special_tensor(dtype, {n}, rng);
        check_jit_matches_reference({x}, {unary(op, x)}, {value},
                                    fmt::format("{} {} n={}", op_name(op), dtype_name(dtype), n));
      }
    }
  }
}

TEST_CASE("jit activations built from other ops") {
  std::mt19937_64 rng(8);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {"n"});
    std::vector<Expr> outputs = {leaky_relu(x, 0.2), elu(x),      silu(x), gelu(x),
                                 gelu(x, false),     softsign(x), log2(x), log10(x)};
    for (std::int64_t n : kSizes)
      check_jit_matches_reference({x}, outputs, {special_tensor(dtype, {n}, rng)},
                                  fmt::format("{} n={}", dtype_name(dtype), n));
  }
}

TEST_CASE("jit f32 gelu keeps digits for negative x") {
  // 0.5 x (1 + tanh(u)) evaluated in f32 is 0.2% off at x = -4, where tanh(u) is near -1.
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  // The exact form, 0.5 x (1 + erf(x / sqrt(2))), is 4% off at x = -5 the same way.
  Function f = compile({x}, {gelu(x), gelu(x, false)});
  const double scale = std::sqrt(2.0 / std::numbers::pi);
  Tensor in = Tensor::empty(DType::Float32, {33});
  for (std::int64_t i = 0; i < 33; ++i) in.set_double(i, -6.0 + 0.125 * static_cast<double>(i));
  std::vector<Tensor> out = f({in});
  for (std::int64_t i = 0; i < 33; ++i) {
    double v = in.get_double(i);
    double approximate = 0.5 * v * (1 + std::tanh(scale * (v + 0.044715 * v * v * v)));
    double exact = 0.5 * v * std::erfc(-v / std::numbers::sqrt2);
    INFO("x = " << v);
    CHECK(std::fabs(out[0].get_double(i) - approximate) <= 1e-5 * std::fabs(approximate));
    CHECK(std::fabs(out[1].get_double(i) - exact) <= 1e-5 * std::fabs(exact));
  }
}

TEST_CASE("jit log2 and log10 of powers are exact") {
  // 40 values, so that vector loops run: 10^k and 2^k give k exactly in both float dtypes,
  // for every k whose power of ten is an exact double (libmvec's 4-lane log10 misses 1e7).
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {"n"});
    Function f = compile({x}, {log10(x), log2(x)});
    Tensor tens = Tensor::empty(dtype, {40});
    Tensor twos = Tensor::empty(dtype, {40});
    for (std::int64_t i = 0; i < 40; ++i) {
      tens.set_double(i, std::pow(10.0, static_cast<double>(i % 23)));
      twos.set_double(i, std::ldexp(1.0, static_cast<int>(i) - 20));
    }
    Tensor decimal = f({tens})[0];
    Tensor binary = f({twos})[1];
    for (std::int64_t i = 0; i < 40; ++i) {
      INFO(dtype_name(dtype) << " element " << i);
      CHECK(decimal.get_double(i) == static_cast<double>(i % 23));
      CHECK(binary.get_double(i) == static_cast<double>(i - 20));
    }
  }
}

TEST_CASE("jit integer unary ops") {
  std::mt19937_64 rng(8);
  for (DType dtype : {DType::Int32, DType::Int64}) {
    Graph g;
    Expr x = g.input("x", dtype, {"n"});
    for (OpKind op : kIntegerUnary)
      for (std::int64_t n : kSizes)
        check_jit_matches_reference({x}, {unary(op, x)}, {special_tensor(dtype, {n}, rng)},
                                    fmt::format("{} {} n={}", op_name(op), dtype_name(dtype), n));
  }
}

TEST_CASE("jit casts between every dtype pair") {
  std::mt19937_64 rng(9);
  for (DType from : kAllDTypes) {
    Graph g;
    Expr x = g.input("x", from, {"n"});
    for (DType to : kAllDTypes) {
      Tensor value = special_tensor(from, {17}, rng);
      check_jit_matches_reference({x}, {cast(x, to)}, {value},
                                  fmt::format("cast {} to {}", dtype_name(from), dtype_name(to)));
    }
  }
}

TEST_CASE("jit float to integer casts saturate at the limits") {
  const double inf = std::numeric_limits<double>::infinity();
  // Values at and around each integer type's limits, in float32 and float64.
  const std::vector<double> limits = {
      std::nan(""), inf, -inf, -0.0, 0.9, -0.9, 2147483520.0, 2147483647.5, 2147483648.0,
      -2147483648.0, -2147483648.5, -2147483649.5, -2147483904.0, 9223372036854774784.0,
      9223372036854775808.0, -9223372036854775808.0, -9223373136366403584.0, 1e30, -1e30};
  for (DType from : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", from, {"n"});
    // 1000 values go through the vector loop, with each limit repeated along it.
    Tensor value = Tensor::empty(from, {1000});
    for (std::int64_t i = 0; i < value.numel(); ++i)
      value.set_double(i, limits[static_cast<std::size_t>(i) % limits.size()]);
    for (DType to : {DType::Int32, DType::Int64})
      check_jit_matches_reference({x}, {cast(x, to)}, {value},
                                  fmt::format("cast {} to {} at the limits", dtype_name(from), dtype_name(to)));
  }
}

TEST_CASE("jit binary ops with broadcasting") {
  std::mt19937_64 rng(10);
  struct ShapePair {
    Shape a, b;
    Dims da, db;
  };
  std::vector<ShapePair> pairs = {
      {{"n"}, {"n"}, {17}, {17}},
      {{1, "n"}, {"m", 1}, {1, 7}, {5, 1}},
      {{}, {"n"}, {}, {1000}},
      {{"m", "n"}, {"n"}, {3, 17}, {17}},
      {{"n"}, {"n"}, {0}, {0}},
      {{"m", 1, "n"}, {"k", 1}, {2, 1, 3}, {4, 1}},
  };
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    std::vector<OpKind> ops = kArithmetic;
    ops.insert(ops.end(), kComparisons.begin(), kComparisons.end());
    for (const ShapePair& p : pairs) {
      Graph g;
      Expr a = g.input("a", dtype, p.a);
      Expr b = g.input("b", dtype, p.b);
      for (OpKind op : ops) {
        Tensor va = special_tensor(dtype, p.da, rng);
        Tensor vb = special_tensor(dtype, p.db, rng);
        check_jit_matches_reference({a, b}, {binary(op, a, b)}, {va, vb},
                                    fmt::format("{} {} {} {}", op_name(op), dtype_name(dtype),
                                                p.a.to_string(), p.b.to_string()));
      }
    }
  }
}

TEST_CASE("jit logical ops and bool arithmetic") {
  std::mt19937_64 rng(11);
  Graph g;
  Expr a = g.input("a", DType::Bool, {"n"});
  Expr b = g.input("b", DType::Bool, {"n"});
  for (OpKind op : {OpKind::And, OpKind::Or, OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Maximum,
                    OpKind::Minimum, OpKind::Add, OpKind::Mul}) {
    check_jit_matches_reference({a, b}, {binary(op, a, b)},
                                {random_tensor(DType::Bool, {17}, rng), random_tensor(DType::Bool, {17}, rng)},
                                std::string(op_name(op)));
  }
  check_jit_matches_reference({a}, {!a}, {random_tensor(DType::Bool, {7}, rng)}, "not");
}

TEST_CASE("jit where and clip") {
  std::mt19937_64 rng(12);
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    Graph g;
    Expr c = g.input("c", DType::Bool, {"m", 1});
    Expr x = g.input("x", dtype, {"n"});
    Expr y = g.input("y", dtype, {"m", "n"});
    std::vector<Tensor> args = {random_tensor(DType::Bool, {5, 1}, rng), special_tensor(dtype, {7}, rng),
                                special_tensor(dtype, {5, 7}, rng)};
    check_jit_matches_reference({c, x, y}, {where(c, x, y)}, args, fmt::format("where {}", dtype_name(dtype)));
    check_jit_matches_reference({c, x, y}, {clip(y, x, x + 3)}, args, fmt::format("clip {}", dtype_name(dtype)));
  }
}

TEST_CASE("jit fused elementwise body") {
  std::mt19937_64 rng(13);
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 4});
  Expr b = g.input("b", DType::Float32, {4});
  Expr p0 = param(g, 0, DType::Float32);
  Expr p1 = param(g, 1, DType::Float32);
  Expr body = sigmoid(p0 + p1) * 2.0 - tanh(p1);
  Expr fused = fused_elementwise(body, {x, b});
  for (std::int64_t n : kSizes)
    check_jit_matches_reference({x, b}, {fused},
                                {random_tensor(DType::Float32, {n, 4}, rng), random_tensor(DType::Float32, {4}, rng)},
                                fmt::format("fused n={}", n));
}

TEST_CASE("jit gradients of extremes with NaN operands") {
  // The compiled gradients of maximum, minimum, max and min agree with the reference where
  // NaN operands decide which elements get the gradient.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Graph g;
  Expr a = g.input("a", DType::Float64, {"n"});
  Expr b = g.input("b", DType::Float64, {"n"});
  std::vector<Expr> outputs;
  for (Expr gradient : grad(sum(maximum(a, b)) + sum(minimum(a, b) * 3.0), {a, b})) outputs.push_back(gradient);
  outputs.push_back(grad(max(a) + min(b), {a})[0]);
  outputs.push_back(grad(max(a) * 2.0 + min(b), {b})[0]);
  Tensor left = Tensor::from_vector<double>({1, 2, nan, nan, 5, 4, nan}, {7});
  Tensor right = Tensor::from_vector<double>({1, nan, 3, nan, 2, 6, 0}, {7});
  check_jit_matches_reference({a, b}, outputs, {left, right}, "extremes with NaN");
  Function f = compile({a, b}, outputs);
  std::vector<Tensor> values = f({left, right});
  CHECK(values[2].get_double(2) == doctest::Approx(1.0 / 3));
  CHECK(values[2].get_double(0) == 0.0);
}

TEST_CASE("jit binary cross-entropy") {
  std::mt19937_64 rng(14);
  Graph g;
  Expr p = g.input("p", DType::Float64, {"n"});
  Expr t = g.input("t", DType::Float64, {"n"});
  check_jit_matches_reference({p, t}, {binary_crossentropy(p, t)},
                              {random_tensor(DType::Float64, {17}, rng, 0.01, 0.99),
                               random_tensor(DType::Float64, {17}, rng, 0, 1)},
                              "binary_crossentropy");
  // Probabilities far below the float's epsilon: -log1p(-p) is p there, where log(1 - p)
  // would give 0.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph small;
    Expr ps = small.input("p", dtype, {"n"});
    Expr ts = small.input("t", dtype, {"n"});
    Tensor probabilities = Tensor::from_vector<double>({1e-30, 1e-12, 1e-7, 0.3, 1e-20}, {5}).cast(dtype);
    Tensor targets = Tensor::from_vector<double>({0, 0, 0, 0, 0.5}, {5}).cast(dtype);
    CAPTURE(dtype_name(dtype));
    Expr loss = binary_crossentropy(ps, ts);
    check_jit_matches_reference({ps, ts}, {loss}, {probabilities, targets},
                                "binary_crossentropy of small probabilities");
    // The check above allows an absolute error, so each value is also compared relatively.
    for (bool optimized : {false, true}) {
      CompileOptions options;
      options.use_cache = false;
      if (!optimized) options.disabled_passes = known_pass_names();
      Tensor actual = compile({ps, ts}, {loss}, {}, options)({probabilities, targets})[0].cast(DType::Float64);
      Tensor expected = evaluate(loss, {{"p", probabilities}, {"t", targets}}).cast(DType::Float64);
      for (std::int64_t i = 0; i < 5; ++i) {
        CAPTURE(optimized);
        CAPTURE(i);
        CHECK(std::abs(actual.get_double(i) - expected.get_double(i)) <= 1e-5 * std::abs(expected.get_double(i)));
      }
    }
    double smallest = evaluate(loss, {{"p", probabilities}, {"t", targets}}).get_double(0);
    CHECK(std::abs(smallest - 1e-30) <= 1e-36);
  }
}

namespace {

// Distance in units in the last place between two non-negative finite floats.
std::int64_t ulps_apart(float a, float b) {
  std::int32_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  return std::abs(static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib));
}

}  // namespace

// Both are compared with the float64 values over the whole float32 range: exp within 2
// ulp of the rounded value, sigmoid within 5e-7 relative.
TEST_CASE("jit float32 exp and sigmoid accuracy") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Function f = compile({x}, {exp(x), sigmoid(x)});

  // A dense sweep of [-110, 95], which covers overflow, the subnormal results and
  // underflow to zero, then the special values.
  std::vector<float> values;
  for (int i = 0; i <= 2'050'000; ++i) values.push_back(-110.0f + 205.0f * static_cast<float>(i) / 2'050'000.0f);
  float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.72283f, 88.72284f, -87.33654f, -103.97208f, -103.97209f, inf, -inf,
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), std::nanf("")})
    values.push_back(v);

  Tensor input = Tensor::empty(DType::Float32, {static_cast<std::int64_t>(values.size())});
  std::memcpy(input.raw_data(), values.data(), values.size() * sizeof(float));
  std::vector<Tensor> out = f({input});
  const auto* e = static_cast<const float*>(out[0].raw_data());
  const auto* s = static_cast<const float*>(out[1].raw_data());

  std::int64_t worst = 0;
  double worst_sigmoid = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    auto expected = static_cast<float>(std::exp(v));
    if (std::isnan(v)) {
      CHECK(std::isnan(e[i]));
      CHECK(std::isnan(s[i]));
      continue;
    }
    if (std::isinf(expected) || expected == 0.0f) {
      // Past the range a float holds, the result is exactly +inf or 0 (or the smallest
      // subnormal, where the float64 value rounds just below half of it).
      INFO("exp(" << v << ") = " << e[i] << ", expected " << expected);
      CHECK((e[i] == expected || (expected == 0.0f && e[i] <= std::numeric_limits<float>::denorm_min())));
      continue;
    }
    std::int64_t apart = ulps_apart(e[i], expected);
    if (apart > worst) worst = apart;
    if (apart > 2) {
      INFO("exp(" << v << ") = " << e[i] << ", expected " << expected);
      REQUIRE(apart <= 2);
    }
    // Below the smallest normal float, sigmoid is compared in absolute terms.
    double exact_sigmoid = 1.0 / (1.0 + std::exp(-v));
    double scale = std::max<double>(exact_sigmoid, std::numeric_limits<float>::min());
    worst_sigmoid = std::max(worst_sigmoid, std::abs(s[i] - exact_sigmoid) / scale);
  }
  MESSAGE("largest exp error: " << worst << " ulp; largest sigmoid relative error: " << worst_sigmoid);
  CHECK(worst <= 2);
  CHECK(worst_sigmoid < 5e-7);
}
