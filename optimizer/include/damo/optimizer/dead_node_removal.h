// Dead-node removal. Nodes are immutable and owned by their Graph, so nothing is freed:
// the pass refreshes the set of nodes the pipeline tracks to those the roots reach and
// counts the ones dropped. It also removes identity ops, which compute nothing.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct DeadNodeRemovalOptions {
  /// Replaces stop_gradient(x) by x. Right before lowering, where no gradient is taken any
  /// more; off for graphs that may still be differentiated.
  bool remove_stop_gradient = true;
  RewriteLimits limits;
};

/// Removes identity ops (a cast to the operand's dtype, a reshape or broadcast_to to the
/// operand's shape, an identity transpose, a full slice and, when asked, stop_gradient)
/// and refreshes GraphState::tracked, adding the number of dropped nodes to
/// GraphState::removed_nodes.
class DeadNodeRemoval final : public Pass {
 public:
  explicit DeadNodeRemoval(DeadNodeRemovalOptions options = {});
  std::string_view name() const override { return "dead_node_removal"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
