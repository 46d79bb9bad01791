// Constant folding: computes nodes whose operands are all constants through the reference
// evaluator, so folded values are exactly what the unfolded graph would compute.
#pragma once

#include <cstdint>

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct ConstantFoldingOptions {
  /// Results with more elements than this stay unfolded, so that a huge constant is never
  /// materialized at compile time.
  std::int64_t max_elements = 65536;
  RewriteLimits limits;
};

/// Replaces a node whose operands are constants by a constant of the node's dtype and
/// weakness. broadcast_to of a constant stays symbolic; an elementwise op over broadcast
/// constants is folded at the operands' own shapes and broadcast afterwards.
class ConstantFolding final : public Pass {
 public:
  explicit ConstantFolding(ConstantFoldingOptions options = {});
  std::string_view name() const override { return "constant_folding"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
