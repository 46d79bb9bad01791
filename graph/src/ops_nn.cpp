// Factories of the neural-network ops, the ops autodiff introduces and the fused ops the
// optimizer introduces.
#include <fmt/format.h>

#include <functional>
#include <limits>

#include "op_builder.h"

namespace damo {

using detail::check_operands;
using detail::convert;
using detail::describe;
using detail::make_node;

namespace detail {
Shape matmul_shape(const std::string& op, const Expr& a, const Expr& b, bool transpose_a,
                   bool transpose_b);
}  // namespace detail

namespace {

Expr to_float(Expr x) {
  if (is_float(x.dtype())) return x;
  return convert(x, x->weak() ? DType::Float64 : kDefaultFloat);
}

Expr softmax_like(OpKind op, Expr x, int axis) {
  std::string name(op_name(op));
  check_operands(name, {x});
  if (x.rank() == 0) throw UserError(fmt::format("{}: the operand must have rank 1 or more", name));
  x = to_float(x);
  Attrs attrs;
  attrs.ints = {normalize_axis(axis, x.rank(), name)};
  return make_node(op, x.dtype(), x.shape(), {x}, attrs, x->weak());
}

// Checks the operands of a cross-entropy over the last axis and returns the loss shape.
// Integer targets are class indices of shape p.shape[:-1]; others are dense, of p's shape.
Shape crossentropy_shape(const std::string& op, const Expr& p, const Expr& targets) {
  if (p.rank() == 0)
    throw UserError(fmt::format("{}: the predictions must have a class axis, got {}", op,
                                describe(p)));
  std::vector<Dim> loss_dims(p.shape().begin(), p.shape().end() - 1);
  Shape loss_shape(loss_dims);
  if (is_integer(targets.dtype())) {
    if (targets.shape() != loss_shape)
      throw UserError(fmt::format("{}: integer class targets {} must have the predictions' shape "
                                  "without the class axis, {}",
                                  op, describe(targets), loss_shape.to_string()));
  } else if (targets.shape() != p.shape()) {
    throw UserError(fmt::format("{}: dense targets {} must have the predictions' shape {}; for "
                                "class indices use an integer dtype",
                                op, describe(targets), p.shape().to_string()));
  }
  return loss_shape;
}

Expr crossentropy_like(OpKind dense_op, OpKind sparse_op, Expr p, Expr targets) {
  std::string name(op_name(dense_op));
  check_operands(name, {p, targets});
  p = to_float(p);
  Shape shape = crossentropy_shape(name, p, targets);
  if (is_integer(targets.dtype())) return make_node(sparse_op, p.dtype(), shape, {p, targets});
  return make_node(dense_op, p.dtype(), shape, {p, convert(targets, p.dtype())});
}

}  // namespace

Expr softmax(Expr x, int axis) { return softmax_like(OpKind::Softmax, x, axis); }
Expr log_softmax(Expr x, int axis) { return softmax_like(OpKind::LogSoftmax, x, axis); }

Expr categorical_crossentropy(Expr p, Expr targets) {
  return crossentropy_like(OpKind::CategoricalCrossentropy, OpKind::SparseCategoricalCrossentropy,
                           p, targets);
}

Expr binary_crossentropy(Expr p, Expr targets) {
  check_operands("binary_crossentropy", {p, targets});
  Shape shape = detail::broadcast_or_throw("binary_crossentropy", p.shape(), targets.shape());
  OperandType t = promote({p.dtype(), p->weak()}, {targets.dtype(), targets->weak()});
  DType dtype = is_float(t.dtype) ? t.dtype : (t.weak ? DType::Float64 : kDefaultFloat);
  return make_node(OpKind::BinaryCrossentropy, dtype, shape,
                   {convert(p, dtype), convert(targets, dtype)}, {}, t.weak);
}

namespace {

// The scatters write src into a result of the given shape, so a src of any other shape
// would make the kernels read or write out of bounds. These checks keep that a UserError.
void check_scatter_indices(const std::string& op, const Expr& indices) {
  if (!is_integer(indices.dtype()))
    throw UserError(fmt::format("{}: indices must be i32 or i64, not {}", op, describe(indices)));
}

void check_scatter_source(const std::string& op, const Expr& src, const Shape& expected) {
  if (src.shape() != expected)
    throw UserError(fmt::format("{}: the source {} must have shape {}", op, describe(src),
                                expected.to_string()));
}

}  // namespace

Expr slice_scatter(Expr src, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                   std::int64_t step) {
  check_operands("slice_scatter", {src});
  int normalized = normalize_axis(axis, shape.rank(), "slice_scatter");
  const Dim& size = shape[normalized];
  if (step == 0 || size.is_symbolic())
    throw UserError(fmt::format("slice_scatter: needs a nonzero step and a static axis {} in {}",
                                normalized, shape.to_string()));
  // The bounds are normalized as slice() stores them (stop -1 is "before index 0" for a
  // negative step), and every position written must exist.
  auto in_bounds = [&](std::int64_t bound) { return bound >= -1 && bound <= size.size(); };
  std::int64_t length = 0;
  if (step > 0 && stop > start) length = (stop - start - 1) / step + 1;
  if (step < 0 && start > stop)
    length = (step == std::numeric_limits<std::int64_t>::min() ? 0 : (start - stop - 1) / -step) + 1;
  if (!in_bounds(start) || !in_bounds(stop) ||
      (length > 0 && (start < 0 || start >= size.size())))
    throw UserError(fmt::format("slice_scatter: the slice {}:{}:{} is out of bounds for axis {} of "
                                "size {}",
                                start, stop, step, normalized, size.size()));
  std::vector<Dim> dims = shape.dims();
  dims[static_cast<std::size_t>(normalized)] = Dim(length);
  check_scatter_source("slice_scatter", src, Shape(std::move(dims)));
  Attrs attrs;
  attrs.ints = {normalized, start, stop, step};
  return make_node(OpKind::SliceScatter, src.dtype(), shape, {src}, attrs);
}

Expr index_add(Expr src, Expr indices, const Shape& shape, int axis) {
  check_operands("index_add", {src, indices});
  check_scatter_indices("index_add", indices);
  int normalized = normalize_axis(axis, shape.rank(), "index_add");
  // The shape take() gives: shape[:axis] + indices.shape + shape[axis+1:].
  std::vector<Dim> dims(shape.begin(), shape.begin() + normalized);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), shape.begin() + normalized + 1, shape.end());
  check_scatter_source("index_add", src, Shape(std::move(dims)));
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::IndexAdd, src.dtype(), shape, {src, indices}, attrs);
}

