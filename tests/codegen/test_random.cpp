// Random numbers. The tests check the Philox generator against its published test vectors
// and random_uniform on both backends, bit for bit, at any thread count and in row blocks.
// They check the distributions of uniform and normal values, Bernoulli draws and integers,
// dropout and its gradient, keys in shared variables, the optimizer's handling of equal
// draws, the printers and the errors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "damo/codegen/program.h"
#include "damo/frontend/session.h"
#include "damo/graph/autodiff.h"
#include "damo/graph/printer.h"
#include "damo/optimizer/optimize.h"
#include "damo/runtime/philox.h"
#include "damo/runtime/thread_pool.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

Tensor int64_scalar(std::int64_t v) {
  Tensor t = Tensor::empty(DType::Int64, {});
  t.data<std::int64_t>()[0] = v;
  return t;
}

// Sets the thread count for the life of the object, then restores the previous one.
struct Threads {
  explicit Threads(int count) : previous(num_threads()) { set_num_threads(count); }
  ~Threads() { set_num_threads(previous); }
  int previous;
};

// Compares two tensors bit for bit.
bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
}

struct Moments {
  double mean = 0;
  double variance = 0;
};

Moments moments(const Tensor& t) {
  Moments m;
  for (std::int64_t i = 0; i < t.numel(); ++i) m.mean += t.get_double(i);
  m.mean /= static_cast<double>(t.numel());
  for (std::int64_t i = 0; i < t.numel(); ++i) m.variance += std::pow(t.get_double(i) - m.mean, 2);
  m.variance /= static_cast<double>(t.numel());
  return m;
}

}  // namespace

TEST_CASE("random: Philox known answers") {
  using philox::Block;
  CHECK(philox::generate({0, 0, 0, 0}, 0, 0) ==
        Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox::generate({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0xffffffff,
                         0xffffffff) == Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox::generate({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822,
                         0x299f31d0) == Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
  // The counter words: the counter's low and high words, then the stream. The key splits
  // into its low and high words.
  CHECK(philox::counter_block(0x299f31d0a4093822, 0x85a308d3243f6a88, 0x13198a2e) ==
        philox::generate({0x243f6a88, 0x85a308d3, 0x13198a2e, 0}, 0xa4093822, 0x299f31d0));
  CHECK(philox::uniform_float(0xffffffff) == 1.0f - 0x1p-24f);
  CHECK(philox::uniform_float(0x000000ff) == 0.0f);
  CHECK(philox::uniform_double(0xffffffff, 0xffffffff) == 1.0 - 0x1p-53);
  CHECK(philox::uniform_double(0, 0x7ff) == 0.0);
  // Four floats or two doubles per block.
  Block block = philox::counter_block(9, 2, 1);
  for (std::uint64_t w = 0; w < 4; ++w) CHECK(philox::float_element(9, 8 + w, 1) == philox::uniform_float(block[w]));
  CHECK(philox::double_element(9, 4, 1) == philox::uniform_double(block[0], block[1]));
  CHECK(philox::double_element(9, 5, 1) == philox::uniform_double(block[2], block[3]));
}

TEST_CASE("random: reference draws by element") {
  Graph g;
  Expr key = g.shared("key", int64_scalar(-5));
  Tensor u32 = evaluate(random_uniform(key, Shape({2, 3}), DType::Float32, 7));
  Tensor u64 = evaluate(random_uniform(key, Shape({5}), DType::Float64));
  for (std::int64_t i = 0; i < 6; ++i)
    CHECK(u32.data<float>()[i] ==
          philox::float_element(static_cast<std::uint64_t>(-5), static_cast<std::uint64_t>(i), 7));
  for (std::int64_t i = 0; i < 5; ++i)
    CHECK(u64.data<double>()[i] ==
          philox::double_element(static_cast<std::uint64_t>(-5), static_cast<std::uint64_t>(i), 0));
  // An i32 key sign-extends: -5 as i32 draws what -5 as i64 does.
  Expr small_key = g.shared("small_key", Tensor::scalar(DType::Int32, -5));
  CHECK(same_bits(evaluate(random_uniform(small_key, Shape({2, 3}), DType::Float32, 7)), u32));
  // Another key or stream gives other values.
  Tensor other_stream = evaluate(random_uniform(key, Shape({2, 3}), DType::Float32, 8));
  Expr key2 = g.shared("key2", int64_scalar(-4));
  Tensor other_key = evaluate(random_uniform(key2, Shape({2, 3}), DType::Float32, 7));
  int equal_stream = 0, equal_key = 0;
  for (std::int64_t i = 0; i < 6; ++i) {
    equal_stream += other_stream.data<float>()[i] == u32.data<float>()[i];
    equal_key += other_key.data<float>()[i] == u32.data<float>()[i];
  }
  CHECK(equal_stream == 0);
  CHECK(equal_key == 0);
}

TEST_CASE("random: compiled equals reference bitwise") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t rows : {0, 1, 2, 7, 1000, 40001}) {
      Graph g;
      Expr x = g.input("x", dtype, {"n", 3});
      Expr key = g.input("key", DType::Int64, {});
      std::vector<Expr> outputs = {random_uniform(key, x.shape(), dtype, 3),
                                   random_uniform(key, Shape({5}), dtype),
                                   random_uniform(key, Shape(std::vector<Dim>{}), dtype, 1),
                                   random_normal(key, x.shape(), dtype) + x};
      std::vector<Tensor> arguments = {Tensor::zeros(dtype, {rows, 3}),
                                       int64_scalar(0x123456789abcdefLL)};
      CompileOptions options;
      options.use_cache = false;
      Function f = compile({x, key}, outputs, {}, options);
      Feeds feeds{{"x", arguments[0]}, {"key", arguments[1]}};
      std::vector<Tensor> expected = evaluate(outputs, feeds);
      for (int threads : {1, 4}) {
        Threads use(threads);
        std::vector<Tensor> actual = f(arguments);
        INFO("dtype " << dtype_name(dtype) << ", rows " << rows << ", threads " << threads);
        for (std::size_t i = 0; i < 3; ++i) CHECK(same_bits(actual[i], expected[i]));
        // The normal values go through libm and vector math: close, not bitwise.
        check_close(actual[3], expected[3], dtype == DType::Float32 ? 1e-5 : 1e-12, "normal");
      }
      check_jit_matches_reference({x, key}, {random_uniform(key, x.shape(), dtype, 3) * x + 1},
                                  arguments, "uniform times x", 0);
    }
  }
}

