// Constant folding through the reference evaluator.
#include "damo/optimizer/constant_folding.h"

#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "pass_util.h"

namespace damo {

namespace {

// A constant node holding value, with the dtype and weakness of node.
Expr constant_like(const Node& node, const Tensor& value) {
  return node.weak() ? node.graph().weak_constant(value) : node.graph().constant(value);
}

bool is_small(const Shape& shape, std::int64_t max_elements) {
  auto numel = shape.static_numel();
  return numel && *numel <= max_elements;
}

// The node computed over constant operands, or undefined when the evaluator rejects them.
Expr evaluate_constant(const Node& node) {
  std::vector<Tensor> operands;
  for (const Node* input : node.inputs()) operands.push_back(input->value());
  try {
    return constant_like(node, evaluate_node(node, operands));
  } catch (const UserError&) {
    return Expr();
  } catch (const RuntimeError&) {
    return Expr();
  }
}

Expr fold(const Node& node, std::int64_t max_elements) {
  if (node.op() == OpKind::BroadcastTo || node.op() == OpKind::Param) return Expr();
  for (const Node* input : node.inputs())
    if (!input->is_constant()) return Expr();
  if (!is_small(node.shape(), max_elements)) return Expr();
  return evaluate_constant(node);
}

// op(broadcast_to(c1, S), c2, ...) -> broadcast_to(op(c1, c2, ...), shape): the op computes
// on the constants' own shapes, which stay small however large S is.
Expr fold_broadcast_operands(const Node& node, std::int64_t max_elements) {
  if (!is_elementwise(node.op())) return Expr();
  std::vector<Expr> constants;
  bool any_broadcast = false;
  for (const Node* input : node.inputs()) {
    const Node* constant = detail::constant_below_broadcasts(input);
    if (constant == nullptr) return Expr();
    any_broadcast = any_broadcast || constant != input;
    constants.emplace_back(constant);
  }
  if (!any_broadcast) return Expr();
  Expr small = rebuild(node, constants);
  if (!is_small(small.shape(), max_elements)) return Expr();
  Expr value = evaluate_constant(*small.node());
  if (!value.defined()) return Expr();
  return fit_like(value, node);
}

std::vector<RewriteRule> folding_rules(std::int64_t max_elements) {
  return {
      {"fold_constant_operands", std::nullopt,
       [max_elements](const Node& node, const RuleContext&) { return fold(node, max_elements); }},
      {"fold_broadcast_constant_operands", std::nullopt,
       [max_elements](const Node& node, const RuleContext&) {
         return fold_broadcast_operands(node, max_elements);
       }},
  };
}

}  // namespace

ConstantFolding::ConstantFolding(ConstantFoldingOptions options)
    : rewriter_("constant_folding", folding_rules(options.max_elements), options.limits) {}

bool ConstantFolding::run(GraphState& graph) const {
  return detail::run_rewriter(rewriter_, graph);
}

}  // namespace damo
