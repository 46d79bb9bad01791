// Single-kernel workloads in Damo: a chain of eight elementwise ops, softmax cross-entropy
// with its gradient, and a square matrix product. Each is one compiled function called on
// the whole input, with borrowed outputs.
#include <cmath>
#include <string>

#include "damo/graph/autodiff.h"
#include "damo/graph/ops.h"
#include "damo/runtime/npy.h"
#include "damo_bench.h"

namespace damo_bench {

namespace {

using damo::DType;
using damo::Expr;
using damo::Tensor;

}  // namespace

// Plain sums would not do, because a cross-entropy gradient sums to zero over each row.
void add_sums(const Tensor& t, bench::Report& report) {
  const float* values = t.data<float>();
  double sum_abs = 0, sum_squares = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    sum_abs += std::fabs(values[i]);
    sum_squares += static_cast<double>(values[i]) * values[i];
  }
  report.add_check(sum_abs);
  report.add_check(sum_squares);
}

void run_chain(const bench::Options& options, bench::Report& report) {
  Tensor x_value = damo::load_npy(options.text("data") + "/x.npy");
  damo::Graph graph;
  Expr x = graph.input("x", DType::Float32, {"n"});

  // Eight ops: mul, add, mul, sub, abs, add, minimum, maximum.
  Expr y = damo::abs((x * 1.5 + 0.5) * x - 0.25) + 1.0;
  y = damo::maximum(damo::minimum(y, damo::literal_like(y, 4.0)), damo::literal_like(y, 0.75));
  damo::Function chain = damo::compile({x}, {y}, {}, compile_options(options));

  Tensor result;
  report.set_times(bench::time_repeats(
      options.integer("warmup"), options.integer("repeats"), [] {},
      [&] { result = chain.call({x_value}, borrowed_outputs()).at(0); }));
  add_sums(result, report);
  report.add_info("bytes_read_and_written", static_cast<double>(2 * x_value.nbytes()));
  report.add_info("compile_ms", chain.stats().total_ms);
}

void run_softmax_crossentropy(const bench::Options& options, bench::Report& report) {
  std::string folder = options.text("data");
  Tensor logits_value = damo::load_npy(folder + "/logits.npy");
  Tensor y_value = damo::load_npy(folder + "/y.npy");
  damo::Graph graph;
  Expr logits = graph.input("logits", DType::Float32, {"n", logits_value.dim(1)});
  Expr y = graph.input("y", DType::Int32, {"n"});
  Expr loss = damo::mean(damo::categorical_crossentropy(damo::softmax(logits), y));
  Expr gradient = damo::grad(loss, logits);
  damo::Function both = damo::compile({logits, y}, {loss, gradient}, {}, compile_options(options));

  std::vector<Tensor> results;
  report.set_times(bench::time_repeats(
      options.integer("warmup"), options.integer("repeats"), [] {},
      [&] {
        results = both.call({logits_value, y_value}, borrowed_outputs());
      }));
  report.add_check(results.at(0).item());
  add_sums(results.at(1), report);
  report.add_info("compile_ms", both.stats().total_ms);
}

void run_matmul(const bench::Options& options, bench::Report& report) {
  std::string folder = options.text("data");
  Tensor a_value = damo::load_npy(folder + "/a.npy");
  Tensor b_value = damo::load_npy(folder + "/b.npy");
  damo::Graph graph;
  Expr a = graph.input("a", DType::Float32, damo::Shape::from_dims(a_value.shape()));
  Expr b = graph.input("b", DType::Float32, damo::Shape::from_dims(b_value.shape()));
  damo::Function product =
      damo::compile({a, b}, {damo::matmul(a, b)}, {}, compile_options(options));

  Tensor result;
  report.set_times(bench::time_repeats(
      options.integer("warmup"), options.integer("repeats"), [] {},
      [&] {
        result = product.call({a_value, b_value}, borrowed_outputs()).at(0);
      }));
  add_sums(result, report);
  double flops = 2.0 * static_cast<double>(a_value.dim(0) * a_value.dim(1) * b_value.dim(1));
  report.add_info("flops", flops);
  report.add_info("compile_ms", product.stats().total_ms);
}

}  // namespace damo_bench
