// Tests of the evaluator's neural-network ops: softmax and log_softmax along each axis,
// the cross-entropies, the fused softmax cross-entropy and its gradient, running sums and
// sorting, including
// logits far apart such as (1000, 0, -1000) in float32.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;
using damo::test::values_of;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Expr input_for(Graph& g, const std::string& name, const Tensor& value) {
  return g.input(name, value.dtype(), Shape::from_dims(value.shape()));
}

// log_softmax of one row in float64, shifted by the row maximum.
std::vector<double> ref_log_softmax(const std::vector<double>& row) {
  double top = -std::numeric_limits<double>::infinity();
  for (double v : row) top = std::max(top, v);
  double sum = 0;
  for (double v : row) sum += std::exp(v - top);
  std::vector<double> out;
  for (double v : row) out.push_back(v - top - std::log(sum));
  return out;
}

// Row r (of the last axis, length n) of t.
std::vector<double> row_of(const Tensor& t, std::int64_t r, std::int64_t n) {
  std::vector<double> row;
  for (std::int64_t j = 0; j < n; ++j) row.push_back(t.get_double(r * n + j));
  return row;
}

}  // namespace

TEST_CASE("eval softmax and log_softmax along each axis") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor x = test::random_tensor(dtype, {3, 5, 7}, 61, -4, 4);
    for (int axis = 0; axis < 3; ++axis) {
      INFO(dtype_name(dtype), " axis ", axis);
      Graph g;
      Expr in = input_for(g, "x", x);
      std::vector<double> soft(static_cast<std::size_t>(x.numel()));
      std::vector<double> log_soft(soft.size());
      // Gather each line along axis, compute its reference and scatter it back.
      Dims strides = {35, 7, 1};
      std::int64_t n = x.dim(axis);
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        Dims index = test::unravel(i, x.shape());
        if (index[axis] != 0) continue;
        std::vector<double> line;
        for (std::int64_t j = 0; j < n; ++j) line.push_back(x.get_double(i + j * strides[axis]));
        std::vector<double> log_line = ref_log_softmax(line);
        for (std::int64_t j = 0; j < n; ++j) {
          log_soft[i + j * strides[axis]] = log_line[j];
          soft[i + j * strides[axis]] = std::exp(log_line[j]);
        }
      }
      check_values(evaluate(softmax(in, axis), {{"x", x}}), dtype, x.shape(), soft);
      check_values(evaluate(log_softmax(in, axis - 3), {{"x", x}}), dtype, x.shape(), log_soft);
    }
  }
}

// Values with many ties, and for floats NaN, -0.0 and +0.0 among them.
Tensor tied_values(DType dtype, const Dims& dims, std::uint64_t seed) {
  Tensor x = test::random_tensor(dtype, dims, seed, -3, 3);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    double v = std::floor(x.get_double(i));
    if (is_float(dtype) && i % 7 == 3) v = kNaN;
    if (is_float(dtype) && i % 5 == 1) v = i % 2 == 0 ? 0.0 : -0.0;
    x.set_double(i, v);
  }
  return x;
}

// True when a comes before b in argsort's order: smaller first (larger first when
// descending), NaN above every number, equal values in their original order.
bool sorts_before(double a, std::int64_t i, double b, std::int64_t j, bool descending) {
  auto rank = [](double v) { return std::isnan(v) ? 1 : 0; };
  if (rank(a) != rank(b)) return descending ? rank(a) > rank(b) : rank(a) < rank(b);
  if (rank(a) == 0 && a != b) return descending ? a > b : a < b;
  return i < j;
}

