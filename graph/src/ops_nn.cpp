// Factories of the neural-network ops and the fused ops the optimizer introduces. The
// scatters that autodiff introduces are in ops_scatter.cpp.
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

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

Expr leaky_relu(Expr x, double slope) {
  x = to_float(x);
  return where(x > 0.0, x, x * slope);
}

// expm1 reads 0 where x > 0, because the unused branch of where() still has a gradient of
// 0 * exp(x), which is NaN once exp(x) overflows (x from 89 in float32).
Expr elu(Expr x, double alpha) {
  x = to_float(x);
  Expr positive = x > 0.0;
  return where(positive, x, expm1(where(positive, 0.0, x)) * alpha);
}

Expr silu(Expr x) {
  x = to_float(x);
  return x * sigmoid(x);
}

Expr gelu(Expr x, bool approximate) {
  x = to_float(x);
  // 0.5 (1 + erf(x / sqrt(2))) equals 0.5 erfc(-x / sqrt(2)), which keeps its digits for
  // negative x where the sum cancels.
  if (!approximate) return x * 0.5 * erfc(x * (-1.0 / std::numbers::sqrt2));
  // 0.5 (1 + tanh(u)) equals sigmoid(2u), which has no cancellation where tanh(u) is near
  // -1: in f32 the tanh form loses about three digits at x = -4.
  const double scale = std::sqrt(2.0 / std::numbers::pi);
  return x * sigmoid((x + x * x * x * 0.044715) * (2.0 * scale));
}

// Equal operands give a / 2 + b / 2 + log(2): equal infinities would make a - b NaN, and the
// mean splits the gradient evenly where maximum() would send it to one side. Halving before
// adding keeps a = b = 1e308 finite.
Expr logaddexp(Expr a, Expr b) {
  check_operands("logaddexp", {a, b});
  detail::broadcast_or_throw("logaddexp", a.shape(), b.shape());
  a = to_float(a);
  b = to_float(b);
  // No intermediate computes inf - inf, which would be NaN even where where() discards it,
  // and would stop a call under the NaN guard. The other branch gets a gap of 0 at ties.
  // One node per statement, so that node creation order, which decides how the graph
  // prints, does not depend on the compiler's order of evaluating operands.
  Expr tie = a == b;
  Expr tie_free_a = where(tie, 0.0, a);
  Expr tie_free_b = where(tie, 0.0, b);
  Expr gap = tie_free_a - tie_free_b;
  Expr larger = maximum(a, b);
  Expr rest = larger + log1p(exp(-abs(gap)));
  // At a tie, logaddexp is (a + b) / 2 + log(2) + (a - b)^2 / 8 up to fourth-order terms.
  // The square adds 0 to the value there but gives the Hessian its 1/4 entries. Infinite
  // operands read 0 in it.
  const double inf = std::numeric_limits<double>::infinity();
  Expr finite_a = where(abs(a) < inf, a, 0.0);
  Expr finite_b = where(abs(b) < inf, b, 0.0);
  Expr finite_gap = finite_a - finite_b;
  Expr half_a = a * 0.5;
  Expr half_b = b * 0.5;
  Expr at_tie = half_a + half_b + std::numbers::ln2 + square(finite_gap) * 0.125;
  return where(tie, at_tie, rest);
}

Expr softsign(Expr x) {
  x = to_float(x);
  return x / (abs(x) + 1.0);
}

Expr cumsum(Expr x, int axis, bool reverse) {
  check_operands("cumsum", {x});
  if (x.rank() == 0)
    throw UserError("cumsum: the operand is a scalar; it needs an axis to sum along, so give it "
                    "rank 1 or more (reshape(x, [1]))");
  DType dtype = is_float(x.dtype()) ? x.dtype() : DType::Int64;
  Expr operand = convert(x, dtype);
  Attrs attrs;
  attrs.ints = {normalize_axis(axis, x.rank(), "cumsum"), reverse ? 1 : 0};
  return make_node(OpKind::CumSum, dtype, x.shape(), {operand}, attrs, x->weak());
}

