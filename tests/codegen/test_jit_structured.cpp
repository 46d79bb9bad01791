// Reductions, matrix products, layout ops and neural-network ops compiled by the JIT
// against the reference evaluator.
#include <cmath>
#include <functional>
#include <limits>

#include "damo/graph/autodiff.h"
#include "damo/runtime/thread_pool.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

const std::vector<OpKind> kReductions = {OpKind::Sum, OpKind::Mean, OpKind::Prod, OpKind::Max,
                                         OpKind::Min, OpKind::ArgMax, OpKind::ArgMin,
                                         OpKind::LogSumExp, OpKind::All, OpKind::Any};

}  // namespace

TEST_CASE("jit sums along short static rows") {
  // Rows of 16 to 63 elements are summed by a vectorized loop along the row, not unrolled.
  std::mt19937_64 rng(41);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t width : {15, 16, 17, 31, 48, 63, 64}) {
      Graph g;
      Expr x = g.input("x", dtype, {"n", width});
      std::vector<Expr> outputs = {sum(x, Axes(1)), mean(x, Axes(1), true), sum(exp(x) * 2.0, Axes(1))};
      for (std::int64_t rows : {0, 1, 7}) {
        Tensor value = random_tensor(dtype, {rows, width}, rng);
        check_jit_matches_reference({x}, outputs, {value},
                                    fmt::format("{} rows of {} {}", rows, width, dtype_name(dtype)));
        // The sum of a row of ones is its width.
        Tensor ones = Tensor::full(dtype, {rows, width}, 1.0);
        Tensor sums = compile({x}, {sum(x, Axes(1))})({ones})[0];
        for (std::int64_t r = 0; r < rows; ++r) CHECK(sums.get_double(r) == static_cast<double>(width));
      }
    }
  }
}

TEST_CASE("jit max and min along rows with a partial last vector") {
  // Float max, min, sums and the max pass of logsumexp and argmax run along a row in vector
  // steps, the last one masked. NaN, infinities and signed zeros in every part of a row,
  // the masked part included, give the reference's result, sign of zero included.
  std::mt19937_64 rng(43);
  double nan = std::nan("");
  double inf = std::numeric_limits<double>::infinity();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t width : {16, 17, 31, 32, 33, 63, 64, 65, 100}) {
      Graph g;
      Expr x = g.input("x", dtype, {"n", width});
      std::vector<Expr> outputs = {max(x, Axes(1)), min(x, Axes(1)), sum(x, Axes(1)), mean(x, Axes(1)),
                                   logsumexp(x, Axes(1)), argmax(x, 1), argmin(x, 1)};
      // Rows: random; a NaN first, last and in the middle; -inf throughout; +inf last;
      // -0 then +0 and +0 then -0 among negatives and positives.
      std::vector<std::vector<double>> rows(9);
      for (auto& row : rows)
        for (std::int64_t i = 0; i < width; ++i) row.push_back(std::uniform_real_distribution<double>(-3, 3)(rng));
      rows[1][0] = nan;
      rows[2][static_cast<std::size_t>(width - 1)] = nan;
      rows[3][static_cast<std::size_t>(width / 2)] = nan;
      std::fill(rows[4].begin(), rows[4].end(), -inf);
      rows[5][static_cast<std::size_t>(width - 1)] = inf;
      for (std::size_t i = 0; i < rows[6].size(); ++i) rows[6][i] = -1.0 - static_cast<double>(i);
      rows[6][0] = -0.0;
      rows[6][static_cast<std::size_t>(width - 1)] = 0.0;
      for (std::size_t i = 0; i < rows[7].size(); ++i) rows[7][i] = 1.0 + static_cast<double>(i);
      rows[7][0] = 0.0;
      rows[7][static_cast<std::size_t>(width - 1)] = -0.0;
      std::fill(rows[8].begin(), rows[8].end(), -0.0);
      Tensor value = Tensor::empty(dtype, {static_cast<std::int64_t>(rows.size()), width});
      for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::int64_t i = 0; i < width; ++i)
          value.set_double(static_cast<std::int64_t>(r) * width + i, rows[r][static_cast<std::size_t>(i)]);
      std::string what = fmt::format("rows of {} {}", width, dtype_name(dtype));
      check_jit_matches_reference({x}, outputs, {value}, what);

      std::vector<Tensor> jit = compile({x}, {outputs[0], outputs[1]})({value});
      Feeds feeds{{"x", value}};
      for (std::size_t k = 0; k < 2; ++k) {
        Tensor expected = evaluate(outputs[k], feeds);
        for (std::int64_t r = 0; r < expected.numel(); ++r) {
          INFO(what << (k == 0 ? " max" : " min") << " of row " << r);
          CHECK(std::signbit(jit[k].get_double(r)) == std::signbit(expected.get_double(r)));
        }
      }
      // max of row 6 is +0 and min of row 7 is -0; both are NaN for the rows with a NaN.
      CHECK(!std::signbit(jit[0].get_double(6)));
      CHECK(std::signbit(jit[1].get_double(7)));
      for (std::int64_t r : {1, 2, 3}) CHECK(std::isnan(jit[0].get_double(r)));
    }
  }
}

TEST_CASE("jit reductions over axis sets") {
  std::mt19937_64 rng(21);
  std::vector<Axes> axis_sets = {Axes(), Axes(0), Axes(1), Axes(2), Axes({0, 2}), Axes({1, 2}), Axes({0, 1})};
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32}) {
    Graph g;
    Expr x = g.input("x", dtype, {"a", "b", 5});
    for (Dims shape : {Dims{4, 3, 5}, Dims{0, 3, 5}, Dims{1, 1, 5}, Dims{7, 17, 5}}) {
      Tensor value = random_tensor(dtype, shape, rng);
      for (OpKind op : kReductions) {
        if (op == OpKind::LogSumExp && !is_float(dtype)) continue;
        std::vector<Expr> outputs;
        for (const Axes& axes : axis_sets)
          for (bool keepdims : {false, true}) outputs.push_back(reduce(op, x, axes, keepdims));
        check_jit_matches_reference({x}, outputs, {value},
                                    fmt::format("{} {} {}", op_name(op), dtype_name(dtype), dims_to_string(shape)),
                                    dtype == DType::Float32 ? 1e-4 : -1);
      }
    }
  }
}

