// Pass: the interface of every optimizer pass, and GraphState, the graph a pass rewrites.
//
// Nodes are immutable and interned, so a pass never edits a node: it builds replacement
// nodes through the op factories and returns new roots. A pass reports whether it replaced
// anything, which is what lets a Pipeline repeat a group of passes until nothing changes.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// A graph under optimization: a list of root expressions (the outputs of a function
/// followed by the new values of its shared-variable updates) and the nodes the pipeline
/// tracks, which are the nodes reachable from the roots when dead-node removal last ran.
struct GraphState {
  std::vector<Expr> roots;
  /// Reachable nodes, inputs before their users; refreshed by dead-node removal.
  std::vector<const Node*> tracked;
  /// Nodes dropped from tracked because no root reaches them any more, summed over runs.
  std::size_t removed_nodes = 0;
};

class Pass {
 public:
  virtual ~Pass() = default;

  /// The name that logs print and that disables the pass, such as "simplify".
  virtual std::string_view name() const = 0;

  /// Rewrites graph.roots; returns true when any root changed.
  virtual bool run(GraphState& graph) const = 0;
};

}  // namespace damo