Expr argsort(Expr x, int axis, bool descending) {
  check_operands("argsort", {x});
  if (x.rank() == 0)
    throw UserError("argsort: the operand is a scalar; it needs an axis to sort along, so give it "
                    "rank 1 or more (reshape(x, [1]))");
  Attrs attrs;
  attrs.ints = {normalize_axis(axis, x.rank(), "argsort"), descending ? 1 : 0};
  return make_node(OpKind::ArgSort, DType::Int64, x.shape(), {x}, attrs);
}

Expr sort(Expr x, int axis, bool descending) {
  check_operands("sort", {x});
  if (x.rank() == 0)
    throw UserError("sort: the operand is a scalar; it needs an axis to sort along, so give it "
                    "rank 1 or more (reshape(x, [1]))");
  int line_axis = static_cast<int>(normalize_axis(axis, x.rank(), "sort"));
  return take_along_axis(x, argsort(x, line_axis, descending), line_axis);
}

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
  if (activation != OpKind::Param && op_category(activation) != OpCategory::Unary)
    throw UserError(fmt::format("fused_matmul: the activation {} is not a unary op",
                                op_name(activation)));
  if (a.dtype() != b.dtype())
    throw UserError(fmt::format("fused_matmul: operands {} and {} must share a dtype",
                                describe(a), describe(b)));
  Shape shape = detail::matmul_shape("fused_matmul", a, b, transpose_a, transpose_b);
  std::vector<Expr> inputs = {a, b};
  if (bias.defined()) {
    check_operands("fused_matmul", {a, bias});
    // A weak bias such as a literal takes the operands' dtype, as in a @ b + bias.
    if (bias->weak() && bias.dtype() != a.dtype() &&
        promote({a.dtype(), false}, {bias.dtype(), true}).dtype == a.dtype())
      bias = detail::convert(bias, a.dtype());
    if (bias.dtype() != a.dtype() || broadcast_shapes(shape, bias.shape()) != shape)
      throw UserError(fmt::format("fused_matmul: the bias {} must have the operands' dtype {} "
                                  "and broadcast to the product's shape {}",
                                  describe(bias), dtype_name(a.dtype()), shape.to_string()));
    inputs.push_back(bias);
  }
  Attrs attrs;
  attrs.ints = {transpose_a ? 1 : 0, transpose_b ? 1 : 0};
  attrs.sub_op = activation;
  return make_node(OpKind::FusedMatMul, a.dtype(), shape, inputs, attrs);
}

Expr dim_size(Graph& graph, const std::string& symbol) {
  Dim checked = Dim::from_symbol(symbol);  // an identifier, or a derived size such as n-1
  NodeSpec spec;
  spec.op = OpKind::DimSize;
  spec.dtype = DType::Int64;
  spec.name = checked.symbol();
  return Expr(graph.intern(std::move(spec)));
}

Expr param(Graph& graph, int index, DType dtype) {
  if (index < 0) throw UserError(fmt::format("param: index {} is negative", index));
  NodeSpec spec;
  spec.op = OpKind::Param;
  spec.dtype = dtype;
  spec.attrs.ints = {index};
  return Expr(graph.intern(std::move(spec)));
}