TEST_CASE("jit norm and logaddexp") {
  std::mt19937_64 rng(25);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {"a", 7});
    Expr y = g.input("y", dtype, {7});
    std::vector<Expr> outputs = {norm(x), norm(x, Axes(1)), norm(x, Axes(0), true), logaddexp(x, y),
                                 grad(sum(norm(x, Axes(1))), x)};
    for (std::int64_t rows : {0, 1, 5, 300})
      check_jit_matches_reference({x, y}, outputs,
                                  {random_tensor(dtype, {rows, 7}, rng), random_tensor(dtype, {7}, rng)},
                                  fmt::format("{} rows={}", dtype_name(dtype), rows),
                                  dtype == DType::Float32 ? 1e-4 : -1);
  }
}

TEST_CASE("jit logaddexp ties near the largest float") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Tensor values = Tensor::from_vector(std::vector<float>{3e38f, -3e38f, 2e38f, 1.0f}, {4});
  check_jit_matches_reference({x}, {logaddexp(x, x)}, {values}, "f32 ties", 1e-6);
  // With the optimizer's rewrites too.
  std::vector<Tensor> out = compile({x}, {logaddexp(x, x)})({values});
  CHECK(out[0].get_double(0) == doctest::Approx(3e38));
  CHECK(out[0].get_double(2) == doctest::Approx(2e38));
  CHECK(out[0].get_double(1) == doctest::Approx(-3e38));
  CHECK(out[0].get_double(3) == doctest::Approx(1.0 + std::log(2.0)));
}

TEST_CASE("jit var and std") {
  // Symbolic sizes, so that the sample variance reads its count at run time; empty and
  // one-row inputs divide by 0.
  std::mt19937_64 rng(23);
  std::vector<Axes> axis_sets = {Axes(), Axes(0), Axes(1), Axes({0, 2})};
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32}) {
    Graph g;
    Expr x = g.input("x", dtype, {"a", "b", 5});
    std::vector<Expr> outputs;
    for (const Axes& axes : axis_sets)
      for (std::int64_t ddof : {0, 1}) {
        outputs.push_back(var(x, axes, true, ddof));
        outputs.push_back(stddev(x, axes, false, ddof));
      }
    for (Dims shape : {Dims{4, 3, 5}, Dims{0, 3, 5}, Dims{1, 1, 5}, Dims{7, 17, 5}})
      check_jit_matches_reference({x}, outputs, {random_tensor(dtype, shape, rng)},
                                  fmt::format("{} {}", dtype_name(dtype), dims_to_string(shape)),
                                  dtype == DType::Float64 ? -1 : 1e-4);
  }
}

TEST_CASE("jit cumsum") {
  // Lanes along the last axis and runs of up to 256 lanes along earlier axes, cut at the
  // thread chunks; 300 inner lanes make one run end inside an outer index.
  std::mt19937_64 rng(24);
  for (int threads : {1, 3}) {
    set_num_threads(threads);
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int32}) {
      Graph g;
      Expr x = g.input("x", dtype, {"a", "b", "c"});
      std::vector<Expr> outputs;
      for (int axis : {0, 1, 2})
        for (bool reverse : {false, true}) outputs.push_back(cumsum(x, axis, reverse));
      for (Dims shape : {Dims{4, 3, 5}, Dims{0, 3, 5}, Dims{1, 1, 1}, Dims{3, 7, 300}, Dims{2, 1000, 3}})
        check_jit_matches_reference({x}, outputs, {random_tensor(dtype, shape, rng)},
                                    fmt::format("{} {} at {} threads", dtype_name(dtype),
                                                dims_to_string(shape), threads),
                                    dtype == DType::Float32 ? 1e-6 : -1);
    }
  }
  set_num_threads(0);
}

TEST_CASE("jit argsort and sort") {
  // Lines along every axis, ties from small integers, NaN and both zeros, and lines split
  // across thread chunks.
  std::mt19937_64 rng(25);
  for (int threads : {1, 3}) {
    set_num_threads(threads);
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool}) {
      Graph g;
      Expr x = g.input("x", dtype, {"a", "b", "c"});
      std::vector<Expr> outputs;
      for (int axis : {0, 1, 2})
        for (bool descending : {false, true}) {
          outputs.push_back(argsort(x, axis, descending));
          outputs.push_back(sort(x, axis, descending));
        }
      for (Dims shape : {Dims{4, 3, 5}, Dims{0, 3, 5}, Dims{1, 1, 1}, Dims{3, 7, 300}, Dims{2, 1000, 3}}) {
        Tensor value = random_tensor(dtype, shape, rng);
        for (std::int64_t i = 0; i < value.numel(); ++i) {
          if (dtype != DType::Bool) value.set_double(i, std::floor(value.get_double(i) / 4));
          if (is_float(dtype) && i % 11 == 2) value.set_double(i, std::numeric_limits<double>::quiet_NaN());
          if (is_float(dtype) && i % 13 == 5) value.set_double(i, -0.0);
        }
        check_jit_matches_reference({x}, outputs, {value},
                                    fmt::format("{} {} at {} threads", dtype_name(dtype),
                                                dims_to_string(shape), threads));
      }
    }
  }
  set_num_threads(0);
}

