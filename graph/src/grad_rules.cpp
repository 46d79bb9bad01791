// Dispatch of the gradient rules by op family, and the helpers that every family uses:
// which edges carry a gradient, reduction of a contribution to its operand's shape, zeros.
#include <fmt/format.h>

#include <algorithm>

#include "grad_rules.h"

namespace damo::detail {

GradRule find_grad_rule(OpKind op) {
  switch (op_category(op)) {
  case OpCategory::Unary:
  case OpCategory::Binary:
  case OpCategory::Ternary: return elementwise_grad_rule(op);
  case OpCategory::Reduction: return reduction_grad_rule(op);
  case OpCategory::Layout:
  case OpCategory::LinearAlgebra:
  case OpCategory::Gradient: return layout_grad_rule(op);
  case OpCategory::NeuralNet: return nn_grad_rule(op);
  case OpCategory::Fused: return fused_grad_rule(op);
  case OpCategory::Leaf: return nullptr;
  }
  return nullptr;
}

bool carries_gradient(const Node& node, std::size_t input) {
  if (!is_float(node.dtype()) || !is_float(node.input(input)->dtype())) return false;
  switch (node.op()) {
  // Piecewise constant ops have a zero derivative wherever they have one at all.
  case OpKind::StopGradient:
  case OpKind::Sign:
  case OpKind::Floor:
  case OpKind::Ceil:
  case OpKind::Round:
  case OpKind::FloorDiv: return false;
  default: return find_grad_rule(node.op()) != nullptr;
  }
}

Expr zeros(Graph& graph, DType dtype, const Shape& shape) {
  return broadcast_to(graph.scalar(0.0, dtype), shape);
}

Expr class_mask(Expr targets, const Expr& like) {
  const Dim& classes = like.shape()[like.rank() - 1];
  if (classes.is_static()) return one_hot(targets, classes.size(), DType::Bool);
  // Positions 0, 1, ... along the symbolic class axis, from a running sum of ones.
  Expr ones = broadcast_to(like.graph().scalar(1.0, DType::Int64), like.shape());
  Expr positions = cumsum(ones, like.rank() - 1) - 1;
  return positions == expand_dims(cast(targets, DType::Int64), -1);
}

Expr select_or_zero(Expr condition, Expr value) {
  return where(condition, value, literal_like(value, 0.0));
}

Expr masked_product(Expr condition, Expr g, Expr factor) {
  return select_or_zero(condition, g * select_or_zero(condition, factor));
}

Expr fit_to_operand(Expr x, const Shape& shape, DType dtype) {
  // Axes that broadcasting prepended, and axes where the operand has size 1 but x does not.
  int lead = std::max(0, x.rank() - shape.rank());
  std::vector<std::int64_t> axes;
  bool stretched_inner = false;
  for (int i = 0; i < x.rank(); ++i) {
    int j = i - x.rank() + shape.rank();  // the operand's axis aligned with axis i of x
    bool stretched = i < lead || (shape[j] == Dim(1) && x.shape()[i] != Dim(1));
    if (stretched) axes.push_back(i);
    stretched_inner = stretched_inner || (stretched && i >= lead);
  }

  // Prepended axes go away; stretched ones stay as size 1.
  if (!stretched_inner && !axes.empty()) {
    x = sum(x, Axes(axes), false);
  } else if (!axes.empty()) {
    x = sum(x, Axes(axes), true);
    std::vector<std::int64_t> leading;
    for (int i = 0; i < lead; ++i) leading.push_back(i);
    if (!leading.empty()) x = squeeze(x, Axes(leading));
  }

  if (x.shape() != shape) x = broadcast_to(x, shape);
  return cast(x, dtype);
}

Contributions apply_grad_rule(const Node& node, Expr g, const std::vector<bool>& needed) {
  GradRule rule = find_grad_rule(node.op());
  DAMO_ASSERT(rule != nullptr, fmt::format("no gradient rule for op {}", op_name(node.op())));
  DAMO_ASSERT(g.shape() == node.shape() && g.dtype() == node.dtype(),
              fmt::format("the upstream gradient of {} has the wrong type", op_name(node.op())));

  Contributions contributions = rule(GradContext{node, g, needed});
  DAMO_ASSERT(contributions.size() == node.input_count(),
              fmt::format("the rule of {} returned the wrong number of contributions",
                          op_name(node.op())));

  for (std::size_t i = 0; i < contributions.size(); ++i) {
    if (!needed[i] || !carries_gradient(node, i)) {
      contributions[i] = Expr();
      continue;
    }
    const Node& operand = *node.input(i);
    if (contributions[i].defined())
      contributions[i] = fit_to_operand(contributions[i], operand.shape(), operand.dtype());
  }
  return contributions;
}

}  // namespace damo::detail
