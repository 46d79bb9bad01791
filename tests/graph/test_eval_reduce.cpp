// Tests of the evaluator's reductions against float64 references: every reduction over
// several axis sets with and without keepdims, empty reductions, NaN and infinity
// handling, integer wrapping and the accuracy of float sums.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The values that each result element of a reduction over axes reduces, in row-major
// order within the reduced axes, and the result dims.
struct Groups {
  Dims dims;
  std::vector<std::vector<double>> values;
};

Groups group_values(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  auto reduced = [&](std::size_t axis) {
    for (std::int64_t a : axes)
      if (static_cast<std::size_t>(a) == axis) return true;
    return false;
  };
  Groups groups;
  Dims kept_dims;
  for (std::size_t i = 0; i < x.shape().size(); ++i) {
    if (!reduced(i)) kept_dims.push_back(x.shape()[i]);
    if (!reduced(i))
      groups.dims.push_back(x.shape()[i]);
    else if (keepdims)
      groups.dims.push_back(1);
  }
  groups.values.resize(static_cast<std::size_t>(test::numel_of(kept_dims)));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    Dims index = test::unravel(i, x.shape());
    std::int64_t out = 0;
    for (std::size_t a = 0; a < index.size(); ++a)
      if (!reduced(a)) out = out * x.shape()[a] + index[a];
    groups.values[static_cast<std::size_t>(out)].push_back(x.get_double(i));
  }
  return groups;
}

double ref_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double ref_prod(const std::vector<double>& v) {
  double p = 1;
  for (double x : v) p *= x;
  return p;
}

double ref_max(const std::vector<double>& v) {
  double m = -kInf;
  for (double x : v) {
    if (std::isnan(x)) return x;
    m = x > m ? x : m;
  }
  return m;
}

double ref_min(const std::vector<double>& v) {
  double m = kInf;
  for (double x : v) {
    if (std::isnan(x)) return x;
    m = x < m ? x : m;
  }
  return m;
}

double ref_argmax(const std::vector<double>& v) {
  if (v.empty()) return -1;
  std::size_t best = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return static_cast<double>(i);
    if (v[i] > v[best]) best = i;
  }
  return static_cast<double>(best);
}

double ref_argmin(const std::vector<double>& v) {
  if (v.empty()) return -1;
  std::size_t best = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return static_cast<double>(i);
    if (v[i] < v[best]) best = i;
  }
  return static_cast<double>(best);
}

double ref_logsumexp(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::exp(x);
  return std::log(s);
}

struct ReductionCase {
  OpKind op;
  double (*ref)(const std::vector<double>&);
};

const ReductionCase kFloatCases[] = {
    {OpKind::Sum, ref_sum},
    {OpKind::Mean, [](const std::vector<double>& v) { return ref_sum(v) / v.size(); }},
    {OpKind::Prod, ref_prod},
    {OpKind::Max, ref_max},
    {OpKind::Min, ref_min},
    {OpKind::ArgMax, ref_argmax},
    {OpKind::ArgMin, ref_argmin},
    {OpKind::LogSumExp, ref_logsumexp},
};

const std::vector<std::vector<std::int64_t>> kAxisSets = {
    {}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}, {0, 1, 2},
};

DType result_dtype(OpKind op, DType dtype) {
  if (op == OpKind::ArgMax || op == OpKind::ArgMin) return DType::Int64;
  if (op == OpKind::All || op == OpKind::Any) return DType::Bool;
  return dtype;
}

Tensor reduce_input(OpKind op, const Tensor& x, const std::vector<std::int64_t>& axes,
                    bool keepdims) {
  Graph g;
  Expr in = g.input("x", x.dtype(), Shape::from_dims(x.shape()));
  return evaluate(reduce(op, in, Axes(axes), keepdims), {{"x", x}});
}

}  // namespace

TEST_CASE("eval float reductions over axis sets") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // Values near 1 keep the product of 105 elements in range.
    Tensor x = test::random_tensor(dtype, {3, 5, 7}, 21, 0.5, 1.5);
    for (const ReductionCase& c : kFloatCases) {
      for (const auto& axes : kAxisSets) {
        for (bool keepdims : {false, true}) {
          INFO(op_name(c.op), " ", dtype_name(dtype), " axes ", dims_to_string(axes), " keepdims ",
               keepdims);
          Groups groups = group_values(x, axes, keepdims);
          std::vector<double> expected;
          for (const auto& group : groups.values) expected.push_back(c.ref(group));
          test::Tolerance tol = test::tolerance_for(dtype);
          if (c.op == OpKind::Prod && dtype == DType::Float32) tol = {2e-5, 0};
          check_values(reduce_input(c.op, x, axes, keepdims), result_dtype(c.op, dtype),
                       groups.dims, expected, tol);
        }
      }
    }
  }
}