TEST_CASE("jit reductions with NaN and ties") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {2, 4});
  double nan = std::nan("");
  Tensor value = Tensor::from_list({{1, 3, 3, -1}, {2, nan, 5, nan}}, DType::Float32);
  std::vector<Expr> outputs;
  for (OpKind op : kReductions) outputs.push_back(reduce(op, x, Axes(1)));
  check_jit_matches_reference({x}, outputs, {value}, "NaN and ties");
}

TEST_CASE("jit argmax and argmin of long rows") {
  // Rows long enough for vector loops, with ties, NaN, signed zeros and infinities. They lie
  // along the contiguous axis and along axis 0 with a short (4) and a long (300) row stride,
  // which take different code paths.
  std::mt19937_64 rng(5);
  double nan = std::nan("");
  double inf = std::numeric_limits<double>::infinity();
  for (Dims shape : {Dims{37, 4}, Dims{4, 37}, Dims{300, 300}, Dims{3, 1001}}) {
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Bool}) {
      Graph g;
      Expr x = g.input("x", dtype, Shape::from_dims(shape));
      Tensor value = random_tensor(dtype, shape, rng);
      std::int64_t n = value.numel();
      if (is_float(dtype)) {
        // Ties of the largest value, signed zeros, infinities and a NaN late in the data.
        for (std::int64_t i = 0; i < n; i += 7) value.set_double(i, 9.0);
        for (std::int64_t i = 3; i < n; i += 11) value.set_double(i, i % 2 ? -0.0 : 0.0);
        for (std::int64_t i = 5; i < n; i += 13) value.set_double(i, i % 2 ? inf : -inf);
        value.set_double(n - 2, nan);
        value.set_double(n / 2, nan);
      } else if (dtype == DType::Int32) {
        for (std::int64_t i = 0; i < n; i += 5) value.set_double(i, 1000);
      }
      std::vector<Expr> outputs;
      for (Axes axes : {Axes(), Axes(0), Axes(1)}) {
        outputs.push_back(argmax(x, axes));
        outputs.push_back(argmin(x, axes));
      }
      check_jit_matches_reference({x}, outputs, {value},
                                  fmt::format("{} {}", dtype_name(dtype), dims_to_string(shape)));
    }
  }
}

TEST_CASE("jit argmax over rows in vector steps") {
  // Row lengths around the vector steps (16 float32 or 8 float64 lanes, up to 4 vectors a
  // step), with each row holding one pattern: the first position must win every tie, and
  // the first NaN beats every number.
  double nan = std::nan("");
  double inf = std::numeric_limits<double>::infinity();
  std::mt19937_64 rng(11);
  // Each pattern fills one row.
  struct Pattern {
    std::string name;
    std::function<void(std::vector<double>&)> fill;
  };
  std::vector<Pattern> patterns = {
      {"all equal", [](std::vector<double>& row) { std::fill(row.begin(), row.end(), 2.5); }},
      {"ties in later lanes", [](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = i % 3 == 1 ? 7.0 : -7.0;
       }},
      {"max last", [](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<double>(i);
       }},
      {"two NaNs", [&](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<double>(rng() % 100);
         row[row.size() * 2 / 3] = nan;
         row[row.size() - 1] = nan;
       }},
      {"NaN first", [&](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<double>(rng() % 100);
         row[0] = nan;
       }},
      {"infinities", [&](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = i % 2 ? inf : -inf;
       }},
      {"signed zeros", [](std::vector<double>& row) {
         for (std::size_t i = 0; i < row.size(); ++i) row[i] = i % 2 ? 0.0 : -0.0;
       }},
  };
  for (std::int64_t n : {1, 2, 15, 16, 17, 33, 63, 64, 65, 100, 128, 257}) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      auto rows = static_cast<std::int64_t>(patterns.size());
      Tensor value = Tensor::empty(dtype, {rows, n});
      for (std::int64_t r = 0; r < rows; ++r) {
        std::vector<double> row(static_cast<std::size_t>(n));
        patterns[static_cast<std::size_t>(r)].fill(row);
        for (std::int64_t i = 0; i < n; ++i) value.set_double(r * n + i, row[static_cast<std::size_t>(i)]);
      }
      std::string label = fmt::format("{} rows of length {}", dtype_name(dtype), n);
      for (bool symbolic : {false, true}) {
        Graph g;
        Expr x = symbolic ? g.input("x", dtype, {"r", "n"}) : g.input("x", dtype, {rows, n});
        check_jit_matches_reference({x}, {argmax(x, Axes(1)), argmin(x, Axes(1))}, {value},
                                    label + (symbolic ? ", symbolic" : ""));
      }
      // Two values fixed by hand: ties in later lanes give position 1, and the max of
      // 0, 1, ..., n - 1 lies at n - 1.
      Graph g;
      Expr x = g.input("x", dtype, {rows, n});
      Tensor positions = compile({x}, {argmax(x, Axes(1))})({value})[0];
      if (n > 1) CHECK(positions.get_int64(1) == 1);
      CHECK(positions.get_int64(2) == n - 1);
    }
  }
}

