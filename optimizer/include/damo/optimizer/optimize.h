// The optimizer's entry points: the standard pipelines, each a plain list of passes, and
// optimize(), which compile() and the REPL's simplify() call.
#pragma once

#include <cstdint>
#include <vector>

#include "damo/optimizer/pipeline.h"
#include "damo/optimizer/rewriter.h"

namespace damo {

/// The standard pipeline that optimize() runs.
enum class PipelineKind {
  Inference,  // a function without shared-variable updates
  Training,   // a function with updates, typically gradient steps
  Simplify,   // algebra and stabilization only, no fusion: for printing a simpler graph
};

struct OptimizeOptions {
  PipelineKind pipeline = PipelineKind::Inference;
  /// Enables simplifications that are exact only for finite inputs (x * 0 -> 0).
  bool fast_math = false;
  /// Constant folding leaves results with more elements unfolded.
  std::int64_t max_folded_elements = 65536;
  /// Keeps stop_gradient nodes, which the inference and training pipelines otherwise drop
  /// as identities once gradients are built.
  bool keep_stop_gradient = false;
  /// Rounds of the repeated simplification group before it stops.
  int max_rounds = 8;
  RewriteLimits limits;
  /// Disabled passes, verification and dumps.
  PipelineOptions pipeline_options;
};

/// The pipeline for functions without updates; it fuses gradient subgraphs too, since such
/// a function may return gradients.
Pipeline inference_pipeline(const OptimizeOptions& options);
/// The pipeline for functions with updates. Its passes are the inference pipeline's.
Pipeline training_pipeline(const OptimizeOptions& options);
/// Simplification and stabilization without fusion. It keeps stop_gradient, since its
/// result may still be differentiated.
Pipeline simplify_pipeline(const OptimizeOptions& options);

/// Runs the pipeline that options.pipeline names on roots; every root keeps its dtype,
/// shape and value.
PipelineResult optimize(const std::vector<Expr>& roots, const OptimizeOptions& options = {});

/// optimize() for callers that need only the rewritten expressions.
std::vector<Expr> optimize_exprs(const std::vector<Expr>& exprs,
                                 const OptimizeOptions& options = {});

}  // namespace damo
