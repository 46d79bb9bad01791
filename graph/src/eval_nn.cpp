// Kernels of the neural-network ops: softmax and log_softmax along an axis, the
// cross-entropies along the last axis, the fused softmax cross-entropy with its gradient,
// running sums and argsort. Every softmax subtracts the row maximum before exp, so large logits do not
// overflow; row sums accumulate in double.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "damo/runtime/stop.h"
#include "eval_internal.h"
#include "eval_scalar.h"

namespace damo::eval {

namespace {

// The maximum of a strided row and the sum of exp(x - maximum) over it.
template <class T>
struct RowStats {
  T max = lowest_value<T>();
  double sum = 0;

  RowStats(const T* p, std::int64_t n, std::int64_t stride) {
    for (std::int64_t i = 0; i < n; ++i) max = maximum_value(max, p[i * stride]);
    for (std::int64_t i = 0; i < n; ++i) sum += std::exp(p[i * stride] - max);
  }

  /// log(sum(exp(x))); a NaN gives NaN, +inf gives +inf, all -inf (or no element) -inf.
  T logsumexp() const {
    if (std::isnan(max) || std::isinf(max)) return max;
    return max + static_cast<T>(std::log(sum));
  }

  /// softmax of element x of the row.
  T softmax(T x) const { return std::exp(x - max) / static_cast<T>(sum); }
};

template <class T>
T nan_value() {
  return std::numeric_limits<T>::quiet_NaN();
}

// Calls line(base, n, stride) for each line of x along axis: its first element's offset,
// its length and the distance between its elements.
template <class Line>
void for_each_line(const Tensor& x, int axis, const Line& line) {
  std::int64_t outer = dims_product(x.shape(), 0, axis);
  std::int64_t n = x.dim(axis);
  std::int64_t inner = dims_product(x.shape(), axis + 1, x.rank());
  for (std::int64_t b = 0; b < outer; ++b)
    for (std::int64_t c = 0; c < inner; ++c) line(b * n * inner + c, n, inner);
}

template <class T>
void softmax_typed(const Tensor& x, Tensor& out, int axis, bool log) {
  const T* in = x.data<T>();
  T* o = out.data<T>();
  for_each_line(x, axis, [&](std::int64_t base, std::int64_t n, std::int64_t inner) {
    RowStats<T> stats(in + base, n, inner);
    T log_sum = static_cast<T>(std::log(stats.sum));
    for (std::int64_t i = 0; i < n; ++i) {
      T v = in[base + i * inner];
      o[base + i * inner] = log ? (v - stats.max) - log_sum : stats.softmax(v);
    }
  });
}

// Dense cross-entropy -sum(t * log(p)) of each row.
template <class T>
void categorical_dense(const T* p, const T* t, T* loss, std::int64_t rows, std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (std::int64_t j = 0; j < classes; ++j)
      sum += t[r * classes + j] * std::log(p[r * classes + j]);
    loss[r] = static_cast<T>(-sum);
  }
}

// Sparse cross-entropy -log(p[label]) of each row, or NaN for a label outside
// [0, classes).
template <class T>
void categorical_sparse(const T* p, const std::vector<std::int64_t>& labels, T* loss,
                        std::int64_t rows, std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t label = labels[static_cast<std::size_t>(r)];
    loss[r] = label >= 0 && label < classes ? -std::log(p[r * classes + label]) : nan_value<T>();
  }
}

// log_softmax(z[j]) = (z[j] - max) - log(sum) of a row, or NaN throughout for a row that
// contains +inf, as log_softmax gives. Adding log(sum) to a large maximum first would round
// away most of its digits.
template <class T>
struct RowLogSoftmax {
  RowStats<T> stats;
  T log_sum;

  RowLogSoftmax(const T* row, std::int64_t classes)
      : stats(row, classes, 1),
        log_sum(stats.max == std::numeric_limits<T>::infinity() ? std::numeric_limits<T>::quiet_NaN()
                                                                : static_cast<T>(std::log(stats.sum))) {}

  T operator()(T z) const { return (z - stats.max) - log_sum; }
};