TEST_CASE("jit argmax over leading axes in column tiles") {
  // Column counts around the 256-column tile, a 3-d tensor reduced over its middle axis, and
  // an empty reduced axis, at one to three threads. NaN in the first row, ties of the largest
  // value and signed zeros test which position each column keeps.
  std::mt19937_64 rng(6);
  double nan = std::nan("");
  for (Dims shape : {Dims{5, 255}, Dims{5, 256}, Dims{5, 257}, Dims{3, 600}, Dims{0, 20},
                     Dims{6, 9, 40}}) {
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
      Graph g;
      Expr x = g.input("x", dtype, Shape::from_dims(shape));
      Tensor value = random_tensor(dtype, shape, rng);
      std::int64_t n = value.numel();
      for (std::int64_t i = 0; i < n; i += 3) value.set_double(i, 7.0);
      if (is_float(dtype)) {
        for (std::int64_t i = 1; i < n; i += 17) value.set_double(i, i % 2 ? -0.0 : 0.0);
        for (std::int64_t i = 0; i < n && i < 50; i += 10) value.set_double(i, nan);
        if (n > 0) value.set_double(n - 1, nan);
      }
      std::vector<Expr> outputs = {argmax(x, Axes(0)), argmin(x, Axes(0))};
      if (shape.size() == 3) {
        outputs.push_back(argmax(x, Axes(1)));
        outputs.push_back(argmin(x, Axes(1), true));
      }
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        check_jit_matches_reference({x}, outputs, {value},
                                    fmt::format("{} {} at {} threads", dtype_name(dtype),
                                                dims_to_string(shape), threads));
      }
      set_num_threads(0);
    }
  }
}

TEST_CASE("jit float32 products round once from double") {
  // Rows 0 and 1 and columns 4 and 5 hold two factors of 1e30 and two of 1e-30. The large
  // ones come first in row 0 and column 4, where float32 partial products overflow. In row
  // 1 and column 5 they underflow. Every exact product is 1.
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 64});
  Tensor value = Tensor::full(DType::Float32, {6, 64}, 1.0);
  auto set = [&](std::int64_t row, std::int64_t column, double v) { value.set_double(row * 64 + column, v); };
  for (int k = 0; k < 4; ++k) {
    double first = k < 2 ? 1e30 : 1e-30;
    set(0, k, first);
    set(1, k, 1 / first);
    set(2 + k, 4, first);
    set(2 + k, 5, 1 / first);
  }
  std::vector<Expr> outputs = {prod(x, Axes(1)), prod(x, Axes(0)), prod(x * 2.0, Axes(1))};
  check_jit_matches_reference({x}, outputs, {value}, "float32 products");

  // Alternating 1e30 and 1e-30 over a whole row: in vector lanes the partial products
  // would overflow and underflow, and inf * 0 gave NaN. Products keep their order, so they
  // match the evaluator bit for bit.
  Expr v = g.input("v", DType::Float32, {64});
  Tensor alternating = Tensor::empty(DType::Float32, {64});
  for (std::int64_t i = 0; i < 64; ++i) alternating.set_double(i, i % 2 == 0 ? 1e30 : 1e-30);
  check_jit_matches_reference({v}, {prod(v), prod(reshape(v, {2, 32}), Axes(1))}, {alternating},
                              "alternating products", 0.0);

  Feeds feeds = {{"x", value}};
  Tensor rows = evaluate(outputs[0], feeds);
  Tensor columns = evaluate(outputs[1], feeds);
  for (std::int64_t i = 0; i < 6; ++i) CHECK(rows.get_double(i) == doctest::Approx(1.0).epsilon(1e-6));
  for (std::int64_t i = 0; i < 64; ++i) CHECK(columns.get_double(i) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("jit float32 sum of ten million values is accurate") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x}, {sum(x)}, {}, options);
  std::int64_t n = 10'000'000;
  Tensor value = Tensor::empty(DType::Float32, {n});
  double exact = 0;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    float v = dist(rng);
    value.data<float>()[i] = v;
    exact += v;
  }
  double got = f({value})[0].item();
  CHECK(std::abs(got - exact) / exact < 1e-6);
}

TEST_CASE("jit float32 column sums round once") {
  // Every float32 sum accumulates in double and rounds once, whichever axis it reduces:
  // 2^24 + 1 + 1 + 1 + 1 is 2^24 + 4 exactly, while float32 additions would stay at 2^24.
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", "m"});
  Expr y = g.input("y", DType::Float32, {"n", "m"});
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x, y}, {sum(x, Axes{0}), mean(x, Axes{0}), sum(x * y, Axes{0})}, {}, options);
  Tensor column = Tensor::empty(DType::Float32, {5, 3});
  Tensor ones = Tensor::empty(DType::Float32, {5, 3});
  for (std::int64_t i = 0; i < 15; ++i) {
    column.data<float>()[i] = i < 3 ? 16777216.0f : 1.0f;
    ones.data<float>()[i] = 1.0f;
  }
  std::vector<Tensor> out = f({column, ones});
  for (std::int64_t j = 0; j < 3; ++j) {
    CHECK(out[0].data<float>()[j] == 16777220.0f);
    CHECK(out[1].data<float>()[j] == static_cast<float>(16777220.0 / 5));
    CHECK(out[2].data<float>()[j] == 16777220.0f);
  }

  // Random columns, wider than one tile of the accumulator (512), against float64 sums.
  std::int64_t rows = 3000, columns = 1100;
  Tensor value = Tensor::empty(DType::Float32, {rows, columns});
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
  std::vector<double> exact(static_cast<std::size_t>(columns), 0.0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < columns; ++c) {
      float v = dist(rng);
      value.data<float>()[r * columns + c] = v;
      exact[static_cast<std::size_t>(c)] += v;
    }
  Tensor sums = f({value, value})[0];
  for (std::int64_t c = 0; c < columns; ++c) {
    INFO("column " << c);
    REQUIRE(sums.data<float>()[c] == static_cast<float>(exact[static_cast<std::size_t>(c)]));
  }
}

