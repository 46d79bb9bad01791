// Kernels of the reductions (sum ... any). A transposing copy first moves the reduced axes
// last, unless they already are, so each result element reduces one contiguous row in
// row-major order. That is why argmax and argmin return row-major positions within the
// reduced axes. Float sums accumulate in double, pairwise for float64.
#include <fmt/format.h>

#include <cmath>

#include "eval_internal.h"
#include "eval_scalar.h"

namespace damo::eval {

namespace {

// Pairwise summation: the rounding error grows with log(n) instead of n.
double pairwise_sum(const double* p, std::int64_t n) {
  if (n <= 128) {
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += p[i];
    return sum;
  }
  std::int64_t half = n / 2;
  return pairwise_sum(p, half) + pairwise_sum(p + half, n - half);
}

// Sum of a float row in double: sequential for float32 (exact enough with a 53-bit
// accumulator), pairwise for float64.
template <class T>
double float_sum(const T* p, std::int64_t n) {
  if constexpr (std::is_same_v<T, double>) {
    return pairwise_sum(p, n);
  } else {
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += p[i];
    return sum;
  }
}

template <class T>
T sum_row(const T* p, std::int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(float_sum(p, n));
  } else {
    T sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum = add_values(sum, p[i]);
    return sum;
  }
}

template <class T>
T prod_row(const T* p, std::int64_t n) {
  // float32 multiplies in double and rounds once, so the result does not depend on where
  // a partial product would overflow or underflow in float32.
  if constexpr (std::is_same_v<T, float>) {
    double product = 1;
    for (std::int64_t i = 0; i < n; ++i) product *= p[i];
    return static_cast<float>(product);
  } else {
    T product = 1;
    for (std::int64_t i = 0; i < n; ++i) product = mul_values(product, p[i]);
    return product;
  }
}

template <class T>
T max_row(const T* p, std::int64_t n) {
  T best = lowest_value<T>();
  for (std::int64_t i = 0; i < n; ++i) best = maximum_value(best, p[i]);
  return best;
}

template <class T>
T min_row(const T* p, std::int64_t n) {
  T best = highest_value<T>();
  for (std::int64_t i = 0; i < n; ++i) best = minimum_value(best, p[i]);
  return best;
}

// Position of the first extreme element: the first NaN if there is one, otherwise the
// first element that better(v, best) prefers to every earlier one; -1 for an empty row.
template <class T, class Better>
std::int64_t arg_row(const T* p, std::int64_t n, Better better) {
  if (n == 0) return -1;
  std::int64_t best = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(p[i])) return i;
    }
    if (better(p[i], p[best])) best = i;
  }
  return best;
}

// log(sum(exp(x))) as max + log(sum(exp(x - max))). A NaN gives NaN, +inf gives +inf, and
// a row of -inf or no elements gives -inf.
template <class T>
T logsumexp_row(const T* p, std::int64_t n) {
  T top = max_row(p, n);
  if (std::isnan(top) || std::isinf(top)) return top;
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += std::exp(p[i] - top);
  return top + static_cast<T>(std::log(sum));
}

// Applies fn to each row of length row, writing one result element per row.
template <class Out, class T, class Fn>
void reduce_rows(Tensor& out, const Tensor& rows, std::int64_t row, Fn fn) {
  Out* o = out.data<Out>();
  const T* p = rows.data<T>();
  std::int64_t count = out.numel();
  for (std::int64_t r = 0; r < count; ++r) o[r] = fn(p + r * row, row);
}

[[noreturn]] void fail_dtype(OpKind op, DType dtype) {
  fail_internal("eval_reduction", fmt::format("the evaluator has no {} kernel for dtype {}",
                                              op_name(op), dtype_name(dtype)));
}

template <class T>
void reduce_typed(OpKind op, Tensor& out, const Tensor& rows, std::int64_t row) {
  switch (op) {
  case OpKind::Max: return reduce_rows<T, T>(out, rows, row, max_row<T>);
  case OpKind::Min: return reduce_rows<T, T>(out, rows, row, min_row<T>);
  case OpKind::ArgMax:
    return reduce_rows<std::int64_t, T>(out, rows, row, [](const T* p, std::int64_t n) {
      return arg_row(p, n, [](T v, T best) { return v > best; });
    });
  case OpKind::ArgMin:
    return reduce_rows<std::int64_t, T>(out, rows, row, [](const T* p, std::int64_t n) {
      return arg_row(p, n, [](T v, T best) { return v < best; });
    });
  case OpKind::All:
    return reduce_rows<bool, T>(out, rows, row, [](const T* p, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i)
        if (p[i] == T{0}) return false;
      return true;
    });
  case OpKind::Any:
    return reduce_rows<bool, T>(out, rows, row, [](const T* p, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i)
        if (p[i] != T{0}) return true;
      return false;
    });
  default: break;
  }
  if constexpr (!std::is_same_v<T, bool>) {
    if (op == OpKind::Sum) return reduce_rows<T, T>(out, rows, row, sum_row<T>);
    if (op == OpKind::Prod) return reduce_rows<T, T>(out, rows, row, prod_row<T>);
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (op == OpKind::LogSumExp) return reduce_rows<T, T>(out, rows, row, logsumexp_row<T>);
    // An empty row gives 0 / 0, which is NaN.
    if (op == OpKind::Mean)
      return reduce_rows<T, T>(out, rows, row, [](const T* p, std::int64_t n) {
        return static_cast<T>(float_sum(p, n) / static_cast<double>(n));
      });
  }
  fail_dtype(op, rows.dtype());
}

}  // namespace

Tensor eval_reduction(OpKind op, const Tensor& x, const std::vector<std::int64_t>& axes,
                      bool keepdims, DType out_dtype) {
  std::vector<bool> reduced(static_cast<std::size_t>(x.rank()), false);
  for (std::int64_t axis : axes) reduced[static_cast<std::size_t>(axis)] = true;

  // Result dims, and the permutation that puts the kept axes first and the reduced last.
  Dims dims;
  std::vector<int> perm;
  std::int64_t row = 1;
  for (int i = 0; i < x.rank(); ++i) {
    if (!reduced[static_cast<std::size_t>(i)]) {
      dims.push_back(x.dim(i));
      perm.push_back(i);
    } else if (keepdims) {
      dims.push_back(1);
    }
  }
  for (int i = 0; i < x.rank(); ++i) {
    if (!reduced[static_cast<std::size_t>(i)]) continue;
    perm.push_back(i);
    row *= x.dim(i);
  }

  bool in_order = true;
  for (std::size_t i = 0; i < perm.size(); ++i)
    in_order = in_order && perm[i] == static_cast<int>(i);
  Tensor rows = in_order ? x : transpose_tensor(x, perm);

  Tensor out = Tensor::empty(out_dtype, dims);
  bool keeps_dtype = op == OpKind::Sum || op == OpKind::Prod || op == OpKind::Mean ||
                     op == OpKind::LogSumExp || op == OpKind::Max || op == OpKind::Min;
  if (keeps_dtype && out_dtype != x.dtype()) fail_dtype(op, x.dtype());
  visit_dtype(x.dtype(), [&](auto zero) { reduce_typed<decltype(zero)>(op, out, rows, row); });
  return out;
}

}  // namespace damo::eval