// The float64 variance of v with ddof: squared deviations from the mean, divided by the
// count minus ddof.
double ref_var(const std::vector<double>& v, std::int64_t ddof) {
  double mean = ref_sum(v) / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return squares / std::max(static_cast<double>(v.size()) - static_cast<double>(ddof), 0.0);
}

TEST_CASE("eval var and std over axis sets") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // An offset of 1000 makes the one-pass formula mean(x^2) - mean(x)^2 lose the float32
    // variance of values spread over 1; the two-pass form keeps it.
    Tensor x = test::random_tensor(dtype, {3, 5, 7}, 22, 1000, 1001);
    for (const auto& axes : kAxisSets) {
      for (bool keepdims : {false, true}) {
        for (std::int64_t ddof : {0, 1}) {
          INFO(dtype_name(dtype), " axes ", dims_to_string(axes), " keepdims ", keepdims, " ddof ", ddof);
          Groups groups = group_values(x, axes, keepdims);
          std::vector<double> variances, deviations;
          for (const auto& group : groups.values) {
            variances.push_back(ref_var(group, ddof));
            deviations.push_back(std::sqrt(ref_var(group, ddof)));
          }
          Graph g;
          Expr in = g.input("x", dtype, Shape::from_dims(x.shape()));
          test::Tolerance tol = dtype == DType::Float32 ? test::Tolerance{1e-4, 1e-6} : test::tolerance_for(dtype);
          check_values(evaluate(var(in, Axes(axes), keepdims, ddof), {{"x", x}}), dtype, groups.dims,
                       variances, tol);
          check_values(evaluate(stddev(in, Axes(axes), keepdims, ddof), {{"x", x}}), dtype, groups.dims,
                       deviations, tol);
        }
      }
    }
  }
}

TEST_CASE("eval norm over axis sets") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor x = test::random_tensor(dtype, {3, 5, 7}, 23, -2, 2);
    for (const auto& axes : kAxisSets) {
      for (bool keepdims : {false, true}) {
        INFO(dtype_name(dtype), " axes ", dims_to_string(axes), " keepdims ", keepdims);
        Groups groups = group_values(x, axes, keepdims);
        std::vector<double> expected;
        for (const auto& group : groups.values) {
          double squares = 0;
          for (double v : group) squares += v * v;
          expected.push_back(std::sqrt(squares));
        }
        Graph g;
        Expr in = g.input("x", dtype, Shape::from_dims(x.shape()));
        check_values(evaluate(norm(in, Axes(axes), keepdims), {{"x", x}}), dtype, groups.dims, expected,
                     test::tolerance_for(dtype));
      }
    }
  }
  Graph g;
  CHECK(evaluate(norm(g.constant(Tensor::from_list({3, 4}, DType::Int32)))).item() == 5.0);
  CHECK(evaluate(norm(g.constant(Tensor::zeros(DType::Float64, {0})))).item() == 0.0);
  // NaN stays NaN through norm and stddev.
  Expr with_nan = g.constant(Tensor::from_list({std::nan(""), 1.0}, DType::Float64));
  CHECK(std::isnan(evaluate(norm(with_nan)).item()));
  CHECK(std::isnan(evaluate(stddev(with_nan)).item()));
}

TEST_CASE("eval var edge cases") {
  Graph g;
  // Integers become the default float, as in mean; one element with ddof 1 divides 0 by 0.
  CHECK(evaluate(var(g.constant(Tensor::from_list({1, 2, 3, 4}, DType::Int32)))).dtype() == DType::Float32);
  CHECK(evaluate(var(g.constant(Tensor::from_list({1, 2, 3, 4}, DType::Int32)))).item() == 1.25);
  CHECK(std::isnan(evaluate(var(g.constant(Tensor::from_list({5.0}, DType::Float64)), {}, false, 1)).item()));
  CHECK(evaluate(var(g.constant(Tensor::from_list({5.0}, DType::Float64)))).item() == 0.0);
  // A symbolic row count is read at run time: 4 rows, ddof 1.
  Expr rows = g.input("rows", DType::Float64, {"n", 2});
  Tensor values = Tensor::from_list({{1.0, 0.0}, {2.0, 0.0}, {3.0, 0.0}, {6.0, 0.0}}, DType::Float64);
  Tensor sample = evaluate(var(rows, Axes(0), false, 1), {{"rows", values}});
  CHECK(sample.get_double(0) == doctest::Approx(14.0 / 3));
  CHECK(sample.get_double(1) == 0.0);
  Tensor empty = evaluate(var(rows, Axes(0), false, 1), {{"rows", Tensor::zeros(DType::Float64, {0, 2})}});
  CHECK(std::isnan(empty.get_double(0)));
  CHECK_THROWS_WITH_AS(var(rows, Axes(0), false, -1),
                       "var: ddof -1 is negative; pass 0 for the population variance or 1 for the "
                       "sample variance",
                       UserError);
}