TEST_CASE("jit matmul in every rank combination") {
  std::mt19937_64 rng(22);
  struct Case {
    Shape a, b;
    Dims da, db;
  };
  std::vector<Case> cases = {
      {{"k"}, {"k"}, {7}, {7}},
      {{"m", "k"}, {"k"}, {5, 7}, {7}},
      {{"k"}, {"k", "n"}, {7}, {7, 3}},
      {{"m", "k"}, {"k", "n"}, {5, 7}, {7, 3}},
      {{"m", "k"}, {"k", "n"}, {130, 70}, {70, 90}},
      {{2, "m", "k"}, {2, "k", "n"}, {2, 5, 7}, {2, 7, 3}},
      {{2, "m", "k"}, {"k", "n"}, {2, 50, 70}, {70, 30}},
      {{"m", "k"}, {3, "k", "n"}, {5, 7}, {3, 7, 3}},
      {{"m", "k"}, {"k", "n"}, {0, 7}, {7, 3}},
      {{"m", "k"}, {"k", "n"}, {5, 0}, {0, 3}},
  };
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    for (const Case& c : cases) {
      Graph g;
      Expr a = g.input("a", dtype, c.a);
      Expr b = g.input("b", dtype, c.b);
      check_jit_matches_reference({a, b}, {matmul(a, b)},
                                  {random_tensor(dtype, c.da, rng), random_tensor(dtype, c.db, rng)},
                                  fmt::format("matmul {} {} by {}", dtype_name(dtype), dims_to_string(c.da),
                                              dims_to_string(c.db)),
                                  dtype == DType::Float32 ? 1e-4 : -1);
    }
  }
}

TEST_CASE("jit fused matmul with bias, activation and transposes") {
  std::mt19937_64 rng(23);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (std::int64_t m : {3, 200}) {
        Graph g;
        Expr a = g.input("a", DType::Float32, ta ? Shape{6, "m"} : Shape{"m", 6});
        Expr b = g.input("b", DType::Float32, tb ? Shape{64, 6} : Shape{6, 64});
        Expr bias = g.input("bias", DType::Float32, {64});
        Expr out = fused_matmul(a, b, bias, OpKind::Sigmoid, ta, tb);
        Expr plain = fused_matmul(a, b, Expr(), OpKind::Param, ta, tb);
        check_jit_matches_reference({a, b, bias}, {out, plain},
                                    {random_tensor(DType::Float32, ta ? Dims{6, m} : Dims{m, 6}, rng),
                                     random_tensor(DType::Float32, tb ? Dims{64, 6} : Dims{6, 64}, rng),
                                     random_tensor(DType::Float32, {64}, rng)},
                                    fmt::format("fused_matmul ta={} tb={} m={}", ta, tb, m), 1e-4);
      }
    }
  }
}

TEST_CASE("jit row products apply activations to partial vectors") {
  // Widths of one partial vector, several whole ones and a partial last one, with inputs
  // large enough that sigmoid reaches its tiny values below -87 and ReLU its zeros.
  std::mt19937_64 rng(29);
  for (std::int64_t n : {5, 32, 37}) {
    for (OpKind activation : {OpKind::Sigmoid, OpKind::Relu, OpKind::Tanh}) {
      for (DType dtype : {DType::Float32, DType::Float64}) {
        Graph g;
        Expr a = g.input("a", dtype, {"m", 4});
        Expr b = g.input("b", dtype, {4, n});
        Expr bias = g.input("bias", dtype, {n});
        Expr out = fused_matmul(a, b, bias, activation, false, false);
        check_jit_matches_reference({a, b, bias}, {out},
                                    {random_tensor(dtype, {9, 4}, rng, -6, 6), random_tensor(dtype, {4, n}, rng, -6, 6),
                                     random_tensor(dtype, {n}, rng, -30, 30)},
                                    fmt::format("{} n={} {}", op_name(activation), n, dtype_name(dtype)), 1e-4);
      }
    }
  }
}

TEST_CASE("jit float32 weight gradients over many rows stay accurate") {
  // x^T @ g over 100,000 rows with a 16 x 4 result, the weight gradient of a narrow layer,
  // against the same product in double. Rows of random signs keep the sums small next to
  // their terms, which exposes a long float32 sum.
  std::mt19937_64 rng(41);
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 16});
  Expr d = g.input("d", DType::Float32, {"n", 4});
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x, d}, {matmul(transpose(x, {1, 0}), d)}, {}, options);
  const std::int64_t rows = 100000;
  Tensor xs = random_tensor(DType::Float32, {rows, 16}, rng, -1, 1);
  Tensor ds = random_tensor(DType::Float32, {rows, 4}, rng, -1, 1);
  Tensor result = f({xs, ds})[0];
  double worst = 0;
  double largest = 0;
  for (std::int64_t i = 0; i < 16; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) {
      double exact = 0;
      for (std::int64_t r = 0; r < rows; ++r) exact += xs.get_double(r * 16 + i) * ds.get_double(r * 4 + j);
      worst = std::max(worst, std::abs(result.get_double(i * 4 + j) - exact));
      largest = std::max(largest, std::abs(exact));
    }
  }
  INFO("largest error " << worst << " for results up to " << largest);
  // Blocks of 256 rows whose partial sums add up apart; one float32 sum over every row is
  // about 20 times worse here.
  CHECK(worst / largest < 2e-6);
}

