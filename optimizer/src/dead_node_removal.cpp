// Dead-node removal: identity ops go, and the tracked node set shrinks to what the roots
// reach.
#include "damo/optimizer/dead_node_removal.h"

#include "damo/runtime/log.h"
#include "node_map.h"
#include "pass_util.h"

namespace damo {

namespace {

bool is_identity_permutation(const std::vector<std::int64_t>& perm) {
  for (std::size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<std::int64_t>(i)) return false;
  return true;
}

// The operand of node when node passes it through unchanged, else undefined.
Expr identity_operand(const Node& node, bool remove_stop_gradient) {
  const Node* operand = node.input_count() == 1 ? node.input(0) : nullptr;
  if (operand == nullptr || operand->dtype() != node.dtype() || operand->shape() != node.shape() ||
      operand->weak() != node.weak())
    return Expr();
  switch (node.op()) {
  case OpKind::StopGradient: return remove_stop_gradient ? Expr(operand) : Expr();
  case OpKind::Cast:
  case OpKind::Reshape:
  case OpKind::BroadcastTo: return Expr(operand);
  case OpKind::Slice: return node.attr(1) == 0 && node.attr(3) == 1 ? Expr(operand) : Expr();
  case OpKind::Transpose:
    return is_identity_permutation(node.attrs().ints) ? Expr(operand) : Expr();
  default: return Expr();
  }
}

}  // namespace

DeadNodeRemoval::DeadNodeRemoval(DeadNodeRemovalOptions options)
    : rewriter_("dead_node_removal",
                {{"remove_identity_op", std::nullopt,
                  [remove = options.remove_stop_gradient](const Node& node, const RuleContext&) {
                    return identity_operand(node, remove);
                  }}},
                options.limits) {}

bool DeadNodeRemoval::run(GraphState& graph) const {
  bool changed = detail::run_rewriter(rewriter_, graph);

  std::vector<const Node*> reachable = detail::reachable_nodes(graph.roots);
  detail::NodeMap<std::uint8_t> live;
  for (const Node* node : reachable) live[node] = 1;
  std::size_t dropped = 0;
  for (const Node* node : graph.tracked) dropped += live.contains(node) ? 0 : 1;
  graph.tracked = std::move(reachable);
  graph.removed_nodes += dropped;
  if (dropped > 0)
    log_at(1, "dead_node_removal: {} nodes are no longer reachable; {} remain", dropped,
           graph.tracked.size());
  return changed;
}

}  // namespace damo
