// Helpers for the evaluator tests: random inputs, plain row-major index arithmetic for
// writing float64 references, and an elementwise comparison that reports the first
// mismatching element.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "damo/graph/eval.h"
#include "damo/graph/ops.h"

namespace damo::test {

/// Uniform random values in [low, high), converted to dtype; the same seed gives the same
/// values.
inline Tensor random_tensor(DType dtype, const Dims& dims, std::uint64_t seed, double low = -3,
                            double high = 3) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Tensor t = Tensor::empty(dtype, dims);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    double v = uniform(engine);
    t.set_double(i, is_float(dtype) ? v : std::floor(v));
  }
  return t;
}

/// Returns the elements of t as doubles, row-major.
inline std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(t.get_double(i));
  return out;
}

inline std::int64_t numel_of(const Dims& dims) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= d;
  return n;
}

/// Returns the multi-index of a flat row-major position.
inline Dims unravel(std::int64_t flat, const Dims& dims) {
  Dims index(dims.size(), 0);
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    index[i] = flat % dims[i];
    flat /= dims[i];
  }
  return index;
}

/// Returns the flat position, in a tensor of dims, of the element that a broadcast reads
/// at index. index has the broadcast rank, dims align at the last axis, and axes of size 1
/// stretch.
inline std::int64_t broadcast_offset(const Dims& index, const Dims& dims) {
  std::int64_t offset = 0;
  std::size_t lead = index.size() - dims.size();
  for (std::size_t i = 0; i < dims.size(); ++i)
    offset = offset * dims[i] + (dims[i] == 1 ? 0 : index[lead + i]);
  return offset;
}

/// NumPy broadcast shape of a and b (they must broadcast).
inline Dims broadcast_shape(const Dims& a, const Dims& b) {
  std::size_t rank = std::max(a.size(), b.size());
  Dims out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    std::int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    std::int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

struct Tolerance {
  double rel;
  double abs;
};

/// Tolerance of a float32 or float64 result against a float64 reference.
inline Tolerance tolerance_for(DType dtype) {
  if (dtype == DType::Float32) return {2e-6, 1e-6};
  if (dtype == DType::Float64) return {1e-12, 1e-12};
  return {0, 0};
}

/// True when actual is within tolerance of expected; NaN matches NaN and infinities must
/// be equal.
inline bool close_to(double actual, double expected, Tolerance tol) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= tol.abs + tol.rel * std::fabs(expected);
}

/// Checks dtype, dims and every element of actual against expected, which is first rounded
/// to float32 for a float32 result (so a reference beyond float32's range is infinite).
inline void check_values(const Tensor& actual, DType dtype, const Dims& dims,
                         const std::vector<double>& expected, Tolerance tol) {
  CHECK(dtype_name(actual.dtype()) == dtype_name(dtype));
  CHECK(dims_to_string(actual.shape()) == dims_to_string(dims));
  if (actual.dtype() != dtype || actual.shape() != dims) return;
  REQUIRE(static_cast<std::int64_t>(expected.size()) == actual.numel());
  std::int64_t mismatches = 0;
  std::string first;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.get_double(i);
    double e = expected[static_cast<std::size_t>(i)];
    if (dtype == DType::Float32) e = static_cast<float>(e);
    if (close_to(a, e, tol)) continue;
    if (mismatches++ == 0) first = fmt::format("element {}: got {} but expected {}", i, a, e);
  }
  INFO(first);
  CHECK(mismatches == 0);
}

/// Checks against a float64 reference with the tolerance of the result's dtype.
inline void check_values(const Tensor& actual, DType dtype, const Dims& dims,
                         const std::vector<double>& expected) {
  check_values(actual, dtype, dims, expected, tolerance_for(dtype));
}

}  // namespace damo::test
