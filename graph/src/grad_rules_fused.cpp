// Gradient rules of the fused ops that the optimizer introduces. The cross-entropy on logits
// has its own gradient op. fused_matmul and fused_reduction are rebuilt from their unfused
// parts and differentiated through those parts' rules. fused_elementwise differentiates its
// scalar body and returns fused_elementwise nodes again.
#include <fmt/format.h>

#include "damo/graph/traversal.h"
#include "grad_rules.h"

namespace damo::detail {

namespace {

// loss = -sum(t * log_softmax(z)) over the last axis. Its gradient with respect to z,
// g * (softmax(z) * sum(t) - t), is the softmax_crossentropy_grad op.
Contributions softmax_crossentropy_grad_rule(const GradContext& c) {
  Expr logits = c.in(0);
  Expr targets = c.in(1);
  Contributions r(2);
  if (c.wants(0)) r[0] = softmax_crossentropy_grad(logits, targets, c.g);
  if (c.wants(1)) r[1] = -(expand_dims(c.g, -1) * log_softmax(logits, -1));
  return r;
}

// The node computes out = g0 * (s * T - t) along the last axis, with s = softmax(z) and
// T = sum(t) (1 for class targets). For an upstream gradient G:
// dz = g0 * T * s * (G - sum(G * s)), dt = g0 * (sum(G * s) - G),
// dg0 = sum(G * s) * T - sum(G * t).
Contributions softmax_crossentropy_grad_grad(const GradContext& c) {
  Expr logits = c.in(0);
  Expr targets = c.in(1);
  Expr g0 = expand_dims(c.in(2), -1);
  Expr s = softmax(logits, -1);
  Expr upstream = c.g;
  Expr upstream_dot_s = sum(upstream * s, Axes(-1), true);
  bool sparse = c.node.op() == OpKind::SparseSoftmaxCrossEntropyGrad;
  Expr target_sum = sparse ? Expr() : sum(targets, Axes(-1), true);

  Contributions r(3);
  if (c.wants(0)) {
    Expr dz = g0 * (s * (upstream - upstream_dot_s));
    r[0] = sparse ? dz : dz * target_sum;
  }
  if (c.wants(1) && !sparse) r[1] = g0 * (upstream_dot_s - upstream);
  if (c.wants(2)) {
    Expr on_targets = sparse ? select_or_zero(class_mask(targets, logits), upstream)
                             : upstream * targets;
    Expr scaled = sparse ? upstream_dot_s : upstream_dot_s * target_sum;
    r[2] = squeeze(scaled, Axes(-1)) - sum(on_targets, Axes(-1));
  }
  return r;
}

// x with its last two axes swapped when it has two or more.
Expr swap_last_axes(Expr x) {
  if (x.rank() < 2) return x;
  std::vector<int> perm;
  for (int i = 0; i < x.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(x, perm);
}

// fused_matmul = activation(op(a) @ op(b) + bias): the activation's rule gives the gradient
// of the pre-activation, which goes to the bias as is and through matmul's rule to a and b.
Contributions fused_matmul_grad(const GradContext& c) {
  const Attrs& attrs = c.node.attrs();
  bool transpose_a = attrs.ints[0] != 0;
  bool transpose_b = attrs.ints[1] != 0;
  Expr a = transpose_a ? swap_last_axes(c.in(0)) : c.in(0);
  Expr b = transpose_b ? swap_last_axes(c.in(1)) : c.in(1);
  Expr product = matmul(a, b);
  bool has_bias = c.node.input_count() > 2;
  Expr z = has_bias ? product + c.in(2) : product;

  Contributions r(c.node.input_count());
  Expr gz = c.g;
  if (attrs.sub_op != OpKind::Param) {
    Expr activated = unary(attrs.sub_op, z);
    gz = apply_grad_rule(*activated.node(), c.g, {true})[0];
    if (!gz.defined()) return r;
  }

  if (has_bias && c.wants(2)) r[2] = gz;
  Contributions parts = apply_grad_rule(*product.node(), gz, {c.wants(0), c.wants(1)});
  if (parts[0].defined()) r[0] = transpose_a ? swap_last_axes(parts[0]) : parts[0];
  if (parts[1].defined()) r[1] = transpose_b ? swap_last_axes(parts[1]) : parts[1];
  return r;
}

// fused_elementwise(body, operands) over only the operands that body reads, with its params
// renumbered, and always with the last operand, which has the node's full shape. An operand
// that the body does not read would stay an input of the result: jvp's placeholder
// cotangents must drop out of its second pass.
Expr fused_over_read_operands(Expr body, const std::vector<Expr>& operands) {
  Graph& graph = body.graph();
  std::vector<int> renumbered(operands.size(), -1);
  std::vector<const Node*> order = topo_order(std::vector<Expr>{body});
  auto index_of = [](const Node* node) { return static_cast<std::size_t>(node->attrs().ints.at(0)); };
  for (const Node* node : order)
    if (node->op() == OpKind::Param) renumbered.at(index_of(node)) = 0;
  renumbered.back() = 0;
  std::vector<Expr> read_operands;
  for (std::size_t i = 0; i < operands.size(); ++i)
    if (renumbered[i] == 0) {
      renumbered[i] = static_cast<int>(read_operands.size());
      read_operands.push_back(operands[i]);
    }
  std::unordered_map<const Node*, Expr> rebuilt;
  for (const Node* node : order) {
    if (node->op() == OpKind::Param) {
      rebuilt[node] = param(graph, renumbered[index_of(node)], node->dtype());
      continue;
    }
    std::vector<Expr> inputs;
    for (const Node* input : node->inputs()) inputs.push_back(rebuilt.at(input));
    rebuilt[node] = node->input_count() == 0 ? Expr(node) : rebuild(*node, inputs);
  }
  return fused_elementwise(rebuilt.at(body.node()), read_operands);
}

// The body is a scalar expression over param(0..n-1). Its derivative with respect to each
// param, for an upstream gradient param(n), is again such an expression, so each operand's
// contribution is a fused_elementwise of the derivative over the operands and g.
Contributions fused_elementwise_grad(const GradContext& c) {
  Graph& graph = c.g.graph();
  std::size_t count = c.node.input_count();
  Expr body(c.node.attrs().body);
  Expr upstream = param(graph, static_cast<int>(count), c.g.dtype());

  std::vector<const Node*> params(count, nullptr);
  std::vector<const Node*> targets;
  for (std::size_t i = 0; i < count; ++i) {
    if (!c.wants(i) || !is_float(c.in(i).dtype())) continue;
    params[i] = param(graph, static_cast<int>(i), c.in(i).dtype()).node();
    targets.push_back(params[i]);
  }
  auto derivatives = backpropagate({body}, {upstream}, targets);

  std::vector<Expr> operands;
  for (std::size_t i = 0; i < count; ++i) operands.push_back(c.in(i));
  operands.push_back(c.g);
  Contributions r(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto it = params[i] == nullptr ? derivatives.end() : derivatives.find(params[i]);
    if (it == derivatives.end()) continue;
    Expr derivative = it->second;
    r[i] = derivative.node() == upstream.node() ? c.g
                                                 : fused_over_read_operands(derivative, operands);
  }
  return r;
}

// fused_reduction = reduce(op, fused_elementwise(body, operands)).
Contributions fused_reduction_grad(const GradContext& c) {
  const Attrs& attrs = c.node.attrs();
  std::vector<Expr> operands;
  for (std::size_t i = 0; i < c.node.input_count(); ++i) operands.push_back(c.in(i));
  Expr mapped = fused_elementwise(Expr(attrs.body), operands);
  Expr reduced = reduce(attrs.sub_op, mapped, Axes(attrs.ints), attrs.keepdims);
  DAMO_ASSERT(reduced.shape() == c.node.shape() && reduced.dtype() == c.node.dtype(),
              "the unfused form of fused_reduction has another type");

  Expr g_mapped = apply_grad_rule(*reduced.node(), c.g, {true})[0];
  if (!g_mapped.defined()) return Contributions(operands.size());
  return apply_grad_rule(*mapped.node(), g_mapped, c.needed);
}

}  // namespace

GradRule fused_grad_rule(OpKind op) {
  switch (op) {
  case OpKind::SoftmaxCrossEntropy:
  case OpKind::SparseSoftmaxCrossEntropy: return softmax_crossentropy_grad_rule;
  case OpKind::SoftmaxCrossEntropyGrad:
  case OpKind::SparseSoftmaxCrossEntropyGrad: return softmax_crossentropy_grad_grad;
  case OpKind::FusedMatMul: return fused_matmul_grad;
  case OpKind::FusedElementwise: return fused_elementwise_grad;
  case OpKind::FusedReduction: return fused_reduction_grad;
  default: return nullptr;
  }
}

}  // namespace damo::detail