TEST_CASE("random: uniform spread and correlation") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  const std::int64_t count = 1 << 20;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Function f = compile({key}, {random_uniform(key, Shape({count}), dtype)});
    Tensor u = f({int64_scalar(42)})[0];
    INFO("dtype " << dtype_name(dtype));
    Moments m = moments(u);
    // The mean's standard error is 0.29 / sqrt(2^20) = 2.8e-4, so 1.5e-3 is about five of it.
    CHECK(std::abs(m.mean - 0.5) < 1.5e-3);
    CHECK(std::abs(m.variance - 1.0 / 12) < 1e-3);
    std::vector<double> bins(100, 0);
    double low = 1, high = 0, lag = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      double v = u.get_double(i);
      low = std::min(low, v);
      high = std::max(high, v);
      bins[static_cast<std::size_t>(v * 100)] += 1;
      if (i > 0) lag += (v - 0.5) * (u.get_double(i - 1) - 0.5);
    }
    CHECK(low >= 0);
    CHECK(high < 1);
    double expected = static_cast<double>(count) / 100;
    double chi2 = 0;
    for (double b : bins) chi2 += (b - expected) * (b - expected) / expected;
    // With 99 degrees of freedom, chi-square exceeds 160 with a probability below 1e-4
    // (an estimate from its mean 99 and standard deviation 14).
    CHECK(chi2 < 160);
    // Neighbouring elements are uncorrelated: the lag-1 correlation is near 0.
    CHECK(std::abs(lag / static_cast<double>(count - 1) * 12) < 5e-3);
  }
}

TEST_CASE("random: normal mean and variance") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  const std::int64_t count = 1 << 20;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Function f = compile({key}, {random_normal(key, Shape({count}), dtype)});
    Tensor z = f({int64_scalar(7)})[0];
    INFO("dtype " << dtype_name(dtype));
    Moments m = moments(z);
    CHECK(std::abs(m.mean) < 5e-3);
    CHECK(std::abs(m.variance - 1) < 1e-2);
    std::int64_t within_one = 0, finite = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      double v = z.get_double(i);
      within_one += std::abs(v) < 1;
      finite += std::isfinite(v);
    }
    CHECK(finite == count);
    // P(|z| < 1) = 0.6827 for a standard normal.
    CHECK(std::abs(static_cast<double>(within_one) / count - 0.6827) < 3e-3);
  }
}