TEST_CASE("eval argmax ties, NaN and row-major index") {
  Tensor x = Tensor::from_list({{{1, 3}, {3, 2}}, {{0, 0}, {0, 0}}}, DType::Float32);
  // Over axes 1 and 2 the index is row-major within the 2 x 2 block; ties give the first.
  check_values(reduce_input(OpKind::ArgMax, x, {1, 2}, false), DType::Int64, {2}, {1, 0});
  check_values(reduce_input(OpKind::ArgMin, x, {1, 2}, true), DType::Int64, {2, 1, 1}, {0, 0});

  Tensor nan = Tensor::from_list({{1, kNaN, 5, kNaN}, {-kInf, 2, -kInf, 1}}, DType::Float64);
  check_values(reduce_input(OpKind::ArgMax, nan, {1}, false), DType::Int64, {2}, {1, 1});
  check_values(reduce_input(OpKind::ArgMin, nan, {1}, false), DType::Int64, {2}, {1, 0});
  check_values(reduce_input(OpKind::Max, nan, {1}, false), DType::Float64, {2}, {kNaN, 2});
  check_values(reduce_input(OpKind::Min, nan, {1}, false), DType::Float64, {2}, {kNaN, -kInf});
  check_values(reduce_input(OpKind::Sum, nan, {1}, false), DType::Float64, {2}, {kNaN, -kInf});
}

TEST_CASE("eval logsumexp with infinities") {
  Tensor x = Tensor::from_list(
      {{kInf, 1, 2}, {-kInf, -kInf, -kInf}, {kNaN, kInf, 0}, {1000, 0, -1000}, {-kInf, 0, 0}},
      DType::Float32);
  check_values(reduce_input(OpKind::LogSumExp, x, {1}, false), DType::Float32, {5},
               {kInf, -kInf, kNaN, 1000, std::log(2.0)});
}

TEST_CASE("eval float32 products round once from double") {
  // In float32 the first row overflows to inf after two factors and the second underflows
  // to 0; their exact products are 1 and 4.
  Tensor x = Tensor::from_list({{1e30, 1e30, 1e-30, 1e-30}, {1e-30, 1e-30, 2e30, 2e30}}, DType::Float32);
  check_values(reduce_input(OpKind::Prod, x, {1}, false), DType::Float32, {2}, {1, 4});
}

TEST_CASE("eval empty reductions give identities") {
  Tensor f = Tensor::zeros(DType::Float32, {3, 0});
  const std::pair<OpKind, double> float_cases[] = {
      {OpKind::Sum, 0},    {OpKind::Prod, 1},          {OpKind::Mean, kNaN}, {OpKind::Max, -kInf},
      {OpKind::Min, kInf}, {OpKind::LogSumExp, -kInf}, {OpKind::ArgMax, -1}, {OpKind::ArgMin, -1},
      {OpKind::All, 1},    {OpKind::Any, 0},
  };
  for (const auto& [op, value] : float_cases) {
    INFO(op_name(op));
    check_values(reduce_input(op, f, {1}, false), result_dtype(op, DType::Float32), {3},
                 {value, value, value});
  }

  Tensor i = Tensor::zeros(DType::Int64, {0, 2});
  const double i64_min = static_cast<double>(std::numeric_limits<std::int64_t>::min());
  const double i64_max = static_cast<double>(std::numeric_limits<std::int64_t>::max());
  check_values(reduce_input(OpKind::Max, i, {0}, false), DType::Int64, {2}, {i64_min, i64_min});
  check_values(reduce_input(OpKind::Min, i, {0}, false), DType::Int64, {2}, {i64_max, i64_max});
  check_values(reduce_input(OpKind::Prod, i, {0}, true), DType::Int64, {1, 2}, {1, 1});
  Tensor b = Tensor::zeros(DType::Bool, {0});
  check_values(reduce_input(OpKind::Max, b, {0}, false), DType::Bool, {}, {0});
  check_values(reduce_input(OpKind::Min, b, {0}, false), DType::Bool, {}, {1});
  // A reduction over no axes keeps every element.
  Tensor x = test::random_tensor(DType::Float64, {2, 3}, 22);
  check_values(reduce_input(OpKind::Sum, x, {}, false), DType::Float64, {2, 3}, test::values_of(x));
}