Expr scatter_add_along_axis(Expr src, Expr indices, const Shape& shape, int axis) {
  check_operands("scatter_add_along_axis", {src, indices});
  check_scatter_indices("scatter_add_along_axis", indices);
  int normalized = normalize_axis(axis, shape.rank(), "scatter_add_along_axis");
  // indices broadcast to src, and src matches the result except along axis and on result
  // axes of size 1, which collect the sum over src's axis.
  bool fits = src.rank() == shape.rank() && indices.rank() == shape.rank();
  for (int d = 0; fits && d < shape.rank(); ++d) {
    fits = indices.shape()[d] == src.shape()[d] || indices.shape()[d] == Dim(1);
    if (d != normalized) fits = fits && (src.shape()[d] == shape[d] || shape[d] == Dim(1));
  }
  if (!fits)
    throw UserError(fmt::format("scatter_add_along_axis: the source {} and indices {} do not fit "
                                "the result shape {} along axis {}",
                                describe(src), describe(indices), shape.to_string(), normalized));
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::ScatterAddAlongAxis, src.dtype(), shape, {src, indices}, attrs);
}

Expr softmax_crossentropy(Expr logits, Expr targets) {
  return crossentropy_like(OpKind::SoftmaxCrossEntropy, OpKind::SparseSoftmaxCrossEntropy, logits,
                           targets);
}

Expr softmax_crossentropy_grad(Expr logits, Expr targets, Expr g) {
  check_operands("softmax_crossentropy_grad", {logits, targets, g});
  logits = to_float(logits);
  Shape loss_shape = crossentropy_shape("softmax_crossentropy_grad", logits, targets);
  if (g.shape() != loss_shape)
    throw UserError(fmt::format("softmax_crossentropy_grad: the upstream gradient {} must have "
                                "the loss shape {}",
                                describe(g), loss_shape.to_string()));
  g = convert(g, logits.dtype());
  if (is_integer(targets.dtype()))
    return make_node(OpKind::SparseSoftmaxCrossEntropyGrad, logits.dtype(), logits.shape(),
                     {logits, targets, g});
  return make_node(OpKind::SoftmaxCrossEntropyGrad, logits.dtype(), logits.shape(),
                   {logits, convert(targets, logits.dtype()), g});
}

