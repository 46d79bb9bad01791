// Declarations shared by the files of damo_bench, Damo's side of bench/run. damo_bench uses
// only Damo's public API, the way an embedding program would.
#pragma once

#include "common/bench_util.h"
#include "damo/frontend/function.h"

namespace damo_bench {

// Data preparation: each writes the .npy files of one workload into the folder --out,
// from a fixed seed, so that every implementation reads the same inputs and weights.

/// x (rows, features) float32, y (rows) int32 classes, and the initial weights w1 (features,
/// hidden), b1 (hidden), w2 (hidden, classes), b2 (classes).
void prepare_mlp(const bench::Options& options);
/// x (size) float32, the input of the elementwise chain.
void prepare_chain(const bench::Options& options);
/// logits (rows, classes) float32 and y (rows) int32.
void prepare_softmax_crossentropy(const bench::Options& options);
/// a and b, (size, size) float32 each.
void prepare_matmul(const bench::Options& options);

// Workloads: each reads --data, --warmup, --repeats and its own options, and fills report.

/// Training epochs of the one-hidden-layer network in batches of --batch rows; an epoch of
/// one batch is a full-batch step.
void run_train(const bench::Options& options, bench::Report& report);
/// Forward pass and argmax over every row of the data.
void run_infer(const bench::Options& options, bench::Report& report);
/// The chain of eight elementwise ops over x.
void run_chain(const bench::Options& options, bench::Report& report);
/// Mean softmax cross-entropy and its gradient with respect to the logits.
void run_softmax_crossentropy(const bench::Options& options, bench::Report& report);
/// a @ b.
void run_matmul(const bench::Options& options, bench::Report& report);
/// compile() of the training step into an empty on-disk cache folder.
void run_compile_cold(const bench::Options& options, bench::Report& report);
/// compile() of the training step, in a fresh Graph, from a populated on-disk cache folder.
void run_compile_cached(const bench::Options& options, bench::Report& report);
/// The optimizer's rewrite time (CompileStats::rewrite_ms) for a graph of --nodes nodes.
void run_rewrite(const bench::Options& options, bench::Report& report);

/// Compile options for the timed workloads: defaults, with --cache-dir when given.
damo::CompileOptions compile_options(const bench::Options& options);

/// Prints the optimized graph of function to standard error when --print-graph 1 is given,
/// for reading a profile.
void print_graph_if_asked(const bench::Options& options, const damo::Function& function);

/// Options of the timed calls: each workload reads a result before the next call, so its
/// outputs are borrowed from the function instead of allocated per call.
inline damo::CallOptions borrowed_outputs() {
  damo::CallOptions options;
  options.borrow_outputs = true;
  return options;
}

}  // namespace damo_bench