TEST_CASE("random: dropout values and gradient") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 8});
  Expr key = g.input("key", DType::Int64, {});
  const double rate = 0.3;
  Expr y = dropout(x, key, rate, 2);
  Expr gx = grad(sum(y * x), {x})[0];
  Function f = compile({x, key}, {y, gx});
  Tensor xv = Tensor::empty(DType::Float64, {4096, 8});
  for (std::int64_t i = 0; i < xv.numel(); ++i) xv.set_double(i, 1.0 + static_cast<double>(i % 13));
  std::vector<Tensor> out = f({xv, int64_scalar(11)});
  Tensor u = evaluate(random_uniform(key, x.shape(), DType::Float64, 2),
                      {{"x", xv}, {"key", int64_scalar(11)}});
  std::int64_t zeros = 0;
  int wrong = 0;
  for (std::int64_t i = 0; i < xv.numel(); ++i) {
    bool is_kept = u.get_double(i) >= rate;
    double expected = is_kept ? xv.get_double(i) / (1 - rate) : 0.0;
    // d/dx sum(dropout(x) * x) = 2 x / (1 - rate) where kept, else 0.
    double expected_grad = is_kept ? 2 * xv.get_double(i) / (1 - rate) : 0.0;
    wrong += std::abs(out[0].get_double(i) - expected) > 1e-12 * expected;
    wrong += std::abs(out[1].get_double(i) - expected_grad) > 1e-12 * expected_grad;
    zeros += !is_kept;
  }
  CHECK(wrong == 0);
  CHECK(std::abs(static_cast<double>(zeros) / static_cast<double>(xv.numel()) - rate) < 0.015);
  CHECK(dropout(x, key, 0).node() == x.node());

  // The scale is the inverse of the keep probability of the rounded rate: 0.99999997 in f32
  // keeps only draws of 1 - 2^-24, and 0.3 drops 5033165 of the 2^24 draws.
  Expr ones32 = g.input("ones32", DType::Float32, {6});
  Feeds ones_feed{{"ones32", Tensor::full(DType::Float32, {6}, 1.0)}, {"key", int64_scalar(3)}};
  CHECK(to_infix(dropout(ones32, key, 0.99999997)) ==
        "where(random_uniform(key, [6], f32) >= 0.99999994, ones32 * 16777216, 0)");
  Tensor third = evaluate(dropout(ones32, key, 0.3), ones_feed);
  double kept_value = static_cast<float>(1 / (1 - 5033165.0 / 16777216.0));
  for (std::int64_t i = 0; i < 6; ++i) CHECK((third.get_double(i) == 0 || third.get_double(i) == kept_value));
  check_jit_matches_reference({x, key}, {y, gx}, {xv, int64_scalar(11)}, "dropout", 0);
}

TEST_CASE("random: bernoulli frequencies and per-column p") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  Expr x = g.input("x", DType::Float32, {"n", 4});
  Tensor probabilities = Tensor::empty(DType::Float32, {4});
  for (std::int64_t i = 0; i < 4; ++i) probabilities.set_double(i, std::vector<double>{0, 0.25, 0.5, 1}[i]);
  Expr p = g.constant(probabilities);
  Expr drawn = bernoulli(key, p, x.shape(), 5);
  CHECK(drawn.dtype() == DType::Bool);
  Expr half = bernoulli(key, 0.5, Shape({7}));

  const std::int64_t rows = 20000;
  std::vector<Tensor> arguments = {int64_scalar(99), Tensor::zeros(DType::Float32, {rows, 4})};
  Function f = compile({key, x}, {drawn, half});
  Feeds feeds{{"key", arguments[0]}, {"x", arguments[1]}};
  std::vector<Tensor> expected = evaluate({drawn, half}, feeds);
  for (int threads : {1, 2}) {
    Threads use(threads);
    std::vector<Tensor> actual = f(arguments);
    INFO("threads " << threads);
    CHECK(same_bits(actual[0], expected[0]));
    CHECK(same_bits(actual[1], expected[1]));
  }

  // Each element is u < p for the uniform draw of p's dtype and the same stream.
  Tensor u = evaluate(random_uniform(key, x.shape(), DType::Float32, 5), feeds);
  std::vector<std::int64_t> trues(4, 0);
  int wrong = 0;
  for (std::int64_t i = 0; i < rows * 4; ++i) {
    bool value = expected[0].get_double(i) != 0;
    wrong += value != (u.get_double(i) < probabilities.get_double(i % 4));
    trues[static_cast<std::size_t>(i % 4)] += value;
  }
  CHECK(wrong == 0);
  CHECK(trues[0] == 0);
  CHECK(trues[3] == rows);
  // Standard errors: sqrt(0.25 * 0.75 / 20000) = 0.0031 and sqrt(0.25 / 20000) = 0.0035.
  CHECK(std::abs(static_cast<double>(trues[1]) / rows - 0.25) < 0.015);
  CHECK(std::abs(static_cast<double>(trues[2]) / rows - 0.5) < 0.018);

  // A number p draws in f64.
  Tensor u64 = evaluate(random_uniform(key, Shape({7}), DType::Float64), feeds);
  for (std::int64_t i = 0; i < 7; ++i) CHECK((expected[1].get_double(i) != 0) == (u64.get_double(i) < 0.5));
}

