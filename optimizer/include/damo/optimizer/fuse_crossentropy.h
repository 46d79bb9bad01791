// Softmax cross-entropy fusion: the loss on probabilities from a softmax becomes one op on
// the logits, which stays finite for logits far apart, and the gradient subgraph that
// autodiff builds for it becomes one gradient op.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct FuseCrossentropyOptions {
  /// Also fuses the gradient subgraphs.
  bool gradients = true;
  RewriteLimits limits;
};

/// Forward forms, z the logits over the last axis and t dense or integer targets:
/// categorical_crossentropy(softmax(z), t), sum(t * log_softmax(z), -1) and
/// take_along_axis(log_softmax(z), expand_dims(labels, -1), -1) become
/// softmax_crossentropy(z, t) (negated and reshaped as needed).
///
/// Gradient forms: the softmax gradient y * (G - sum(G * y)) with y = softmax(z) and G the
/// cross-entropy gradient -(g * t) / y (or its one-hot form for class targets) becomes
/// softmax_crossentropy_grad(z, t, g); the log_softmax gradient G - exp(log_softmax(z)) *
/// sum(G) with G = a * t (or a scattered at the labels) becomes
/// softmax_crossentropy_grad(z, t, -a).
///
/// For class labels outside [0, classes) the fused ops give NaN where take_along_axis
/// would clamp the label and one_hot would give zeros.
class FuseCrossentropy final : public Pass {
 public:
  explicit FuseCrossentropy(FuseCrossentropyOptions options = {});
  std::string_view name() const override { return "fuse_crossentropy"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