TEST_CASE("eval argsort and sort along each axis") {
  for (Dims dims : {Dims{3, 5, 7}, Dims{0, 4, 2}, Dims{1, 1, 1}, Dims{2, 9, 1}}) {
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool}) {
      Tensor x = tied_values(dtype, dims, 63);
      for (int axis = 0; axis < 3; ++axis) {
        for (bool descending : {false, true}) {
          INFO(dtype_name(dtype), " ", dims_to_string(dims), " axis ", axis, " descending ", descending);
          Dims strides = {dims[1] * dims[2], dims[2], 1};
          std::int64_t stride = strides[static_cast<std::size_t>(axis)];
          std::int64_t n = dims[static_cast<std::size_t>(axis)];
          // An element's place in its line is the number of elements that sort before it.
          std::vector<double> positions(static_cast<std::size_t>(x.numel()));
          std::vector<double> sorted(static_cast<std::size_t>(x.numel()));
          for (std::int64_t i = 0; i < x.numel(); ++i) {
            Dims index = test::unravel(i, x.shape());
            std::int64_t j = index[static_cast<std::size_t>(axis)];
            std::int64_t base = i - j * stride;
            std::int64_t place = 0;
            for (std::int64_t k = 0; k < n; ++k)
              if (sorts_before(x.get_double(base + k * stride), k, x.get_double(i), j, descending)) ++place;
            positions[static_cast<std::size_t>(base + place * stride)] = static_cast<double>(j);
            sorted[static_cast<std::size_t>(base + place * stride)] = x.get_double(i);
          }
          Graph g;
          Expr input = input_for(g, "x", x);
          int signed_axis = axis - (descending ? 3 : 0);
          check_values(evaluate(argsort(input, signed_axis, descending), {{"x", x}}), DType::Int64,
                       x.shape(), positions);
          check_values(evaluate(sort(input, signed_axis, descending), {{"x", x}}), dtype, x.shape(), sorted);
        }
      }
    }
  }
  Graph g;
  CHECK_THROWS_WITH_AS(argsort(g.scalar(1.0, DType::Float32)),
                       "argsort: the operand is a scalar; it needs an axis to sort along, so give it "
                       "rank 1 or more (reshape(x, [1]))",
                       UserError);
  CHECK_THROWS_WITH_AS(sort(g.scalar(1.0, DType::Float32)),
                       "sort: the operand is a scalar; it needs an axis to sort along, so give it "
                       "rank 1 or more (reshape(x, [1]))",
                       UserError);
}

TEST_CASE("eval cumsum along each axis") {
  // Lengths 0, 1 and odd ones along the summed axis, in both directions.
  for (Dims dims : {Dims{3, 5, 7}, Dims{0, 4, 2}, Dims{1, 1, 1}, Dims{2, 9, 1}}) {
    for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Bool}) {
      Tensor x = test::random_tensor(dtype, dims, 62, -4, 4);
      for (int axis = 0; axis < 3; ++axis) {
        for (bool reverse : {false, true}) {
          INFO(dtype_name(dtype), " ", dims_to_string(dims), " axis ", axis, " reverse ", reverse);
          Dims strides = {dims[1] * dims[2], dims[2], 1};
          std::int64_t n = dims[static_cast<std::size_t>(axis)];
          std::vector<double> expected(static_cast<std::size_t>(x.numel()));
          for (std::int64_t i = 0; i < x.numel(); ++i) {
            Dims index = test::unravel(i, x.shape());
            if (index[static_cast<std::size_t>(axis)] != 0) continue;
            double sum = 0;
            for (std::int64_t k = 0; k < n; ++k) {
              std::int64_t at = i + (reverse ? n - 1 - k : k) * strides[static_cast<std::size_t>(axis)];
              sum += x.get_double(at);
              expected[static_cast<std::size_t>(at)] = sum;
            }
          }
          Graph g;
          DType result = is_float(dtype) ? dtype : DType::Int64;
          check_values(evaluate(cumsum(input_for(g, "x", x), axis - (reverse ? 3 : 0), reverse), {{"x", x}}),
                       result, x.shape(), expected);
        }
      }
    }
  }
  Graph g;
  CHECK_THROWS_WITH_AS(cumsum(g.scalar(1.0, DType::Float32), 0),
                       "cumsum: the operand is a scalar; it needs an axis to sum along, so give it "
                       "rank 1 or more (reshape(x, [1]))",
                       UserError);
  // float32 sums in double: 2^24 + 1 + 1 + 1 + 1 keeps each 1 that float32 addition would
  // round away, and 2^24 + 4 is a float32 value.
  Tensor big = Tensor::from_list({16777216.0, 1.0, 1.0, 1.0, 1.0}, DType::Float32);
  CHECK(evaluate(cumsum(input_for(g, "big", big), 0), {{"big", big}}).get_double(4) == 16777220.0);
}