TEST_CASE("random: randint range and counts") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  Expr x = g.input("x", DType::Float32, {"n"});
  const std::int64_t count = 70000;
  std::vector<Tensor> arguments = {int64_scalar(5), Tensor::zeros(DType::Float32, {count})};
  Feeds feeds{{"key", arguments[0]}, {"x", arguments[1]}};
  Tensor u = evaluate(random_uniform(key, x.shape(), DType::Float64, 1), feeds);
  for (DType dtype : {DType::Int64, DType::Int32}) {
    INFO("dtype " << dtype_name(dtype));
    Expr r = randint(key, x.shape(), -3, 4, dtype, 1);
    CHECK(r.dtype() == dtype);
    Function f = compile({key, x}, {r});
    Tensor expected = evaluate(r, feeds);
    for (int threads : {1, 2}) {
      Threads use(threads);
      CHECK(same_bits(f(arguments)[0], expected));
    }
    std::vector<std::int64_t> counts(7, 0);
    int wrong = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      double value = expected.get_double(i);
      wrong += value != -3 + std::floor(u.get_double(i) * 7);
      if (value >= -3 && value < 4) counts[static_cast<std::size_t>(value + 3)] += 1;
    }
    CHECK(wrong == 0);
    // Each value has probability 1/7: a mean of 10000 and a standard error of 93.
    for (std::int64_t c : counts) CHECK(std::abs(c - 10000) < 500);
  }

  // Ranges at the ends of i64 and i32, and of 2^53 values.
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  struct Range {
    std::int64_t low, high;
    DType dtype;
  };
  for (Range range : {Range{lowest, lowest + 5, DType::Int64},
                      Range{std::numeric_limits<std::int64_t>::max() - 2,
                            std::numeric_limits<std::int64_t>::max(), DType::Int64},
                      Range{0, std::int64_t{1} << 53, DType::Int64},
                      Range{std::numeric_limits<std::int32_t>::min(),
                            std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1, DType::Int32}}) {
    INFO("low " << range.low << ", high " << range.high);
    Expr r = randint(key, Shape({1000}), range.low, range.high, range.dtype);
    Tensor expected = evaluate(r, feeds);
    CHECK(same_bits(compile({key}, {r})({arguments[0]})[0], expected));
    std::int64_t below = 0, above = 0, smallest = range.high;
    for (std::int64_t i = 0; i < 1000; ++i) {
      std::int64_t value = range.dtype == DType::Int64 ? expected.data<std::int64_t>()[i]
                                                       : expected.data<std::int32_t>()[i];
      below += value < range.low;
      above += value >= range.high;
      smallest = std::min(smallest, value);
    }
    CHECK(below == 0);
    CHECK(above == 0);
    // The lowest value of a range of 5 or fewer shows up among 1000 draws.
    if (range.high - range.low <= 5) CHECK(smallest == range.low);
  }
  CHECK(evaluate(randint(key, Shape({0}), 0, 1), feeds).numel() == 0);
  CHECK(evaluate(randint(key, Shape({1}), 7, 8), feeds).get_double(0) == 7);
}

TEST_CASE("random: gradients through draws") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  Expr x = g.input("x", DType::Float64, {"n"});
  Expr sigma = g.input("sigma", DType::Float64, {});
  Expr z = random_normal(key, x.shape(), DType::Float64, 3);
  // d/dx sum(x + sigma z) = 1 and d/dsigma = sum(z): the draw itself passes nothing.
  std::vector<Expr> grads = grad(sum(x + sigma * z), {x, sigma});
  Tensor xv = Tensor::full(DType::Float64, {9}, 0.5);
  Feeds feeds{{"key", int64_scalar(8)}, {"x", xv}, {"sigma", Tensor::scalar(DType::Float64, 2.0)}};
  std::vector<Tensor> values = evaluate({grads[0], grads[1], sum(z)}, feeds);
  for (std::int64_t i = 0; i < 9; ++i) CHECK(values[0].get_double(i) == 1.0);
  CHECK(values[1].get_double(0) == doctest::Approx(values[2].get_double(0)).epsilon(1e-12));
  check_jit_matches_reference({key, x, sigma}, grads,
                              {int64_scalar(8), xv, Tensor::scalar(DType::Float64, 2.0)},
                              "noise gradients", 1e-12);
  // p of bernoulli gets no gradient, so it is disconnected.
  Expr p = g.input("p", DType::Float64, {});
  Expr mask = cast(bernoulli(key, p, x.shape()), DType::Float64);
  CHECK(user_error([&] { grad(sum(mask * x), {p}); }).find("'p'") != std::string::npos);
}

