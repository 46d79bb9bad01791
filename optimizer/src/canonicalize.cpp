// Canonical operand order for commutative ops and comparisons with a constant.
#include "damo/optimizer/canonicalize.h"

#include <tuple>

#include "damo/graph/ops.h"
#include "pass_util.h"

namespace damo {

namespace {

// Sort key: non-constants first, in creation order, then constants in creation order.
std::tuple<bool, std::uint64_t> order_key(const Node* node) {
  return {detail::constant_below_broadcasts(node) != nullptr, node->id()};
}

std::optional<OpKind> mirrored_comparison(OpKind op) {
  switch (op) {
  case OpKind::Lt: return OpKind::Gt;
  case OpKind::Le: return OpKind::Ge;
  case OpKind::Gt: return OpKind::Lt;
  case OpKind::Ge: return OpKind::Le;
  default: return std::nullopt;
  }
}

Expr commute(const Node& node) {
  if (!is_commutative(node.op()) || node.input_count() != 2) return Expr();
  if (order_key(node.input(0)) <= order_key(node.input(1))) return Expr();
  return binary(node.op(), Expr(node.input(1)), Expr(node.input(0)));
}

// c < x -> x > c: the constant moves last, like an operand of a commutative op.
Expr mirror(const Node& node) {
  auto mirrored = mirrored_comparison(node.op());
  if (!mirrored) return Expr();
  bool constant_first = detail::constant_below_broadcasts(node.input(0)) != nullptr;
  bool constant_second = detail::constant_below_broadcasts(node.input(1)) != nullptr;
  if (!constant_first || constant_second) return Expr();
  return binary(*mirrored, Expr(node.input(1)), Expr(node.input(0)));
}

}  // namespace

Canonicalize::Canonicalize(CanonicalizeOptions options)
    : rewriter_("canonicalize",
                {{"commute_operands", std::nullopt,
                  [](const Node& node, const RuleContext&) { return commute(node); }},
                 {"mirror_comparison", std::nullopt,
                  [](const Node& node, const RuleContext&) { return mirror(node); }}},
                options.limits) {}

bool Canonicalize::run(GraphState& graph) const { return detail::run_rewriter(rewriter_, graph); }

}  // namespace damo
