// Algebraic simplification. By default every rule is exact: it gives the value IEEE
// arithmetic gives for every input, NaN, infinities and signed zeros included, so x + 0.0
// stays (it turns -0 into +0) while x + (-0.0) goes. Rules that are exact only for finite
// inputs (x * 0 -> 0, x - x -> 0, x / x -> 1, x + 0 -> x) run only under fast_math.
// The rules are listed one per line in simplify_rules.cpp.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct SimplifyOptions {
  /// Adds the rules that are not exact for every input.
  bool fast_math = false;
  RewriteLimits limits;
};

/// Applies the algebraic rules. They expect commutative operands in canonical order
/// (see Canonicalize), so x * 1 and 1 * x are one rule.
class Simplify final : public Pass {
 public:
  explicit Simplify(SimplifyOptions options = {});
  std::string_view name() const override { return "simplify"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