Expr fused_matmul(Expr a, Expr b, Expr bias, OpKind activation, bool transpose_a,
                  bool transpose_b) {
  check_operands("fused_matmul", {a, b});
  DAMO_ASSERT(activation == OpKind::Param || op_category(activation) == OpCategory::Unary,
              "fused_matmul: the activation must be a unary op");
  DAMO_ASSERT(a.dtype() == b.dtype(), "fused_matmul: operands must share a dtype");
  Shape shape = detail::matmul_shape("fused_matmul", a, b, transpose_a, transpose_b);
  std::vector<Expr> inputs = {a, b};
  if (bias.defined()) {
    check_operands("fused_matmul", {a, bias});
    DAMO_ASSERT(bias.dtype() == a.dtype(), "fused_matmul: the bias must share the dtype");
    DAMO_ASSERT(broadcast_shapes(shape, bias.shape()) == shape,
                "fused_matmul: the bias must broadcast to the product");
    inputs.push_back(bias);
  }
  Attrs attrs;
  attrs.ints = {transpose_a ? 1 : 0, transpose_b ? 1 : 0};
  attrs.sub_op = activation;
  return make_node(OpKind::FusedMatMul, a.dtype(), shape, inputs, attrs);
}

Expr param(Graph& graph, int index, DType dtype) {
  NodeSpec spec;
  spec.op = OpKind::Param;
  spec.dtype = dtype;
  spec.attrs.ints = {index};
  return Expr(graph.intern(std::move(spec)));
}

namespace {

// Checks that body is a scalar expression over params matching the operands' dtypes.
Shape fused_operand_shape(const std::string& op, Expr body, const std::vector<Expr>& operands) {
  DAMO_ASSERT(body.defined() && body.rank() == 0, op + ": the body must be a scalar expression");
  DAMO_ASSERT(!operands.empty(), op + ": needs at least one operand");
  Shape shape = operands[0].shape();
  for (const Expr& e : operands) shape = detail::broadcast_or_throw(op, shape, e.shape());
  std::vector<const Node*> stack = {body.node()};
  std::vector<const Node*> seen;
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op() == OpKind::Param) {
      auto index = static_cast<std::size_t>(n->attr(0));
      DAMO_ASSERT(index < operands.size(), op + ": a param index is out of range");
      DAMO_ASSERT(operands[index].dtype() == n->dtype(), op + ": a param dtype differs from its operand");
      continue;
    }
    DAMO_ASSERT(n->is_constant() || is_elementwise(n->op()), op + ": the body must be elementwise");
    for (const Node* input : n->inputs()) stack.push_back(input);
  }
  return shape;
}

}  // namespace

Expr fused_elementwise(Expr body, const std::vector<Expr>& operands) {
  Shape shape = fused_operand_shape("fused_elementwise", body, operands);
  Attrs attrs;
  attrs.body = body.node();
  return make_node(OpKind::FusedElementwise, body.dtype(), shape, operands, attrs);
}

Expr fused_reduction(OpKind op, Expr body, const std::vector<Expr>& operands, Axes axes,
                     bool keepdims) {
  Shape shape = fused_operand_shape("fused_reduction", body, operands);
  DAMO_ASSERT(op == OpKind::Sum || op == OpKind::Max || op == OpKind::Min || op == OpKind::Prod,
              "fused_reduction supports sum, max, min and prod");
  Attrs attrs;
  attrs.ints = detail::normalize_axes(axes, shape.rank(), "fused_reduction");
  attrs.keepdims = keepdims;
  attrs.sub_op = op;
  attrs.body = body.node();
  std::vector<Dim> dims;
  for (int i = 0; i < shape.rank(); ++i) {
    bool reduced = std::binary_search(attrs.ints.begin(), attrs.ints.end(), i);
    if (!reduced) dims.push_back(shape[i]);
    else if (keepdims) dims.emplace_back(1);
  }
  DType dtype = body.dtype();
  if ((op == OpKind::Sum || op == OpKind::Prod) && !is_float(dtype)) dtype = DType::Int64;
  DAMO_ASSERT(dtype == body.dtype(), "fused_reduction: the body must have the result dtype");
  return make_node(OpKind::FusedReduction, dtype, Shape(std::move(dims)), operands, attrs);
}