TEST_CASE("eval softmax of extreme and special rows") {
  Graph g;
  Tensor x =
      Tensor::from_list({{1000, 0, -1000}, {kNaN, 1, 2}, {-1000, -1000, -1000}}, DType::Float32);
  Expr in = input_for(g, "x", x);
  check_values(evaluate(softmax(in), {{"x", x}}), DType::Float32, {3, 3},
               {1, 0, 0, kNaN, kNaN, kNaN, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  check_values(evaluate(log_softmax(in), {{"x", x}}), DType::Float32, {3, 3},
               {0, -1000, -2000, kNaN, kNaN, kNaN, -std::log(3.0), -std::log(3.0), -std::log(3.0)});

  Tensor empty = Tensor::zeros(DType::Float32, {3, 0});
  check_values(evaluate(softmax(input_for(g, "e", empty)), {{"e", empty}}), DType::Float32, {3, 0},
               {});
}

TEST_CASE("eval categorical and binary cross-entropy") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Graph g;
    Tensor p = test::random_tensor(dtype, {4, 5}, 62, 0.05, 1);
    Tensor t = test::random_tensor(dtype, {4, 5}, 63, 0, 1);
    std::vector<double> dense;
    for (int r = 0; r < 4; ++r) {
      double sum = 0;
      for (int j = 0; j < 5; ++j)
        sum += t.get_double(r * 5 + j) * std::log(p.get_double(r * 5 + j));
      dense.push_back(-sum);
    }
    Feeds feeds = {{"p", p}, {"t", t}};
    check_values(
        evaluate(categorical_crossentropy(input_for(g, "p", p), input_for(g, "t", t)), feeds),
        dtype, {4}, dense);

    Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 4, -1, 5}, {4});
    feeds["l"] = labels;
    check_values(
        evaluate(categorical_crossentropy(input_for(g, "p", p), input_for(g, "l", labels)), feeds),
        dtype, {4}, {-std::log(p.get_double(0)), -std::log(p.get_double(9)), kNaN, kNaN});

    Tensor q = test::random_tensor(dtype, {3, 1}, 64, 0.01, 0.99);
    Tensor s = test::random_tensor(dtype, {1, 4}, 65, 0, 1);
    feeds["q"] = q;
    feeds["s"] = s;
    std::vector<double> binary;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        double pi = q.get_double(i), tj = s.get_double(j);
        binary.push_back(-(tj * std::log(pi) + (1 - tj) * std::log(1 - pi)));
      }
    check_values(evaluate(binary_crossentropy(input_for(g, "q", q), input_for(g, "s", s)), feeds),
                 dtype, {3, 4}, binary);
  }
}

TEST_CASE("eval softmax cross-entropy stays finite for far logits") {
  // Rows of logits and targets; the last target row does not sum to 1.
  const std::vector<std::vector<double>> logits = {
      {1000, 0, -1000}, {1000, 0, -1000}, {1000, 0, -1000}, {-1000, 0, 1000}, {3, -1, 0.5}};
  const std::vector<std::vector<double>> targets = {
      {1, 0, 0}, {0, 1, 0}, {0.2, 0.3, 0.5}, {0.5, 0.5, 0}, {2, 0, 1}};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Graph g;
    Tensor z = Tensor::empty(dtype, {5, 3});
    Tensor t = Tensor::empty(dtype, {5, 3});
    std::vector<double> expected;
    for (int r = 0; r < 5; ++r)
      for (int j = 0; j < 3; ++j) {
        z.set_double(r * 3 + j, logits[r][j]);
        t.set_double(r * 3 + j, targets[r][j]);
      }
    // The reference reads the values rounded to dtype.
    for (int r = 0; r < 5; ++r) {
      std::vector<double> log_p = ref_log_softmax(row_of(z, r, 3));
      double loss = 0;
      for (int j = 0; j < 3; ++j) loss -= t.get_double(r * 3 + j) * log_p[j];
      expected.push_back(loss);
    }
    Tensor loss = evaluate(softmax_crossentropy(input_for(g, "z", z), input_for(g, "t", t)),
                           {{"z", z}, {"t", t}});
    check_values(loss, dtype, {5}, expected);
    for (std::int64_t r = 0; r < 5; ++r) CHECK(std::isfinite(loss.get_double(r)));

    Tensor labels = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 2, -1, 3}, {5});
    std::vector<double> sparse;
    for (int r = 0; r < 3; ++r) sparse.push_back(-ref_log_softmax(logits[r])[r]);
    sparse.push_back(kNaN);
    sparse.push_back(kNaN);
    check_values(evaluate(softmax_crossentropy(input_for(g, "z", z), input_for(g, "l", labels)),
                          {{"z", z}, {"l", labels}}),
                 dtype, {5}, sparse);
  }
}

