// Gradient rules of the layout ops, matmul and the scatter ops that autodiff introduces.
// A layout op moves elements, so its gradient moves them back: transpose by the inverse
// permutation, slice by slice_scatter, take by index_add, and the scatters by gathers.
#include "grad_rules.h"
#include "op_builder.h"

namespace damo::detail {

namespace {

int axis_attr(const Node& node) { return static_cast<int>(node.attr(0)); }

Contributions transpose_grad(const GradContext& c) {
  const auto& perm = c.node.attrs().ints;
  std::vector<int> inverse(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i)
    inverse[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  return {transpose(c.g, inverse)};
}

Contributions reshape_grad(const GradContext& c) { return {reshape(c.g, c.in(0).shape().dims())}; }

Contributions expand_dims_grad(const GradContext& c) {
  return {squeeze(c.g, Axes(axis_attr(c.node)))};
}

// The squeezed axes are sorted, so inserting them in order restores their positions.
Contributions squeeze_grad(const GradContext& c) {
  Expr g = c.g;
  for (std::int64_t axis : c.node.attrs().ints) g = expand_dims(g, static_cast<int>(axis));
  return {g};
}

// fit_to_operand() sums over the broadcast axes.
Contributions broadcast_to_grad(const GradContext& c) { return {c.g}; }

Contributions concatenate_grad(const GradContext& c) {
  int axis = axis_attr(c.node);
  Contributions r(c.node.input_count());
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    std::int64_t size = c.in(i).shape()[axis].size();
    if (c.wants(i)) r[i] = slice(c.g, axis, offset, offset + size, 1);
    offset += size;
  }
  return r;
}

Contributions slice_grad(const GradContext& c) {
  const auto& a = c.node.attrs().ints;
  if (slice_counts_from_end(c.node))
    return {detail::slice_scatter_from_end(c.g, c.in(0).shape(), static_cast<int>(a[0]), a[1], a[2])};
  return {slice_scatter(c.g, c.in(0).shape(), static_cast<int>(a[0]), a[1], a[2], a[3])};
}

Contributions take_grad(const GradContext& c) {
  return {index_add(c.g, c.in(1), c.in(0).shape(), axis_attr(c.node)), Expr()};
}

// take_along_axis broadcasts x and the indices on the other axes. The indices are broadcast
// to the result's shape so that every gradient element has its own index. The scatter
// target has the result's shape except along axis, and fit_to_operand() sums the rest.
Contributions take_along_axis_grad(const GradContext& c) {
  int axis = axis_attr(c.node);
  Expr indices = broadcast_to(c.in(1), c.node.shape());
  std::vector<Dim> target = c.node.shape().dims();
  target[static_cast<std::size_t>(axis)] = c.in(0).shape()[axis];
  return {scatter_add_along_axis(c.g, indices, Shape(target), axis), Expr()};
}

// The gradient of a slice_scatter's source is the slice it was written to.
Contributions slice_scatter_grad(const GradContext& c) {
  const auto& a = c.node.attrs().ints;
  Expr src = c.in(0);
  if (src.shape().is_statically_empty()) return {zeros(c.g.graph(), src.dtype(), src.shape())};
  // The bounds are resolved; a negative stop with a negative step means "through index 0".
  // On a symbolic axis the stop counts from the end, and 0 means the end.
  std::optional<std::int64_t> stop;
  if (slice_counts_from_end(c.node) ? a[2] < 0 : a[2] >= 0) stop = a[2];
  return {slice(c.g, static_cast<int>(a[0]), a[1], stop, a[3])};
}

Contributions index_add_grad(const GradContext& c) {
  return {take(c.g, c.in(1), axis_attr(c.node)), Expr()};
}

Contributions scatter_add_along_axis_grad(const GradContext& c) {
  return {take_along_axis(c.g, c.in(1), axis_attr(c.node)), Expr()};
}

// x with its last two axes swapped.
Expr swap_last_axes(Expr x) {
  std::vector<int> perm;
  for (int i = 0; i < x.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(x, perm);
}

// For a @ b: da = g @ b^T and db = a^T @ g over the last two axes. A vector operand is
// made a matrix first (a row for a, a column for b), and g gets the matching size-1 axis.
// Each contribution is summed over the batch axes its operand was broadcast along.
Contributions matmul_grad(const GradContext& c) {
  Expr a = c.in(0);
  Expr b = c.in(1);
  Contributions r(2);
  if (a.rank() == 1 && b.rank() == 1) {
    if (c.wants(0)) r[0] = c.g * b;
    if (c.wants(1)) r[1] = c.g * a;
    return r;
  }

  Expr a2 = a.rank() == 1 ? expand_dims(a, 0) : a;
  Expr b2 = b.rank() == 1 ? expand_dims(b, -1) : b;
  Expr g2 = c.g;
  if (b.rank() == 1) g2 = expand_dims(g2, -1);
  if (a.rank() == 1) g2 = expand_dims(g2, -2);

  if (c.wants(0)) {
    Expr da = fit_to_operand(matmul(g2, swap_last_axes(b2)), a2.shape(), a.dtype());
    r[0] = reshape(da, a.shape().dims());
  }
  if (c.wants(1)) {
    Expr db = fit_to_operand(matmul(swap_last_axes(a2), g2), b2.shape(), b.dtype());
    r[1] = reshape(db, b.shape().dims());
  }
  return r;
}

}  // namespace

GradRule layout_grad_rule(OpKind op) {
  switch (op) {
  case OpKind::Transpose: return transpose_grad;
  case OpKind::Reshape: return reshape_grad;
  case OpKind::ExpandDims: return expand_dims_grad;
  case OpKind::Squeeze: return squeeze_grad;
  case OpKind::BroadcastTo: return broadcast_to_grad;
  case OpKind::Concatenate: return concatenate_grad;
  case OpKind::Slice: return slice_grad;
  case OpKind::Take: return take_grad;
  case OpKind::TakeAlongAxis: return take_along_axis_grad;
  case OpKind::MatMul: return matmul_grad;
  case OpKind::SliceScatter: return slice_scatter_grad;
  case OpKind::IndexAdd: return index_add_grad;
  case OpKind::ScatterAddAlongAxis: return scatter_add_along_axis_grad;
  // one_hot has integer indices as its operand.
  default: return nullptr;
  }
}

}  // namespace damo::detail
