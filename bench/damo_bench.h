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
/// The float32 inputs of the single-op workloads: square (square, square) and wide
/// (wide_rows, wide_columns), both normal, and matrix (matrix, matrix) and vector (matrix),
/// both uniform in [-1, 1).
void prepare_ops(const bench::Options& options);

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

// Single-op workloads (damo_ops.cpp): one compiled op called on the whole input. Those on
// the ops data set read square, wide, matrix and vector; the others read the chain's x.

/// argmax(square, axis 1), int64.
void run_argmax_rows(const bench::Options& options, bench::Report& report);
/// softmax(square, axis 0).
void run_softmax_axis0(const bench::Options& options, bench::Report& report);
/// logsumexp(square, axis 0).
void run_logsumexp_axis0(const bench::Options& options, bench::Report& report);
/// matrix @ vector.
void run_matvec(const bench::Options& options, bench::Report& report);
/// x * 2.5 + 1 into a fresh output tensor per call.
void run_affine_new(const bench::Options& options, bench::Report& report);
/// max(wide, axis 1).
void run_row_max(const bench::Options& options, bench::Report& report);
void run_short_row_max(const bench::Options& options, bench::Report& report);
/// x[1:] - x[:-1].
void run_diff(const bench::Options& options, bench::Report& report);
/// x cast to int32, rounding toward zero.
void run_cast_i32(const bench::Options& options, bench::Report& report);
void run_dropout(const bench::Options& options, bench::Report& report);

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

/// Adds the sum of absolute values and the sum of squares, in float64, of a float32 tensor
/// to the check values of report.
void add_sums(const damo::Tensor& t, bench::Report& report);

/// Options of the timed calls: each workload reads a result before the next call, so its
/// outputs are borrowed from the function instead of allocated per call.
inline damo::CallOptions borrowed_outputs() {
  damo::CallOptions options;
  options.borrow_outputs = true;
  return options;
}

}  // namespace damo_bench
