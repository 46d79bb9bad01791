// The standard pipelines. Each reads top to bottom as the list of passes it runs; the
// repeated group cleans up after itself, since one rule often exposes another. The
// inference and training lists are the same today: a function without updates may still
// return gradients, so both fuse gradient subgraphs. They stay two lists so that a pass can
// serve one kind of function alone.
#include "damo/optimizer/optimize.h"

#include "damo/optimizer/canonicalize.h"
#include "damo/optimizer/constant_folding.h"
#include "damo/optimizer/dead_node_removal.h"
#include "damo/optimizer/fuse_crossentropy.h"
#include "damo/optimizer/fuse_elementwise.h"
#include "damo/optimizer/fuse_matmul.h"
#include "damo/optimizer/merge_constants.h"
#include "damo/optimizer/simplify.h"
#include "damo/optimizer/stabilize.h"

namespace damo {

namespace {

// Constructors of each pass from the shared options.
std::unique_ptr<Pass> dead_node_removal(const OptimizeOptions& o) {
  return std::make_unique<DeadNodeRemoval>(DeadNodeRemovalOptions{!o.keep_stop_gradient, o.limits});
}
std::unique_ptr<Pass> canonicalize(const OptimizeOptions& o) {
  return std::make_unique<Canonicalize>(CanonicalizeOptions{o.limits});
}
std::unique_ptr<Pass> constant_folding(const OptimizeOptions& o) {
  return std::make_unique<ConstantFolding>(ConstantFoldingOptions{o.max_folded_elements, o.limits});
}
std::unique_ptr<Pass> merge_constants(const OptimizeOptions& o) {
  return std::make_unique<MergeConstants>(MergeConstantsOptions{65536, o.limits});
}
std::unique_ptr<Pass> simplify(const OptimizeOptions& o) {
  return std::make_unique<Simplify>(SimplifyOptions{o.fast_math, o.limits});
}
std::unique_ptr<Pass> stabilize(const OptimizeOptions& o) {
  return std::make_unique<Stabilize>(StabilizeOptions{o.limits});
}
std::unique_ptr<Pass> fuse_crossentropy(const OptimizeOptions& o, bool gradients) {
  return std::make_unique<FuseCrossentropy>(FuseCrossentropyOptions{gradients, o.limits});
}
std::unique_ptr<Pass> fuse_matmul(const OptimizeOptions& o) {
  return std::make_unique<FuseMatmul>(FuseMatmulOptions{o.limits});
}
std::unique_ptr<Pass> fuse_elementwise(const OptimizeOptions&) {
  return std::make_unique<FuseElementwise>(FuseElementwiseOptions{});
}

// The shared front of the pipelines: the algebraic group, repeated until it settles.
std::vector<std::unique_ptr<Pass>> algebra_group(const OptimizeOptions& o, bool fuse_losses) {
  auto group = pass_list(canonicalize(o), constant_folding(o), merge_constants(o), simplify(o),
                         stabilize(o));
  if (fuse_losses) group.push_back(fuse_crossentropy(o, true));
  group.push_back(dead_node_removal(o));
  return group;
}

}  // namespace

namespace {

// Builds the pipeline that compile() runs: the algebra group to a fixed point, then the
// fusions. Inference and training graphs run the same passes under different names, so
// their logs and timings can be told apart.
Pipeline compile_pipeline(const std::string& name, const OptimizeOptions& o) {
  Pipeline pipeline(name, o.pipeline_options);
  pipeline.add(dead_node_removal(o));
  pipeline.repeat(o.max_rounds, algebra_group(o, true));
  pipeline.add(fuse_matmul(o));
  pipeline.add(fuse_elementwise(o));
  pipeline.add(dead_node_removal(o));
  return pipeline;
}

}  // namespace

Pipeline inference_pipeline(const OptimizeOptions& o) { return compile_pipeline("inference", o); }

Pipeline training_pipeline(const OptimizeOptions& o) { return compile_pipeline("training", o); }

Pipeline simplify_pipeline(const OptimizeOptions& o) {
  OptimizeOptions keep = o;
  keep.keep_stop_gradient = true;
  Pipeline pipeline("simplify", o.pipeline_options);
  pipeline.repeat(o.max_rounds, algebra_group(keep, false));
  return pipeline;
}

PipelineResult optimize(const std::vector<Expr>& roots, const OptimizeOptions& options) {
  switch (options.pipeline) {
  case PipelineKind::Training: return training_pipeline(options).run(roots);
  case PipelineKind::Simplify: return simplify_pipeline(options).run(roots);
  case PipelineKind::Inference: break;
  }
  return inference_pipeline(options).run(roots);
}

std::vector<Expr> optimize_exprs(const std::vector<Expr>& exprs, const OptimizeOptions& options) {
  return optimize(exprs, options).roots;
}

}  // namespace damo
