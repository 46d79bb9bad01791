// Strided iteration for the evaluator's kernels. A StridedLoop walks the elements of a
// contiguous result in row-major order and tracks, for each operand, the offset of the
// element that feeds it. Broadcast axes have stride 0. Adjacent axes that every operand
// reads contiguously are merged first, so the innermost loop is as long as possible.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "damo/runtime/stop.h"
#include "eval_internal.h"

namespace damo::eval {

/// Strides, in elements, for reading a tensor of dims in as if broadcast to out: axes are
/// aligned from the last, and a stretched axis of size 1 gets stride 0.
Dims broadcast_strides(const Dims& in, const Dims& out);

template <std::size_t N>
class StridedLoop {
 public:
  /// Iterates over out_dims; strides[k] gives operand k's stride per result axis.
  StridedLoop(const Dims& out_dims, std::array<Dims, N> strides) {
    numel_ = 1;
    for (std::int64_t d : out_dims) numel_ *= d;
    coalesce(out_dims, strides);
  }

  /// Calls row(out_offset, offsets, count, inner_strides) for each run of count elements
  /// along the innermost merged axis: result element out_offset + j reads operand k at
  /// offsets[k] + j * inner_strides[k]. A run has at most kStopCheckElements elements, and
  /// the call's stop flag is read after each such number of elements.
  template <class Fn>
  void for_each_row(Fn&& row) const {
    if (numel_ == 0) return;
    int outer_rank = static_cast<int>(dims_.size()) - 1;
    std::int64_t inner = dims_.back();
    std::array<std::int64_t, N> offsets{};
    std::array<std::int64_t, N> inner_strides{};
    for (std::size_t k = 0; k < N; ++k) inner_strides[k] = strides_[k].back();
    std::vector<std::int64_t> index(static_cast<std::size_t>(outer_rank), 0);
    std::int64_t since_check = 0;

    for (std::int64_t out = 0; out < numel_; out += inner) {
      for (std::int64_t start = 0; start < inner; start += kStopCheckElements) {
        if (since_check >= kStopCheckElements) {
          throw_if_stopped();
          since_check = 0;
        }
        std::int64_t count = std::min(kStopCheckElements, inner - start);
        std::array<std::int64_t, N> piece = offsets;
        for (std::size_t k = 0; k < N; ++k) piece[k] += start * inner_strides[k];
        row(out + start, piece, count, inner_strides);
        since_check += count;
      }
      // Advances the multi-index of the outer axes like an odometer.
      for (int axis = outer_rank - 1; axis >= 0; --axis) {
        auto a = static_cast<std::size_t>(axis);
        for (std::size_t k = 0; k < N; ++k) offsets[k] += strides_[k][a];
        if (++index[a] < dims_[a]) break;
        for (std::size_t k = 0; k < N; ++k) offsets[k] -= strides_[k][a] * dims_[a];
        index[a] = 0;
      }
    }
  }

 private:
  static constexpr std::int64_t kStopCheckElements = 65536;

  // Drops axes of size 1 and merges an axis into the next when every operand steps over
  // the next axis exactly once per step of the outer one.
  void coalesce(const Dims& out_dims, const std::array<Dims, N>& strides) {
    for (std::size_t axis = 0; axis < out_dims.size(); ++axis) {
      if (out_dims[axis] == 1) continue;
      bool mergeable = !dims_.empty();
      for (std::size_t k = 0; k < N && mergeable; ++k)
        mergeable = strides_[k].back() == strides[k][axis] * out_dims[axis];
      if (mergeable) {
        dims_.back() *= out_dims[axis];
        for (std::size_t k = 0; k < N; ++k) strides_[k].back() = strides[k][axis];
        continue;
      }
      dims_.push_back(out_dims[axis]);
      for (std::size_t k = 0; k < N; ++k) strides_[k].push_back(strides[k][axis]);
    }
    if (dims_.empty()) {
      dims_.push_back(1);
      for (std::size_t k = 0; k < N; ++k) strides_[k].push_back(0);
    }
  }

  std::int64_t numel_ = 0;
  Dims dims_;
  std::array<Dims, N> strides_;
};

/// Calls chunk(begin, end) over [0, n) in pieces of 65,536 elements, and reads the call's
/// stop flag before each piece after the first.
template <class Fn>
void for_each_chunk(std::int64_t n, Fn&& chunk) {
  constexpr std::int64_t kChunk = 65536;
  for (std::int64_t begin = 0; begin < n; begin += kChunk) {
    if (begin > 0) throw_if_stopped();
    chunk(begin, std::min(n, begin + kChunk));
  }
}

/// out[i] = op(a[i]) for a tensor out of a's shape.
template <class Out, class A, class Op>
void map_unary(Tensor& out, const Tensor& a, Op op) {
  Out* o = out.data<Out>();
  const A* x = a.data<A>();
  for_each_chunk(out.numel(), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) o[i] = op(x[i]);
  });
}

/// out = op(a, b) elementwise, with a and b broadcast to out's shape.
template <class Out, class A, class B, class Op>
void map_binary(Tensor& out, const Tensor& a, const Tensor& b, Op op) {
  Out* o = out.data<Out>();
  const A* x = a.data<A>();
  const B* y = b.data<B>();
  std::int64_t n = out.numel();
  if (a.numel() == n && b.numel() == n) {
    for_each_chunk(n, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) o[i] = op(x[i], y[i]);
    });
    return;
  }
  StridedLoop<2> loop(out.shape(), {broadcast_strides(a.shape(), out.shape()),
                                    broadcast_strides(b.shape(), out.shape())});
  loop.for_each_row(
      [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
        const A* xs = x + offsets[0];
        const B* ys = y + offsets[1];
        for (std::int64_t j = 0; j < count; ++j)
          o[start + j] = op(xs[j * strides[0]], ys[j * strides[1]]);
      });
}

/// out = op(a, b, c) elementwise, with the operands broadcast to out's shape.
template <class Out, class A, class B, class C, class Op>
void map_ternary(Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, Op op) {
  Out* o = out.data<Out>();
  const A* x = a.data<A>();
  const B* y = b.data<B>();
  const C* z = c.data<C>();
  StridedLoop<3> loop(out.shape(), {broadcast_strides(a.shape(), out.shape()),
                                    broadcast_strides(b.shape(), out.shape()),
                                    broadcast_strides(c.shape(), out.shape())});
  loop.for_each_row(
      [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
        for (std::int64_t j = 0; j < count; ++j)
          o[start + j] = op(x[offsets[0] + j * strides[0]], y[offsets[1] + j * strides[1]],
                            z[offsets[2] + j * strides[2]]);
      });
}

}  // namespace damo::eval