namespace {

// Checks that body is a scalar expression over params matching the operands' dtypes, and
// returns the operands' broadcast shape. Throws UserError naming op otherwise.
Shape fused_operand_shape(const std::string& op, Expr body, const std::vector<Expr>& operands) {
  if (!body.defined() || body.rank() != 0)
    throw UserError(op + ": the body must be a scalar expression over param() nodes");
  if (operands.empty()) throw UserError(op + ": needs at least one operand");
  for (std::size_t i = 0; i < operands.size(); ++i)
    if (!operands[i].defined())
      throw UserError(fmt::format("{}: operand {} is undefined", op, i));
  Shape shape = operands[0].shape();
  for (const Expr& e : operands) shape = detail::broadcast_or_throw(op, shape, e.shape());
  std::vector<const Node*> stack = {body.node()};
  std::vector<const Node*> seen;
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op() == OpKind::Param) {
      auto index = static_cast<std::size_t>(n->attr(0));
      if (index >= operands.size())
        throw UserError(fmt::format("{}: the body uses param {} but there are {} operands", op,
                                    index, operands.size()));
      if (operands[index].dtype() != n->dtype())
        throw UserError(fmt::format("{}: param {} is {} but its operand is {}", op, index,
                                    dtype_name(n->dtype()), describe(operands[index])));
      continue;
    }
    if (!n->is_constant() && !is_elementwise(n->op()))
      throw UserError(fmt::format("{}: the body must be elementwise, but contains {}", op,
                                  op_name(n->op())));
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
  if (op != OpKind::Sum && op != OpKind::Mean && op != OpKind::Max && op != OpKind::Min &&
      op != OpKind::Prod)
    throw UserError(fmt::format("fused_reduction: the reduction {} is not sum, mean, max, min or "
                                "prod",
                                op_name(op)));
  if (op == OpKind::Mean && !is_float(body.dtype()))
    throw UserError(fmt::format("fused_reduction: a mean needs a float body, not {}; cast the body "
                                "to f32 or f64",
                                dtype_name(body.dtype())));
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
  if (dtype != body.dtype())
    throw UserError(fmt::format("fused_reduction: a {} of a {} body needs the body cast to {} "
                                "first",
                                op_name(op), dtype_name(body.dtype()), dtype_name(dtype)));
  return make_node(OpKind::FusedReduction, dtype, Shape(std::move(dims)), operands, attrs);
}

Expr rebuild(const Node& node, const std::vector<Expr>& in) {
  OpKind op = node.op();
  if (!node.is_leaf() && in.size() != node.input_count())
    throw UserError(fmt::format("rebuild: {} takes {} inputs, got {}", op_name(op),
                                node.input_count(), in.size()));
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
  case OpKind::Slice: {
    // A stop counted from the end is 0 (the end) or negative; a resolved one is negative
    // only for a backward slice through index 0. Both read back as an open stop.
    bool open = slice_counts_from_end(node) ? a.ints[2] == 0 : a.ints[2] < 0;
    return slice(in.at(0), static_cast<int>(a.ints[0]), a.ints[1],
                 open ? std::optional<std::int64_t>() : a.ints[2], a.ints[3]);
  }
  case OpKind::Take: return take(in.at(0), in.at(1), static_cast<int>(a.ints[0]));
  case OpKind::TakeAlongAxis: return take_along_axis(in.at(0), in.at(1), static_cast<int>(a.ints[0]));
  case OpKind::OneHot: return one_hot(in.at(0), a.ints[0], a.dtype);
  case OpKind::RandomUniform: return random_uniform(in.at(0), node.shape(), a.dtype, a.ints[0]);
  case OpKind::Softmax: return softmax(in.at(0), static_cast<int>(a.ints[0]));
  case OpKind::LogSoftmax: return log_softmax(in.at(0), static_cast<int>(a.ints[0]));
  case OpKind::CumSum: return cumsum(in.at(0), static_cast<int>(a.ints[0]), a.ints[1] != 0);
  case OpKind::ArgSort: return argsort(in.at(0), static_cast<int>(a.ints[0]), a.ints[1] != 0);
  case OpKind::CategoricalCrossentropy:
  case OpKind::SparseCategoricalCrossentropy: return categorical_crossentropy(in.at(0), in.at(1));
  case OpKind::BinaryCrossentropy: return binary_crossentropy(in.at(0), in.at(1));
  case OpKind::SliceScatter:
    if (slice_counts_from_end(node))
      return detail::slice_scatter_from_end(in.at(0), node.shape(), static_cast<int>(a.ints[0]),
                                            a.ints[1], a.ints[2]);
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