TEST_CASE("eval softmax cross-entropy of a row with +inf is NaN") {
  // As log_softmax of such a row is NaN throughout, so are the losses and gradients.
  Graph g;
  double inf = std::numeric_limits<double>::infinity();
  Tensor z = Tensor::from_list({{inf, 0.0, 1.0}, {1.0, 2.0, 3.0}}, DType::Float64);
  Tensor t = Tensor::from_list({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}, DType::Float64);
  Tensor labels = Tensor::from_vector(std::vector<std::int64_t>{1, 0}, {2});
  Tensor ones = Tensor::from_list({1.0, 1.0}, DType::Float64);
  Feeds feeds = {{"z", z}, {"t", t}, {"l", labels}, {"g", ones}};
  Expr zi = input_for(g, "z", z), ti = input_for(g, "t", t), li = input_for(g, "l", labels);
  Expr gi = input_for(g, "g", ones);
  for (Expr loss : {softmax_crossentropy(zi, ti), softmax_crossentropy(zi, li)}) {
    Tensor value = evaluate(loss, feeds);
    CHECK(std::isnan(value.get_double(0)));
    CHECK(value.get_double(1) == doctest::Approx(-ref_log_softmax({1.0, 2.0, 3.0})[0]));
  }
  for (Expr gradient : {softmax_crossentropy_grad(zi, ti, gi), softmax_crossentropy_grad(zi, li, gi)}) {
    Tensor value = evaluate(gradient, feeds);
    for (std::int64_t j = 0; j < 3; ++j) CHECK(std::isnan(value.get_double(j)));
    CHECK(std::isfinite(value.get_double(3)));
  }
}

TEST_CASE("eval softmax cross-entropy gradient") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Graph g;
    Tensor z = test::random_tensor(dtype, {4, 7}, 66, -5, 5);
    z.set_double(0, 1000);
    z.set_double(1, -1000);
    Tensor t = test::random_tensor(dtype, {4, 7}, 67, 0, 1);  // rows do not sum to 1
    Tensor up = test::random_tensor(dtype, {4}, 68, -2, 2);
    Feeds feeds = {{"z", z}, {"t", t}, {"g", up}};

    std::vector<double> dense, sparse;
    std::vector<std::int64_t> label_values = {3, 0, 7, 6};
    for (int r = 0; r < 4; ++r) {
      std::vector<double> log_p = ref_log_softmax(row_of(z, r, 7));
      std::vector<double> target = row_of(t, r, 7);
      double target_sum = 0;
      for (double v : target) target_sum += v;
      bool valid = label_values[r] >= 0 && label_values[r] < 7;
      for (int j = 0; j < 7; ++j) {
        double p = std::exp(log_p[j]);
        double hot = j == label_values[r] ? 1 : 0;
        dense.push_back(up.get_double(r) * (p * target_sum - target[j]));
        sparse.push_back(valid ? up.get_double(r) * (p - hot) : kNaN);
      }
    }
    Expr ez = input_for(g, "z", z);
    Expr eg = input_for(g, "g", up);
    check_values(evaluate(softmax_crossentropy_grad(ez, input_for(g, "t", t), eg), feeds), dtype,
                 {4, 7}, dense);

    Tensor labels = Tensor::from_vector(label_values, {4});
    feeds["l"] = labels;
    check_values(evaluate(softmax_crossentropy_grad(ez, input_for(g, "l", labels), eg), feeds),
                 dtype, {4, 7}, sparse);
  }
}
