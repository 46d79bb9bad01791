// Merging of equal subexpressions. Interning already makes structurally equal nodes one
// node. This pass also merges constants of one dtype whose values are bitwise equal, so -0
// and +0 stay apart, but that differ in weakness or in being a full tensor rather than a
// broadcast scalar.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct MergeConstantsOptions {
  /// Constants with more elements are not scanned for a uniform value.
  std::int64_t max_scanned_elements = 65536;
  RewriteLimits limits;
};

/// Gives every constant operand its canonical form: a constant whose elements are all
/// equal becomes broadcast_to(scalar) (a scalar for rank 0), and a weak constant becomes a
/// typed one wherever its consumer keeps its dtype, shape and weakness. Equal constants then
/// intern to one node.
class MergeConstants final : public Pass {
 public:
  explicit MergeConstants(MergeConstantsOptions options = {});
  std::string_view name() const override { return "merge_constants"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