TEST_CASE("random: permutation orders every position") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  Expr x = g.input("x", DType::Float32, {"n"});
  Expr order = permutation(key, x.shape()[0], 2);
  CHECK(order.dtype() == DType::Int64);
  Function f = compile({key, x}, {order});
  for (std::int64_t n : {0, 1, 7, 1000}) {
    INFO("n " << n);
    std::vector<Tensor> arguments = {int64_scalar(12), Tensor::zeros(DType::Float32, {n})};
    Tensor actual = f(arguments)[0];
    CHECK(same_bits(actual, evaluate(order, {{"key", arguments[0]}, {"x", arguments[1]}})));
    std::vector<std::int64_t> values(actual.data<std::int64_t>(), actual.data<std::int64_t>() + n);
    std::sort(values.begin(), values.end());
    bool every = true;
    for (std::int64_t i = 0; i < n; ++i) every = every && values[static_cast<std::size_t>(i)] == i;
    CHECK(every);
  }
  // Over 2000 keys, each of 5 values comes first about 400 times (standard error 18).
  Expr five = permutation(key, Dim(5));
  Function first = compile({key}, {five});
  std::vector<int> counts(5, 0);
  for (std::int64_t k = 0; k < 2000; ++k) counts[static_cast<std::size_t>(first({int64_scalar(k)})[0].get_double(0))] += 1;
  for (int c : counts) CHECK(std::abs(c - 400) < 90);
}

TEST_CASE("random: categorical follows softmax") {
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  const std::int64_t rows = 30000;
  Tensor logits_value = Tensor::empty(DType::Float64, {rows, 3});
  std::vector<double> probabilities = {0.2, 0.3, 0.5};
  for (std::int64_t i = 0; i < rows * 3; ++i) logits_value.set_double(i, std::log(probabilities[static_cast<std::size_t>(i % 3)]) + 7);
  Expr logits = g.input("logits", DType::Float64, {"n", 3});
  Expr drawn = categorical(key, logits, -1, 1);
  CHECK(drawn.shape() == Shape({"n"}));
  CHECK(categorical(key, logits, 0).shape() == Shape({3}));
  Function f = compile({key, logits}, {drawn});
  Tensor actual = f({int64_scalar(4), logits_value})[0];
  Tensor expected = evaluate(drawn, {{"key", int64_scalar(4)}, {"logits", logits_value}});
  // log and log1p run as vector math when compiled, so a near tie may break the other way.
  std::int64_t differ = 0;
  std::vector<std::int64_t> counts(3, 0);
  for (std::int64_t i = 0; i < rows; ++i) {
    differ += actual.get_double(i) != expected.get_double(i);
    counts[static_cast<std::size_t>(expected.get_double(i))] += 1;
  }
  CHECK(differ <= rows / 1000);
  // Standard errors: sqrt(p (1 - p) / 30000) is at most 0.0029.
  for (std::size_t k = 0; k < 3; ++k) CHECK(std::abs(static_cast<double>(counts[k]) / rows - probabilities[k]) < 0.015);
}

TEST_CASE("random: categorical never picks a -inf logit") {
  // With key 9, stream 0, the f32 draw at flat position 2792111 is exactly 0: row 1396055,
  // class 1 below. That draw gets finite noise, so the class of logit -inf is never picked
  // and the NaN guard passes the call.
  const std::int64_t rows = 1396056;
  Graph g;
  Expr key = g.input("key", DType::Int64, {});
  Expr logits = g.input("logits", DType::Float32, {"n", 2});
  Expr u = random_uniform(key, Shape({"n", 2}));
  Tensor logits_value = Tensor::empty(DType::Float32, {rows, 2});
  for (std::int64_t r = 0; r < rows; ++r) {
    logits_value.data<float>()[2 * r] = 0;
    logits_value.data<float>()[2 * r + 1] = -std::numeric_limits<float>::infinity();
  }
  Feeds feeds{{"key", int64_scalar(9)}, {"logits", logits_value}};
  REQUIRE(evaluate(u, feeds).get_double(2 * rows - 1) == 0.0);

  Expr drawn = categorical(key, logits);
  Tensor expected = evaluate(drawn, feeds);
  CompileOptions guarded;
  guarded.nan_guard = true;
  for (const Function& f : {compile({key, logits}, {drawn}), compile({key, logits}, {drawn}, {}, guarded)}) {
    Tensor actual = f({int64_scalar(9), logits_value})[0];
    std::int64_t picked = 0;
    for (std::int64_t r = 0; r < rows; ++r) picked += actual.data<std::int64_t>()[r];
    CHECK(picked == 0);
  }
  std::int64_t picked = 0;
  for (std::int64_t r = 0; r < rows; ++r) picked += expected.data<std::int64_t>()[r];
  CHECK(picked == 0);
}