TEST_CASE("jit matrix-vector products through BLAS") {
  // Sizes above the BLAS threshold with one output column or one output row, which run as
  // gemv, in every transpose combination, with and without a bias and an activation, at
  // one and two threads.
  std::mt19937_64 rng(25);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          Graph g;
          // One output column: op(A) is 300 x 200, op(B) is 200 x 1.
          Expr a = g.input("a", dtype, ta ? Shape{200, 300} : Shape{300, 200});
          Expr column = g.input("column", dtype, tb ? Shape{1, 200} : Shape{200, 1});
          Expr v = g.input("v", dtype, {200});
          // One output row: op(R) is 1 x 300, op(B) is 300 x 200.
          Expr row = g.input("row", dtype, ta ? Shape{300, 1} : Shape{1, 300});
          Expr b = g.input("b", dtype, tb ? Shape{200, 300} : Shape{300, 200});
          Expr w = g.input("w", dtype, {300});
          Expr bias = g.input("bias", dtype, {200});
          std::vector<Expr> outputs = {
              fused_matmul(a, column, Expr(), OpKind::Param, ta, tb),
              fused_matmul(a, v, Expr(), OpKind::Param, ta, false),
              fused_matmul(row, b, Expr(), OpKind::Param, ta, tb),
              fused_matmul(w, b, bias, OpKind::Tanh, false, tb),
          };
          std::vector<Tensor> arguments = {
              random_tensor(dtype, ta ? Dims{200, 300} : Dims{300, 200}, rng),
              random_tensor(dtype, tb ? Dims{1, 200} : Dims{200, 1}, rng),
              random_tensor(dtype, {200}, rng),
              random_tensor(dtype, ta ? Dims{300, 1} : Dims{1, 300}, rng),
              random_tensor(dtype, tb ? Dims{200, 300} : Dims{300, 200}, rng),
              random_tensor(dtype, {300}, rng),
              random_tensor(dtype, {200}, rng)};
          check_jit_matches_reference({a, column, v, row, b, w, bias}, outputs, arguments,
                                      fmt::format("matrix-vector {} ta={} tb={} threads={}", dtype_name(dtype),
                                                  ta, tb, threads),
                                      dtype == DType::Float32 ? 1e-4 : -1);
        }
      }
    }
  }
  set_num_threads(0);  // back to the default
}

TEST_CASE("jit layout ops") {
  std::mt19937_64 rng(24);
  Graph g;
  Expr x = g.input("x", DType::Float32, {4, 5, 6});
  Expr v = g.input("v", DType::Float64, {6});
  Expr idx = g.input("idx", DType::Int64, {3});
  Expr idx2 = g.input("idx2", DType::Int32, {4, 2, 6});
  std::vector<Expr> outputs = {
      transpose(x, {2, 0, 1}),
      transpose(x),
      reshape(x, {20, 6}),
      expand_dims(v, 0),
      squeeze(expand_dims(v, 1)),
      broadcast_to(v, {3, 6}),
      concatenate({x, x * 2.0}, 1),
      slice(x, 1, 1, 4, 2),
      slice(x, 2, std::nullopt, std::nullopt, -1),
      slice(x, 0, -3, std::nullopt, 1),
      take(x, idx, 1),
      take(v, idx, 0),
      take_along_axis(x, idx2, 1),
      one_hot(idx, 5),
      one_hot(idx, 5, DType::Int32),
  };
  Tensor indices = Tensor::from_list({2, -1, 9}, DType::Int64);
  Tensor along = random_tensor(DType::Int32, {4, 2, 6}, rng);
  check_jit_matches_reference({x, v, idx, idx2}, outputs,
                              {random_tensor(DType::Float32, {4, 5, 6}, rng), random_tensor(DType::Float64, {6}, rng),
                               indices, along},
                              "layout ops");
}

TEST_CASE("jit gradient scatter ops") {
  std::mt19937_64 rng(25);
  Graph g;
  Expr src = g.input("src", DType::Float32, {4, 2, 6});
  Expr idx = g.input("idx", DType::Int64, {2});
  Expr idx2 = g.input("idx2", DType::Int64, {4, 2, 6});
  std::vector<Expr> outputs = {
      slice_scatter(src, Shape{4, 5, 6}, 1, 1, 5, 2),
      index_add(src, idx, Shape{4, 3, 6}, 1),
      scatter_add_along_axis(src, idx2, Shape{4, 5, 6}, 1),
  };
  Tensor repeated = Tensor::from_list({1, 1}, DType::Int64);
  Tensor along = Tensor::full(DType::Int64, {4, 2, 6}, 3);
  along.set_double(5, 0);
  check_jit_matches_reference({src, idx, idx2}, outputs, {random_tensor(DType::Float32, {4, 2, 6}, rng), repeated, along},
                              "scatter ops");
}

TEST_CASE("jit softmax over a leading axis") {
  // Inner sizes below, at and above the 64-lane tile make tiles whole, partial and clipped
  // where a thread's lanes end. Some lanes hold NaN, +inf, -inf or only -inf. The test runs
  // at one and two threads.
  std::mt19937_64 rng(27);
  double inf = std::numeric_limits<double>::infinity();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (Dims shape : {Dims{3, 5, 7}, Dims{4, 3, 64}, Dims{5, 2, 130}, Dims{17, 1, 65}}) {
        Graph g;
        Expr z = g.input("z", dtype, Shape::from_dims(shape));
        Tensor logits = random_tensor(dtype, shape, rng, -5, 5);
        std::int64_t inner = shape[2];
        // Lanes of softmax over axis 0 are (j, k) positions. Element (a, j, k) is at
        // a * shape[1] * inner + j * inner + k.
        logits.set_double(1 * shape[1] * inner + 1, std::nan(""));
        logits.set_double(2 * shape[1] * inner + 2, inf);
        logits.set_double(0 * shape[1] * inner + 3, -inf);
        for (std::int64_t a = 0; a < shape[0]; ++a) logits.set_double(a * shape[1] * inner + 4, -inf);
        logits.set_double(0, 1000);
        std::vector<Expr> outputs = {softmax(z, 0),       log_softmax(z, 0),         softmax(z, 1),
                                     log_softmax(z, 1),   logsumexp(z, Axes(0)),     logsumexp(z, Axes(1), true),
                                     logsumexp(z, Axes(-1))};
        check_jit_matches_reference({z}, outputs, {logits},
                                    fmt::format("softmax tiles {} {} threads={}", dtype_name(dtype),
                                                dims_to_string(shape), threads),
                                    dtype == DType::Float32 ? 1e-4 : -1);
      }
    }
  }
  set_num_threads(0);  // back to the default
}