// -sum(t * log_softmax(z)) of each row.
template <class T>
void softmax_crossentropy_dense(const T* z, const T* t, T* loss, std::int64_t rows,
                                std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = z + r * classes;
    RowLogSoftmax<T> log_softmax(row, classes);
    double sum = 0;
    for (std::int64_t j = 0; j < classes; ++j) sum += t[r * classes + j] * log_softmax(row[j]);
    loss[r] = static_cast<T>(-sum);
  }
}

// -log_softmax(z)[label] of each row, or NaN for a label outside [0, classes).
template <class T>
void softmax_crossentropy_sparse(const T* z, const std::vector<std::int64_t>& labels, T* loss,
                                 std::int64_t rows, std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t label = labels[static_cast<std::size_t>(r)];
    const T* row = z + r * classes;
    if (label < 0 || label >= classes) {
      loss[r] = nan_value<T>();
      continue;
    }
    loss[r] = -RowLogSoftmax<T>(row, classes)(row[label]);
  }
}

// g * (softmax(z) * sum(t) - t) of each row, the gradient of the dense loss above.
template <class T>
void softmax_crossentropy_grad_dense(const T* z, const T* t, const T* g, T* out, std::int64_t rows,
                                     std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = z + r * classes;
    const T* target = t + r * classes;
    RowStats<T> stats(row, classes, 1);
    double target_sum = 0;
    for (std::int64_t j = 0; j < classes; ++j) target_sum += target[j];
    auto scale = static_cast<T>(target_sum);
    for (std::int64_t j = 0; j < classes; ++j)
      out[r * classes + j] = g[r] * (stats.softmax(row[j]) * scale - target[j]);
  }
}

// g * (softmax(z) - one_hot(label)) of each row; a NaN row for an out-of-range label.
template <class T>
void softmax_crossentropy_grad_sparse(const T* z, const std::vector<std::int64_t>& labels,
                                      const T* g, T* out, std::int64_t rows, std::int64_t classes) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = z + r * classes;
    std::int64_t label = labels[static_cast<std::size_t>(r)];
    bool valid = label >= 0 && label < classes;
    RowStats<T> stats(row, classes, 1);
    for (std::int64_t j = 0; j < classes; ++j) {
      T hot = j == label ? T{1} : T{0};
      out[r * classes + j] = valid ? g[r] * (stats.softmax(row[j]) - hot) : nan_value<T>();
    }
  }
}

template <class T>
Tensor nn_typed(const Node& node, const std::vector<Tensor>& in) {
  const Tensor& x = in[0];
  OpKind op = node.op();
  if (op == OpKind::Softmax || op == OpKind::LogSoftmax) {
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    softmax_typed<T>(x, out, static_cast<int>(node.attr(0)), op == OpKind::LogSoftmax);
    return out;
  }
  if (op == OpKind::BinaryCrossentropy) return eval_binary_crossentropy(in[0], in[1]);

  // The rest work on rows of the last axis: rows of loss values, or rows of gradients.
  DAMO_ASSERT(x.rank() >= 1, "cross-entropy: the predictions need a class axis");
  std::int64_t classes = x.dim(x.rank() - 1);
  Dims loss_dims(x.shape().begin(), x.shape().end() - 1);
  std::int64_t rows = dims_product(loss_dims, 0, static_cast<int>(loss_dims.size()));
  bool gradient =
      op == OpKind::SoftmaxCrossEntropyGrad || op == OpKind::SparseSoftmaxCrossEntropyGrad;
  Tensor out = Tensor::empty(x.dtype(), gradient ? x.shape() : loss_dims);
  const T* z = x.data<T>();
  T* o = out.data<T>();

  switch (op) {
  case OpKind::CategoricalCrossentropy:
    categorical_dense(z, in[1].data<T>(), o, rows, classes);
    break;
  case OpKind::SparseCategoricalCrossentropy:
    categorical_sparse(z, read_indices(in[1]), o, rows, classes);
    break;
  case OpKind::SoftmaxCrossEntropy:
    softmax_crossentropy_dense(z, in[1].data<T>(), o, rows, classes);
    break;
  case OpKind::SparseSoftmaxCrossEntropy:
    softmax_crossentropy_sparse(z, read_indices(in[1]), o, rows, classes);
    break;
  case OpKind::SoftmaxCrossEntropyGrad:
    softmax_crossentropy_grad_dense(z, in[1].data<T>(), in[2].data<T>(), o, rows, classes);
    break;
  case OpKind::SparseSoftmaxCrossEntropyGrad:
    softmax_crossentropy_grad_sparse(z, read_indices(in[1]), in[2].data<T>(), o, rows, classes);
    break;
  default: fail_internal("eval_nn", fmt::format("{} is not a neural-network op", op_name(op)));
  }
  return out;
}