TEST_CASE("random: dropout training runs in row blocks") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 5});
  Expr key = g.shared("key", int64_scalar(3));
  Tensor initial = Tensor::empty(DType::Float64, {5, 7});
  for (std::int64_t i = 0; i < initial.numel(); ++i) initial.set_double(i, 0.1 * static_cast<double>(i % 9) - 0.4);
  Expr w = g.shared("w", initial);
  Expr hidden = dropout(tanh(matmul(x, w)), key, 0.4, 1);
  Expr loss = mean(square(hidden));
  Expr gradient = grad(loss, {w})[0];

  OptimizeOptions options;
  options.pipeline = PipelineKind::Training;
  options.pipeline_options.read_environment = false;
  std::vector<Expr> optimized = optimize({loss, gradient}, options).roots;
  Program program = lower_to_program({x}, optimized, {});
  INFO(program.to_string());
  REQUIRE(program.spec.row_block_symbol == 0);
  bool blocked_draw = false;
  for (int k = program.spec.row_kernels_begin; k < program.spec.row_kernels_end; ++k)
    blocked_draw = blocked_draw || program.kernels[static_cast<std::size_t>(k)].node->op() == OpKind::RandomUniform;
  CHECK(blocked_draw);

  Tensor xv = Tensor::empty(DType::Float64, {37, 5});
  for (std::int64_t i = 0; i < xv.numel(); ++i) xv.set_double(i, std::sin(0.7 * static_cast<double>(i)));
  // Blocks of 1 and 3 rows draw each element as the whole call does.
  check_jit_matches_reference({x}, {loss, gradient}, {xv}, "dropout step");
}

TEST_CASE("random: shared key draws anew") {
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    Graph g;
    Expr key = g.shared("key", int64_scalar(100));
    Expr x = g.input("x", DType::Float32, {"n"});
    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    Function f = compile({x}, {random_uniform(key, x.shape()) + x}, {{key, key + 1}}, options);
    Tensor zeros = Tensor::zeros(DType::Float32, {6});
    Tensor first = f({zeros})[0];
    Tensor second = f({zeros})[0];
    CHECK_FALSE(same_bits(first, second));
    CHECK(key->shared()->get_value().get_int64(0) == 102);
    // The draws of the calls are those of keys 100 and 101.
    Expr fixed = g.input("fixed", DType::Int64, {});
    Function draw = compile({fixed}, {random_uniform(fixed, Shape({6}))});
    CHECK(same_bits(first, draw({int64_scalar(100)})[0]));
    CHECK(same_bits(second, draw({int64_scalar(101)})[0]));
  }
}

TEST_CASE("random: equal draws merge") {
  Graph g;
  Expr key = g.shared("key", int64_scalar(1));
  Expr a = random_uniform(key, Shape({3}), DType::Float32, 0);
  Expr b = random_uniform(key, Shape({3}), DType::Float32, 0);
  Expr c = random_uniform(key, Shape({3}), DType::Float32, 1);
  CHECK(a.node() == b.node());
  CHECK(a.node() != c.node());
  CHECK(random_uniform(key, Shape({3}), DType::Float64).node() != a.node());
  // A draw from a constant key folds to a constant with the same values.
  Expr folded_key = g.literal(9, true);
  Expr draw = random_uniform(folded_key, Shape({4}), DType::Float64, 5) * 2.0;
  std::vector<Expr> optimized = optimize_exprs({draw});
  CHECK(optimized[0]->op() == OpKind::Constant);
  CHECK(same_bits(optimized[0]->value(), evaluate(draw)));
  // A draw from a shared key is computed at run time.
  Expr shared_draw = random_uniform(key, Shape({4}));
  CHECK(optimize_exprs({shared_draw})[0]->op() == OpKind::RandomUniform);
}

