// Matmul fusion: a matrix product, a bias add and an activation become one fused_matmul,
// and a transpose of the last two axes of a matmul operand becomes a transpose flag.
#pragma once

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

struct FuseMatmulOptions {
  RewriteLimits limits;
};

/// Fuses float matmuls only. A transpose that swaps the last two axes of an operand, as in
/// the gradients X^T @ dZ and dZ @ W^T, becomes a transpose flag. Then a bias that
/// broadcasts to the product, and a sigmoid, tanh or relu of the result, join the
/// fused_matmul. A product or sum used more than once is not fused further, so that
/// nothing is computed twice.
class FuseMatmul final : public Pass {
 public:
  explicit FuseMatmul(FuseMatmulOptions options = {});
  std::string_view name() const override { return "fuse_matmul"; }
  bool run(GraphState& graph) const override;

 private:
  Rewriter rewriter_;
};

}  // namespace damo