TEST_CASE("jit softmax gives equal outputs for equal inputs of a row") {
  // Every element of a row goes through the same vector exp, the last partial vector
  // masked, so ties stay exact ties and argmax of the softmax is the first of them.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t width : {9, 17, 33, 65}) {
      Graph g;
      Expr x = g.input("x", dtype, {"n", width});
      Expr probabilities = softmax(x, 1);
      Function f = compile({x}, {probabilities, argmax(probabilities, 1), log_softmax(x, 1)});
      Tensor value = Tensor::full(dtype, {2, width}, -200.0);
      for (std::int64_t i = 0; i < width; ++i)
        if (i == 0 || i >= width / 2) value.set_double(i, 0.0);
      std::vector<Tensor> out = f({value});
      INFO("rows of " << width << " " << dtype_name(dtype));
      for (std::int64_t i = width / 2; i < width; ++i) {
        CHECK(out[0].get_double(i) == out[0].get_double(0));
        CHECK(out[2].get_double(i) == out[2].get_double(0));
      }
      CHECK(out[1].get_int64(0) == 0);
      // The second row is all -200: a uniform softmax.
      for (std::int64_t i = 1; i < width; ++i) CHECK(out[0].get_double(width + i) == out[0].get_double(width));
      CHECK(out[1].get_int64(1) == 0);
    }
  }
}

TEST_CASE("jit softmax family and cross-entropies") {
  std::mt19937_64 rng(26);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr z = g.input("z", dtype, {"n", 5});
    Expr t = g.input("t", dtype, {"n", 5});
    Expr label_argument = g.input("label", DType::Int64, {"n"});
    // A computed label is not checked at the call, so the labels -1 and 5 below reach the
    // kernels, which give NaN for them.
    Expr label = label_argument + 0;
    Expr gr = g.input("g", dtype, {"n"});
    Expr p = softmax(z);
    std::vector<Expr> outputs = {
        softmax(z, 1),
        softmax(z, 0),
        log_softmax(z, 1),
        log_softmax(z, 0),
        categorical_crossentropy(p, t),
        categorical_crossentropy(p, label),
        softmax_crossentropy(z, t),
        softmax_crossentropy(z, label),
        softmax_crossentropy_grad(z, t, gr),
        softmax_crossentropy_grad(z, label, gr),
    };
    for (std::int64_t n : {0, 1, 7, 100}) {
      Tensor logits = random_tensor(dtype, {n, 5}, rng, -5, 5);
      if (n > 1) {
        logits.set_double(0, 1000);
        logits.set_double(1, -1000);
      }
      if (n > 3) {
        // A row with +inf is NaN throughout in softmax and the gradients, and -inf gives a
        // probability of 0.
        logits.set_double(10, std::numeric_limits<double>::infinity());
        logits.set_double(16, -std::numeric_limits<double>::infinity());
      }
      Tensor targets = random_tensor(dtype, {n, 5}, rng, 0, 1);
      Tensor labels = Tensor::empty(DType::Int64, {n});
      for (std::int64_t i = 0; i < n; ++i) labels.set_double(i, static_cast<double>(i % 7) - 1);
      check_jit_matches_reference({z, t, label_argument, gr}, outputs,
                                  {logits, targets, labels, random_tensor(dtype, {n}, rng)},
                                  fmt::format("softmax family {} n={}", dtype_name(dtype), n),
                                  dtype == DType::Float32 ? 1e-4 : -1);
    }
  }
}

TEST_CASE("jit sparse cross-entropy gradients over symbolic classes") {
  std::mt19937_64 rng(31);
  Graph g;
  Expr p = g.input("p", DType::Float64, {"n", "c"});
  Expr z = g.input("z", DType::Float64, {"n", "c"});
  Expr label = g.input("label", DType::Int64, {"n"});
  Expr dz = grad(sum(softmax_crossentropy(z, label)), z);
  std::vector<Expr> outputs = {grad(sum(categorical_crossentropy(p, label)), p), dz,
                               grad(sum(dz * dz), z)};
  for (std::int64_t classes : {1, 3, 17}) {
    std::int64_t n = 9;
    Tensor labels = Tensor::empty(DType::Int64, {n});
    for (std::int64_t i = 0; i < n; ++i) labels.set_double(i, static_cast<double>(i % classes));
    check_jit_matches_reference({p, z, label}, outputs,
                                {random_tensor(DType::Float64, {n, classes}, rng, 0.1, 1),
                                 random_tensor(DType::Float64, {n, classes}, rng, -3, 3), labels},
                                fmt::format("sparse cross-entropy gradients, {} classes", classes));
  }
}