TEST_CASE("random: printed draws read back") {
  Graph g;
  Expr key = g.shared("key", int64_scalar(1));
  Expr x = g.input("x", DType::Float32, {"n", 2});
  CHECK(to_infix(random_uniform(key, x.shape())) == "random_uniform(key, [n, 2], f32)");
  CHECK(to_infix(random_uniform(key, Shape({3}), DType::Float64, 4)) ==
        "random_uniform(key, [3], f64, stream=4)");
  CHECK(dump({random_uniform(key, Shape({3}), DType::Float32, 4)})
            .find("random_uniform f32 (3,) stream=4") != std::string::npos);

  Session session;
  session.run("k = shared(\"k\", 12)");
  std::string printed = session.run("random_uniform(k, [4], f64, stream=3)").at(0);
  Graph h;
  Expr k = h.shared("k12", int64_scalar(12));
  Tensor expected = evaluate(random_uniform(k, Shape({4}), DType::Float64, 3));
  CHECK(printed.find(fmt::format("{:.16g}", expected.get_double(0))) != std::string::npos);
  CHECK(
      session.run(
          "dropout(ones(f32, [4]), k, 0.5, stream=1) == where(random_uniform(k, [4], stream=1) >= "
          "0.5, 2, 0)") == std::vector<std::string>{"[true, true, true, true] : bool (4,)"});
  CHECK(session.run("randint(k, [5], -2, 3, i32, stream=4) == cast(floor(random_uniform(k, [5], f64, "
                    "stream=4) * 5) - 2, i32)") ==
        std::vector<std::string>{"[true, true, true, true, true] : bool (5,)"});
  CHECK(session.run("bernoulli(k, [0.0, 1.0], [3, 2]) == [false, true]") ==
        std::vector<std::string>{"[[true, true],\n [true, true],\n [true, true]] : bool (3, 2)"});
}

