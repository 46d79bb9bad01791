// Canonical operand order, so that one rule or pattern covers both orders of a commutative
// op: non-constant operands first, by node id, then constants (or broadcast constants).
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct CanonicalizeOptions {
  RewriteLimits limits;
};

/// Swaps the operands of add, mul, maximum, minimum, eq, ne, and, or into canonical order,
/// and turns c < x into x > c (likewise <=, >, >=) when c is a constant. Every swap is
/// exact, NaN included.
class Canonicalize final : public Pass {
 public:
  explicit Canonicalize(CanonicalizeOptions options = {});
  std::string_view name() const override { return "canonicalize"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