TEST_CASE("jit softmax cross-entropy keeps its digits for large logits") {
  // Shifting every logit of a row by c leaves the loss and its gradient unchanged. The
  // rows (c, c, c - 1) and (c - 1, c, c + 0.5) are exact in float32 up to c = 1e5, where
  // logsumexp(z) itself is rounded to 0.008.
  for (double c : {1e3, 1e4, 1e5}) {
    Graph g;
    Expr z = g.input("z", DType::Float32, {"n", 3});
    Expr label = g.input("label", DType::Int64, {"n"});
    Expr t = g.input("t", DType::Float32, {"n", 3});
    Expr gr = g.input("g", DType::Float32, {"n"});
    std::vector<std::vector<double>> shifted = {{0, 0, -1}, {-1, 0, 0.5}};
    std::vector<std::int64_t> labels = {2, 0};
    Tensor logits = Tensor::empty(DType::Float32, {2, 3});
    Tensor hot = Tensor::zeros(DType::Float32, {2, 3});
    Tensor label_values = Tensor::empty(DType::Int64, {2});
    Tensor ones = Tensor::full(DType::Float32, {2}, 1.0);
    // Losses and gradients in float64 from the shifted rows.
    Tensor loss = Tensor::empty(DType::Float32, {2});
    Tensor gradient = Tensor::empty(DType::Float32, {2, 3});
    for (std::int64_t r = 0; r < 2; ++r) {
      const std::vector<double>& row = shifted[static_cast<std::size_t>(r)];
      double sum = 0;
      for (double v : row) sum += std::exp(v - 0.5 * (r == 1));
      double log_sum = std::log(sum) + 0.5 * (r == 1);
      std::int64_t y = labels[static_cast<std::size_t>(r)];
      label_values.set_double(r, static_cast<double>(y));
      hot.set_double(r * 3 + y, 1);
      loss.set_double(r, log_sum - row[static_cast<std::size_t>(y)]);
      for (std::int64_t j = 0; j < 3; ++j) {
        logits.set_double(r * 3 + j, c + row[static_cast<std::size_t>(j)]);
        gradient.set_double(r * 3 + j, std::exp(row[static_cast<std::size_t>(j)] - log_sum) - (j == y));
      }
    }
    std::vector<Expr> outputs = {softmax_crossentropy(z, label), softmax_crossentropy(z, t),
                                 softmax_crossentropy_grad(z, label, gr), softmax_crossentropy_grad(z, t, gr)};
    std::vector<Tensor> expected = {loss, loss, gradient, gradient};
    CompileOptions options;
    options.use_cache = false;
    Function f = compile({z, label, t, gr}, outputs, {}, options);
    std::vector<Tensor> compiled = f({logits, label_values, hot, ones});
    std::vector<Tensor> reference = evaluate(outputs, {{"z", logits}, {"label", label_values}, {"t", hot}, {"g", ones}});
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      check_close(compiled[i], expected[i], 1e-6, fmt::format("compiled output {} at c = {}", i, c));
      check_close(reference[i], expected[i], 1e-6, fmt::format("reference output {} at c = {}", i, c));
    }
  }
}

TEST_CASE("jit gradients of saturated log and exp forms") {
  // Compiled with the whole optimizer and against the evaluator on the graph as written:
  // both take the stable derivatives, so no element is NaN.
  Graph g;
  Expr x = g.input("x", DType::Float32, {"m"});
  Expr z = g.input("z", DType::Float32, {"n", 3});
  Expr t = g.input("t", DType::Float32, {"n", 3});
  std::vector<Expr> outputs = {grad(sum(log(sigmoid(x))), x), grad(sum(log1p(-sigmoid(x))), x),
                               grad(sum(log(1.0 - sigmoid(x))), x),
                               grad(sum(log(softmax(z)) * t), z),
                               grad(sum(categorical_crossentropy(softmax(z), t)), z),
                               grad(sum(log1p(exp(x))), x),
                               grad(sum(log(sum(exp(z), Axes(1)))), z),
                               grad(sum(exp(z) / sum(exp(z), Axes(1), true) * t), z)};
  Tensor xs = Tensor::from_list({-200, -90, -30, -1, 0, 2, 30, 90, 200}, DType::Float32);
  Tensor zs = Tensor::from_list({{-200, 0, 200}, {1, 2, 3}, {100, -100, 0}}, DType::Float32);
  Tensor ts = Tensor::from_list({{1, 0, 0}, {0, 0.5, 0.5}, {0, 1, 0}}, DType::Float32);
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x, z, t}, outputs, {}, options);
  std::vector<Tensor> compiled = f({xs, zs, ts});
  std::vector<Tensor> reference = evaluate(outputs, {{"x", xs}, {"z", zs}, {"t", ts}});
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (std::int64_t k = 0; k < reference[i].numel(); ++k)
      REQUIRE(std::isfinite(reference[i].get_double(k)));
    check_close(compiled[i], reference[i], 1e-6, fmt::format("gradient {}", i));
  }
}

TEST_CASE("jit fused reduction") {
  std::mt19937_64 rng(27);
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 6});
  Expr y = g.input("y", DType::Float32, {6});
  Expr body = square(param(g, 0, DType::Float32) - param(g, 1, DType::Float32));
  std::vector<Expr> outputs;
  for (OpKind op : {OpKind::Sum, OpKind::Mean, OpKind::Max, OpKind::Min, OpKind::Prod})
    for (const Axes& axes : {Axes(), Axes(0), Axes(1)}) outputs.push_back(fused_reduction(op, body, {x, y}, axes, false));
  // Row counts 0 (a mean over no rows is NaN), 1 and 9; the check also runs in row blocks.
  for (std::int64_t rows : {0, 1, 9})
    check_jit_matches_reference({x, y}, outputs,
                                {random_tensor(DType::Float32, {rows, 6}, rng), random_tensor(DType::Float32, {6}, rng)},
                                fmt::format("fused reduction of {} rows", rows), 1e-4);
  // A fused mean is the mean of the body's values.
  Tensor rows = Tensor::from_list({{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}});
  Tensor zero = Tensor::zeros(DType::Float32, {6});
  Function mean_of_squares = compile({x, y}, {fused_reduction(OpKind::Mean, body, {x, y}, Axes(0), false)});
  Tensor means = mean_of_squares({rows, zero})[0];
  CHECK(means.get_double(0) == doctest::Approx((1.0 + 49.0) / 2));
  CHECK(means.get_double(5) == doctest::Approx((36.0 + 144.0) / 2));
  CHECK_THROWS_AS(fused_reduction(OpKind::Mean, param(g, 0, DType::Int64), {g.input("k", DType::Int64, {3})}, Axes(), false),
                  UserError);
}
