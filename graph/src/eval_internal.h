// Internal interface of the reference evaluator: the kernels of each op family, which
// eval.cpp dispatches to, and the helpers they share. Every kernel returns a tensor with
// its own storage, never a view of an operand.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "damo/graph/node.h"
#include "damo/runtime/signature.h"
#include "damo/runtime/tensor.h"

namespace damo::eval {

/// Sizes bound to symbolic dimensions for one evaluation, by symbol name.
using SymbolSizes = std::unordered_map<std::string, std::int64_t>;

/// Checks values against the dtype and shape of the nodes they stand for, binding each
/// symbolic dimension to the first size seen for it.
class ShapeBinder {
 public:
  /// Checks value against node's dtype and shape and binds the symbols of that shape.
  /// Throws UserError that starts with subject (such as "input 'X'") and names the expected
  /// and actual dtype and shape and the axis at fault.
  void bind(const std::string& subject, const Node& node, const Tensor& value);
  const SymbolSizes& sizes() const { return sizes_; }

 private:
  SymbolSizes sizes_;
  std::unordered_map<std::string, std::string> origins_;  // symbol -> where it was bound
};

/// Checks the feeds of one evaluate() call against the Input nodes in order and returns
/// the symbol sizes. A feed may name an input of graphs (the outputs' graphs) that the
/// outputs do not reach.
SymbolSizes bind_feeds(const std::vector<const Node*>& order,
                       const std::unordered_map<std::string, Tensor>& feeds,
                       const std::vector<const Graph*>& graphs);

/// Row-major strides, in elements, of a contiguous tensor with the given dims.
Dims contiguous_strides(const Dims& dims);

/// NumPy broadcast of two runtime shapes; throws UserError naming op when they differ.
Dims broadcast_dims(const Dims& a, const Dims& b, OpKind op);

/// Resolves the node's shape, replacing each symbolic dimension by its size in sizes.
/// Throws UserError naming the node's op and the symbol when a size is unknown.
Dims resolve_shape(const Node& node, const SymbolSizes& sizes);

/// Product of dims[begin, end).
std::int64_t dims_product(const Dims& dims, int begin, int end);

/// Values of an i32 or i64 tensor as int64.
std::vector<std::int64_t> read_indices(const Tensor& indices);

/// Maps an index to a position along an axis of size elements, the rule of take(),
/// take_along_axis() and their gradients. A negative index gets size added once, and the
/// result is clamped into [0, size - 1]. size must be positive.
inline std::int64_t clamp_index(std::int64_t index, std::int64_t size) {
  if (index < 0) index += size;
  if (index < 0) return 0;
  return index >= size ? size - 1 : index;
}

/// Number of elements that the slice start:stop:step selects, for bounds that are already
/// normalized: in range, with stop == -1 meaning "before index 0" when step is negative.
/// In 128 bits, because a step near the int64 limits overflows stop - start + step - 1 and
/// -step.
inline std::int64_t slice_length(std::int64_t start, std::int64_t stop, std::int64_t step) {
  __int128 s = start, e = stop, wide = step;
  if (step > 0) return e > s ? static_cast<std::int64_t>((e - s + wide - 1) / wide) : 0;
  return s > e ? static_cast<std::int64_t>((s - e - wide - 1) / -wide) : 0;
}

/// Length of a slice along an axis of the given size, from a slice node's attributes:
/// (axis, start, stop, step), or (axis, start, stop, 1, 1) with the stop counted from the
/// end on a symbolic axis.
inline std::int64_t slice_length(const std::vector<std::int64_t>& attrs, std::int64_t size) {
  if (attrs.size() == 5 && attrs[4] == 1) return std::max<std::int64_t>(size - (attrs[1] - attrs[2]), 0);
  return slice_length(attrs[1], attrs[2], attrs[3]);
}

// Elementwise (eval_elementwise.cpp).

/// Unary op (Neg ... StopGradient); out is the result dtype, which is the target of Cast.
Tensor eval_unary(OpKind op, const Tensor& x, DType out);
/// Binary op with NumPy broadcasting; both operands share a dtype.
Tensor eval_binary(OpKind op, const Tensor& a, const Tensor& b, DType out);
/// Computes the ternary op (Where or Clip) with NumPy broadcasting.
Tensor eval_ternary(OpKind op, const Tensor& a, const Tensor& b, const Tensor& c, DType out);
/// -(t * log(p) + (1 - t) * log1p(-p)) with broadcasting.
Tensor eval_binary_crossentropy(const Tensor& p, const Tensor& t);

// Layout (eval_layout.cpp) and the scatters that autodiff introduces (eval_scatter.cpp).

/// x copied into the given dims, reading element i of the result at the offset that
/// in_strides gives for i's multi-index. Transposes and broadcasts are such copies.
Tensor copy_strided(const Tensor& x, const Dims& out_dims, const Dims& in_strides);
/// x with its axes permuted: axis i of the result is axis perm[i] of x.
Tensor transpose_tensor(const Tensor& x, const std::vector<int>& perm);
/// x broadcast to dims, which x must broadcast to.
Tensor broadcast_tensor(const Tensor& x, const Dims& dims);
/// Layout ops: Transpose ... OneHot.
Tensor eval_layout(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes);
/// SliceScatter, IndexAdd and ScatterAddAlongAxis.
Tensor eval_scatter(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes);

// Reductions (eval_reduce.cpp).

/// Reduction op (Sum ... Any) over sorted, normalized axes.
Tensor eval_reduction(OpKind op, const Tensor& x, const std::vector<std::int64_t>& axes,
                      bool keepdims, DType out);

// Linear algebra (eval_linalg.cpp).

/// NumPy matmul, transposing the last two axes of an operand of rank 2 or more first when
/// asked.
Tensor eval_matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
                   bool transpose_b = false);
/// FusedMatMul: activation(op(a) @ op(b) + bias).
Tensor eval_fused_matmul(const Node& node, const std::vector<Tensor>& in);

// Neural-network ops (eval_nn.cpp): the softmax family and the cross-entropies.
Tensor eval_nn(const Node& node, const std::vector<Tensor>& in);

// Fused bodies (eval_fused.cpp).
Tensor eval_fused_elementwise(const Node& node, const std::vector<Tensor>& in);
Tensor eval_fused_reduction(const Node& node, const std::vector<Tensor>& in);

/// Computes the op of a non-leaf node from operand values (eval.cpp). Elementwise ops take
/// their result shape from the operands; ops with a shape attribute resolve it with sizes.
Tensor eval_op(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes);

}  // namespace damo::eval