// Running sums along axis, in the order reverse gives. Floats add in double and round each
// result once; int64 adds wrap.
template <class T, class Sum>
Tensor cumsum_typed(const Tensor& x, int axis, bool reverse) {
  Tensor out = Tensor::empty(x.dtype(), x.shape());
  const T* in = x.data<T>();
  T* o = out.data<T>();
  for_each_line(x, axis, [&](std::int64_t base, std::int64_t n, std::int64_t inner) {
    Sum sum = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      std::int64_t at = base + (reverse ? n - 1 - k : k) * inner;
      if constexpr (std::is_integral_v<Sum>)
        sum = static_cast<Sum>(static_cast<std::uint64_t>(sum) + static_cast<std::uint64_t>(in[at]));
      else
        sum += static_cast<Sum>(in[at]);
      o[at] = static_cast<T>(sum);
    }
  });
  return out;
}

// Positions that sort each line: a stable sort of the positions by value, NaN after every
// number when ascending and before every number when descending.
template <class T>
Tensor argsort_typed(const Tensor& x, int axis, bool descending) {
  Tensor out = Tensor::empty(DType::Int64, x.shape());
  const T* in = x.data<T>();
  std::int64_t* o = out.data<std::int64_t>();
  auto is_nan = [](T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    return false;
  };
  std::vector<std::int64_t> order;
  for_each_line(x, axis, [&](std::int64_t base, std::int64_t n, std::int64_t inner) {
    order.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    // Equal values keep their positions' order, which makes the order total.
    auto before = [&](std::int64_t a, std::int64_t b) {
      T u = in[base + a * inner];
      T v = in[base + b * inner];
      if (descending) return (is_nan(u) && !is_nan(v)) || u > v;
      return (!is_nan(u) && is_nan(v)) || u < v;
    };
    bool sorted = damo::detail::sort_until_stopped(
        order, [&](std::int64_t a, std::int64_t b) { return before(a, b) || (!before(b, a) && a < b); });
    if (!sorted) damo::throw_if_stopped();
    for (std::int64_t k = 0; k < n; ++k) o[base + k * inner] = order[static_cast<std::size_t>(k)];
  });
  return out;
}

}  // namespace

Tensor eval_nn(const Node& node, const std::vector<Tensor>& in) {
  DType dtype = in[0].dtype();
  if (node.op() == OpKind::ArgSort) {
    auto axis = static_cast<int>(node.attr(0));
    bool descending = node.attr(1) != 0;
    return visit_dtype(dtype, [&](auto tag) { return argsort_typed<decltype(tag)>(in[0], axis, descending); });
  }
  if (node.op() == OpKind::CumSum) {
    DAMO_ASSERT(dtype == node.dtype(), "cumsum: the operand must have the node's dtype");
    auto axis = static_cast<int>(node.attr(0));
    bool reverse = node.attr(1) != 0;
    if (dtype == DType::Float32) return cumsum_typed<float, double>(in[0], axis, reverse);
    if (dtype == DType::Float64) return cumsum_typed<double, double>(in[0], axis, reverse);
    return cumsum_typed<std::int64_t, std::int64_t>(in[0], axis, reverse);
  }
  DAMO_ASSERT(is_float(dtype) && dtype == node.dtype(),
              fmt::format("{}: the operand must be of the node's float dtype", op_name(node.op())));
  if (dtype == DType::Float32) return nn_typed<float>(node, in);
  return nn_typed<double>(node, in);
}

}  // namespace damo::eval
