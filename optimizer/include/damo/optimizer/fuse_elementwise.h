// Elementwise fusion: groups of elementwise ops become one fused_elementwise node whose
// body is a scalar expression over param(i), and a sum, max, min or prod absorbs the
// elementwise ops that feed it into one fused_reduction. The JIT compiles each to one loop.
#pragma once

#include <cstddef>

#include "damo/optimizer/pass.h"

namespace damo {

struct FuseElementwiseOptions {
  /// Bodies grow to at most this many nodes; a larger group is split.
  std::size_t max_body_nodes = 64;
  /// Fuses a lone elementwise op into the reduction it feeds.
  bool fuse_reductions = true;
};

/// A group is a maximal set of elementwise ops in which every member except the group's
/// output has all its consumers inside the group. So a node used twice ends a group and is
/// computed once, never recomputed. A member that broadcasts into its consumer joins the
/// group unless it is a transcendental op (exp, log, tanh, ...), which stays a separate,
/// smaller kernel rather than be recomputed per broadcast element. Scalar constants become
/// constants of the body; a broadcast_to operand is replaced by its own operand when the
/// group's shape does not depend on it. Groups of one op stay as they are.
class FuseElementwise final : public Pass {
 public:
  explicit FuseElementwise(FuseElementwiseOptions options = {});
  std::string_view name() const override { return "fuse_elementwise"; }
  bool run(GraphState& graph) const override;

 private:
  FuseElementwiseOptions options_;
};

}  // namespace damo
