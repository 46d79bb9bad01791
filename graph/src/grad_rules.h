// Gradient rules: for each differentiable op, the vector-Jacobian product that maps the
// upstream gradient of a node to contributions for its inputs. The driver in autodiff.cpp
// walks the graph and calls them; the rules live in grad_rules_*.cpp, one file per op family.
// Conventions at kinks and singular points are listed in docs/gradients.md.
#pragma once

#include <unordered_map>
#include <vector>

#include "damo/graph/ops.h"

namespace damo::detail {

/// The inputs of a rule: the node, its upstream gradient and the inputs that need a gradient.
struct GradContext {
  const Node& node;
  Expr g;                           // upstream gradient, of the node's shape and dtype
  const std::vector<bool>& needed;  // needed[i]: input i leads to a requested variable

  Expr out() const { return Expr(&node); }
  Expr in(std::size_t i) const { return Expr(node.input(i)); }
  bool wants(std::size_t i) const { return needed.at(i); }
};

/// One contribution per input of the node; an undefined Expr contributes nothing. A
/// contribution may have the node's broadcast shape and dtype: fit_to_operand() reduces it.
using Contributions = std::vector<Expr>;
using GradRule = Contributions (*)(const GradContext&);

/// The rule of op, or nullptr when op has none. Each op family has its own lookup.
GradRule find_grad_rule(OpKind op);
GradRule elementwise_grad_rule(OpKind op);
GradRule reduction_grad_rule(OpKind op);
GradRule layout_grad_rule(OpKind op);
GradRule nn_grad_rule(OpKind op);
GradRule fused_grad_rule(OpKind op);

/// True when a gradient flows from node to its input number input: both are float, the op
/// is differentiable in that operand, and the op is not stop_gradient or piecewise constant.
bool carries_gradient(const Node& node, std::size_t input);

/// Runs the rule of node for upstream gradient g and returns contributions already summed
/// over broadcast axes and cast to each input's shape and dtype.
Contributions apply_grad_rule(const Node& node, Expr g, const std::vector<bool>& needed);

/// Sums x over the axes that broadcasting added or stretched, so that it has shape; the
/// result is broadcast when x is smaller. Converts to dtype.
Expr fit_to_operand(Expr x, const Shape& shape, DType dtype);

/// A bool mask over the last axis of like, true where the position along that axis equals
/// the target of its row: one_hot(targets, classes), also for a symbolic class count. A
/// target outside [0, classes) gives a row of false.
Expr class_mask(Expr targets, const Expr& like);

/// where(condition, value, 0): value where condition is true and 0 elsewhere, in value's dtype.
Expr select_or_zero(Expr condition, Expr value);

/// g * factor where condition is true and 0 elsewhere, with the factor masked too. As a
/// function of g, its coefficient is then 0 where the condition is false, so the
/// transposition in jvp never multiplies a masked 0 by an infinite factor.
Expr masked_product(Expr condition, Expr g, Expr factor);

/// A tensor of zeros of the given dtype and shape, as a broadcast scalar.
Expr zeros(Graph& graph, DType dtype, const Shape& shape);

/// Total derivatives of sum_i <cotangents[i], outputs[i]> with respect to each target that
/// the outputs depend on through gradient-carrying edges. Targets without a path are absent.
std::unordered_map<const Node*, Expr> backpropagate(const std::vector<Expr>& outputs,
                                                    const std::vector<Expr>& cotangents,
                                                    const std::vector<const Node*>& targets);

}  // namespace damo::detail