Expr rebuild(const Node& node, const std::vector<Expr>& in) {
  OpKind op = node.op();
  const Attrs& a = node.attrs();
  auto axes_of = [&]() { return Axes(a.ints); };
  switch (op_category(op)) {
  case OpCategory::Leaf: return Expr(&node);
  case OpCategory::Unary:
    if (op == OpKind::Cast) return cast(in.at(0), a.dtype);
    return unary(op, in.at(0));
  case OpCategory::Binary: return binary(op, in.at(0), in.at(1));
  case OpCategory::Ternary:
    if (op == OpKind::Where) return where(in.at(0), in.at(1), in.at(2));
    return clip(in.at(0), in.at(1), in.at(2));
  case OpCategory::Reduction: return reduce(op, in.at(0), axes_of(), a.keepdims);
  default: break;
  }
  switch (op) {
  case OpKind::MatMul: return matmul(in.at(0), in.at(1));
  case OpKind::Transpose: return transpose(in.at(0), std::vector<int>(a.ints.begin(), a.ints.end()));
  case OpKind::Reshape: return reshape(in.at(0), node.shape().dims());
  case OpKind::ExpandDims: return expand_dims(in.at(0), static_cast<int>(a.ints[0]));
  case OpKind::Squeeze: return squeeze(in.at(0), axes_of());
  case OpKind::BroadcastTo: return broadcast_to(in.at(0), node.shape());
  case OpKind::Concatenate: return concatenate(in, static_cast<int>(a.ints[0]));
  case OpKind::Slice:
    return slice(in.at(0), static_cast<int>(a.ints[0]), a.ints[1],
                 a.ints[2] < 0 ? std::optional<std::int64_t>() : a.ints[2], a.ints[3]);
  case OpKind::Take: return take(in.at(0), in.at(1), static_cast<int>(a.ints[0]));
  case OpKind::TakeAlongAxis: return take_along_axis(in.at(0), in.at(1), static_cast<int>(a.ints[0]));
  case OpKind::OneHot: return one_hot(in.at(0), a.ints[0], a.dtype);
  case OpKind::Softmax: return softmax(in.at(0), static_cast<int>(a.ints[0]));
  case OpKind::LogSoftmax: return log_softmax(in.at(0), static_cast<int>(a.ints[0]));
  case OpKind::CategoricalCrossentropy:
  case OpKind::SparseCategoricalCrossentropy: return categorical_crossentropy(in.at(0), in.at(1));
  case OpKind::BinaryCrossentropy: return binary_crossentropy(in.at(0), in.at(1));
  case OpKind::SliceScatter:
    return slice_scatter(in.at(0), node.shape(), static_cast<int>(a.ints[0]), a.ints[1], a.ints[2],
                         a.ints[3]);
  case OpKind::IndexAdd: return index_add(in.at(0), in.at(1), node.shape(), static_cast<int>(a.ints[0]));
  case OpKind::ScatterAddAlongAxis:
    return scatter_add_along_axis(in.at(0), in.at(1), node.shape(), static_cast<int>(a.ints[0]));
  case OpKind::SoftmaxCrossEntropy:
  case OpKind::SparseSoftmaxCrossEntropy: return softmax_crossentropy(in.at(0), in.at(1));
  case OpKind::SoftmaxCrossEntropyGrad:
  case OpKind::SparseSoftmaxCrossEntropyGrad:
    return softmax_crossentropy_grad(in.at(0), in.at(1), in.at(2));
  case OpKind::FusedMatMul:
    return fused_matmul(in.at(0), in.at(1), in.size() > 2 ? in[2] : Expr(), a.sub_op, a.ints[0] != 0,
                        a.ints[1] != 0);
  case OpKind::FusedElementwise: return fused_elementwise(Expr(a.body), in);
  case OpKind::FusedReduction:
    return fused_reduction(a.sub_op, Expr(a.body), in, axes_of(), a.keepdims);
  case OpKind::Param: return Expr(&node);
  default: break;
  }
  fail_internal("rebuild", fmt::format("no rebuild rule for op {}", op_name(op)));
}

}  // namespace damo
