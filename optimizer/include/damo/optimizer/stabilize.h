// Numerical stabilization, always on: replaces expressions that overflow, underflow or
// cancel in floating point by ops that compute the same function accurately.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct StabilizeOptions {
  RewriteLimits limits;
};

/// Rewrites log(softmax(x)) -> log_softmax(x), log(sigmoid(x)) -> -softplus(-x),
/// log(1 - sigmoid(x)) -> -softplus(x), log(1 + x) -> log1p(x), log(1 - x) -> log1p(-x),
/// log1p(exp(x)) -> softplus(x), exp(x) - 1 -> expm1(x), log(sum(exp(x))) ->
/// logsumexp(x) and exp(x) / sum(exp(x), axis, keepdims) -> softmax(x, axis).
class Stabilize final : public Pass {
 public:
  explicit Stabilize(StabilizeOptions options = {});
  std::string_view name() const override { return "stabilize"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