TEST_CASE("eval integer and bool reductions") {
  const std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  Tensor wrap = Tensor::from_vector(std::vector<std::int64_t>{hi, 1, 2}, {3});
  CHECK(reduce_input(OpKind::Sum, wrap, {0}, false).data<std::int64_t>()[0] ==
        std::numeric_limits<std::int64_t>::min() + 2);
  CHECK(reduce_input(OpKind::Prod, wrap, {0}, false).data<std::int64_t>()[0] == -2);

  // An i32 sum computes in i64, so it does not wrap at 32 bits.
  const std::int32_t hi32 = std::numeric_limits<std::int32_t>::max();
  Tensor wide = Tensor::from_vector(std::vector<std::int32_t>{hi32, hi32}, {2});
  Tensor sum = reduce_input(OpKind::Sum, wide, {0}, false);
  CHECK(sum.dtype() == DType::Int64);
  CHECK(sum.data<std::int64_t>()[0] == 2LL * hi32);

  Tensor ints = test::random_tensor(DType::Int32, {4, 7}, 23, -3, 3);
  for (OpKind op : {OpKind::Max, OpKind::Min, OpKind::ArgMax, OpKind::ArgMin}) {
    INFO(op_name(op));
    Groups groups = group_values(ints, {1}, false);
    std::vector<double> expected;
    for (const auto& group : groups.values)
      expected.push_back(op == OpKind::Max      ? ref_max(group)
                         : op == OpKind::Min    ? ref_min(group)
                         : op == OpKind::ArgMax ? ref_argmax(group)
                                                : ref_argmin(group));
    check_values(reduce_input(op, ints, {1}, false), result_dtype(op, DType::Int32), {4}, expected);
  }

  Tensor flags = Tensor::from_list({{0, 0, 0}, {0, 1, 0}, {1, 1, 1}}, DType::Float32);
  flags.set_double(0, kNaN);  // NaN is nonzero, so it counts as true
  check_values(reduce_input(OpKind::All, flags, {1}, false), DType::Bool, {3}, {0, 0, 1});
  check_values(reduce_input(OpKind::Any, flags, {1}, false), DType::Bool, {3}, {1, 1, 1});
  check_values(reduce_input(OpKind::Any, flags, {0}, true), DType::Bool, {1, 3}, {1, 1, 1});
  Tensor bools = Tensor::from_list({{0, 1}, {0, 0}}, DType::Bool);
  check_values(reduce_input(OpKind::Max, bools, {1}, false), DType::Bool, {2}, {1, 0});
  check_values(reduce_input(OpKind::ArgMax, bools, {1}, false), DType::Int64, {2}, {1, 0});
}

TEST_CASE("eval float sums are accurate") {
  // A float32 accumulator would drift by about 1% over a million additions of 0.1.
  Tensor f = Tensor::full(DType::Float32, {1000000}, 0.1);
  double exact = 1e6 * static_cast<double>(0.1f);
  CHECK(reduce_input(OpKind::Sum, f, {0}, false).item() == doctest::Approx(exact).epsilon(1e-7));
  CHECK(reduce_input(OpKind::Mean, f, {0}, false).item() ==
        doctest::Approx(static_cast<double>(0.1f)).epsilon(1e-7));

  // Sequential float64 addition is off by about 1.3e-6 here; pairwise summation is not.
  Tensor d = Tensor::full(DType::Float64, {1000000}, 0.1);
  CHECK(std::fabs(reduce_input(OpKind::Sum, d, {0}, false).item() - 100000.0) < 1e-9);

  // Reducing the leading axis of a large matrix goes through the transposing copy.
  Tensor m = test::random_tensor(DType::Float32, {1000, 300}, 24);
  Groups groups = group_values(m, {0}, false);
  std::vector<double> expected;
  for (const auto& group : groups.values) expected.push_back(ref_sum(group));
  check_values(reduce_input(OpKind::Sum, m, {0}, false), DType::Float32, {300}, expected,
               {1e-6, 1e-5});
}