TEST_CASE("random: errors name the value") {
  Graph g;
  Expr key = g.shared("key", int64_scalar(1));
  CHECK(user_error([&] { categorical(key, g.input("none", DType::Float32, {4, 0})); }) ==
        "categorical: logits f32 (4, 0) have no classes along axis -1, so there is nothing to draw "
        "from; give at least one class");
  Expr fkey = g.input("fkey", DType::Float32, {});
  Expr keys = g.input("keys", DType::Int64, {2});
  Expr x = g.input("x", DType::Float32, {3});

  CHECK(user_error([&] {
          random_uniform(fkey, Shape({2}));
        }).find("the key must be an i32 or i64 scalar, not f32 ()") != std::string::npos);
  CHECK(user_error([&] { random_uniform(keys, Shape({2})); }).find("not i64 (2,)") !=
        std::string::npos);
  CHECK(user_error([&] {
          random_uniform(key, Shape({2}), DType::Int32);
        }).find("must be f32 or f64, not i32") != std::string::npos);
  CHECK(user_error([&] {
          random_uniform(key, Shape({2}), DType::Float32, -1);
        }).find("stream -1 is outside") != std::string::npos);
  CHECK(user_error([&] {
          random_uniform(key, Shape({2}), DType::Float32, std::int64_t{1} << 32);
        }).find("stream 4294967296 is outside") != std::string::npos);
  CHECK(user_error([&] {
          random_normal(key, Shape({2}), DType::Float32, std::int64_t{1} << 31);
        }).find("2 * stream and 2 * stream + 1") != std::string::npos);
  CHECK(user_error([&] { dropout(x, key, 1.0); }).find("rate 1 is outside [0, 1)") !=
        std::string::npos);

  // Each factory names itself, and dropout checks its key and stream at rate 0 too.
  CHECK(user_error([&] { random_normal(fkey, Shape({2})); }).find("random_normal: the key must be") == 0);
  CHECK(user_error([&] { random_normal(key, Shape({2}), DType::Int64); }).find("random_normal: the dtype") == 0);
  CHECK(user_error([&] { dropout(x, fkey, 0.5); }).find("dropout: the key must be") == 0);
  CHECK(user_error([&] { dropout(x, fkey, 0.0); }).find("dropout: the key must be") == 0);
  CHECK(user_error([&] { dropout(x, keys, 0.0); }).find("dropout: the key must be") == 0);
  CHECK(user_error([&] { dropout(x, key, 0.0, -1); }).find("dropout: stream -1 is outside") == 0);

  // A rate that rounds to 1 in f32 would drop everything.
  CHECK(user_error([&] { dropout(x, key, 0.99999999); }).find("rounds to 1 in f32") != std::string::npos);
  CHECK(user_error([&] { dropout(x, key, 0.99999994); }) == "(no error)");
  CHECK(user_error([&] { dropout(cast(x, DType::Float64), key, 0.99999999); }) == "(no error)");
  CHECK(user_error([&] { dropout(x, key, std::nan("")); }).find("rate nan is outside") !=
        std::string::npos);
  CHECK(user_error([&] {
          dropout(cast(x, DType::Int32), key, 0.5);
        }).find("must be f32 or f64, not i32") != std::string::npos);
  CHECK(user_error([&] {
          compile({x}, {random_uniform(key, Shape({"m"}))});
        }).find("'m', which no input has") != std::string::npos);
  // An unbound size of a draw made by random_normal names the builtins behind draws.
  CHECK(user_error([&] { compile({x}, {random_normal(key, Shape({"m"}))}); }) ==
        "compile: random_uniform f32 (m,) (the draw behind random_uniform, random_normal, "
        "bernoulli, randint and dropout) uses symbolic dimension 'm', which no input has, so no "
        "call can give its size; add an input with that dimension or use a static size");

  // A missing input is named before the symbol that it would bind, and dropout names
  // itself when its key comes from another graph.
  Expr series = g.input("series", DType::Float32, {"t"});
  Expr key_input = g.input("key_input", DType::Int64, {});
  CHECK(user_error([&] { compile({key_input}, {dropout(series, key_input, 0.5)}); })
            .find("needs input 'series' (f32 (t,))") != std::string::npos);
  Graph other;
  Expr other_key = other.input("other_key", DType::Int64, {});
  CHECK(user_error([&] { dropout(x, other_key, 0.5); }) ==
        "dropout: operand 2 belongs to another graph; build all operands of an expression in one "
        "Graph");
  CHECK(user_error([&] { bernoulli(other_key, x, Shape({3})); })
            .find("bernoulli: operand 2 belongs to another graph") == 0);

  // Shape errors of the draws behind them name the function called.
  CHECK(user_error([&] { bernoulli(key, 0.5, Shape({-1})); }) ==
        "bernoulli: shape (-1,) has the negative size -1 on axis 0; sizes are 0 or more");
  CHECK(user_error([&] { randint(key, Shape({2, -1}), 0, 3); }) ==
        "randint: shape (2, -1) has the negative size -1 on axis 1; sizes are 0 or more");
  CHECK(user_error([&] { random_normal(key, Shape({-1})); }).find("random_normal: shape (-1,)") == 0);

  CHECK(user_error([&] { categorical(key, cast(x, DType::Int32)); })
            .find("categorical: logits must be f32 or f64, not i32 (3,)") == 0);
  CHECK(user_error([&] { categorical(key, sum(x)); }).find("categorical: logits is a scalar") == 0);
  CHECK(user_error([&] { categorical(key, x, 1); }) ==
        "categorical: axis 1 is out of range for logits of rank 1; use -1 to 0");
  CHECK(user_error([&] { permutation(key, Dim(-1)); }) ==
        "permutation: n is -1, a negative count; give the number of positions to order, 0 or more");
  CHECK(user_error([&] { permutation(fkey, Dim(3)); }).find("permutation: the key must be") == 0);

  // bernoulli checks p's dtype, shape and constant values; randint its range and dtype.
  CHECK(user_error([&] { bernoulli(key, cast(x, DType::Int32), Shape({3})); })
            .find("bernoulli: p must be f32 or f64, not i32 (3,)") == 0);
  CHECK(user_error([&] { bernoulli(key, x, Shape({2, 4})); })
            .find("p of shape (3,) does not broadcast to the shape (2, 4)") != std::string::npos);
  CHECK(user_error([&] { bernoulli(key, 1.5, Shape({2})); }).find("p 1.5 is outside [0, 1]") !=
        std::string::npos);
  CHECK(user_error([&] { bernoulli(key, std::nan(""), Shape({2})); }).find("p nan is outside") !=
        std::string::npos);
  CHECK(user_error([&] { bernoulli(fkey, 0.5, Shape({2})); }).find("bernoulli: the key must be") == 0);
  CHECK(user_error([&] { bernoulli(key, x, Shape({3})); }) == "(no error)");
  CHECK(user_error([&] { randint(key, Shape({2}), 5, 5); }).find("low 5 is not below high 5") !=
        std::string::npos);
  CHECK(user_error([&] { randint(key, Shape({2}), 0, (std::int64_t{1} << 53) + 1); })
            .find("high - low is 9007199254740993, more than 2^53") != std::string::npos);
  CHECK(user_error([&] { randint(key, Shape({2}), 0, (std::int64_t{1} << 31) + 1, DType::Int32); })
            .find("[0, 2147483649) does not fit in i32") != std::string::npos);
  CHECK(user_error([&] { randint(key, Shape({2}), -(std::int64_t{1} << 31) - 1, 0, DType::Int32); })
            .find("[-2147483649, 0) does not fit in i32") != std::string::npos);
  CHECK(user_error([&] { randint(key, Shape({2}), 0, 2, DType::Float32); })
            .find("randint: the dtype must be i32 or i64, not f32") == 0);
  CHECK(user_error([&] { randint(key, Shape({2}), 0, 2, DType::Int64, -1); })
            .find("randint: stream -1 is outside") == 0);
}
