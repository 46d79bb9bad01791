// Single-op workloads in Damo: one reduction, layout op, cast or product per workload,
// compiled with static shapes and called on the whole input. Every call but affine_new's
// borrows its output from the function; affine_new gets a fresh output from each call.
// dropout draws a new mask in each call from a key that the call's update advances.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "damo/graph/ops.h"
#include "damo/runtime/npy.h"
#include "damo_bench.h"

namespace damo_bench {

namespace {

using damo::DType;
using damo::Expr;
using damo::Tensor;

// Whether a timed call borrows its outputs from the function or gets fresh tensors.
enum class Outputs { Borrowed, Fresh };

Tensor load_input(const bench::Options& options, const std::string& name) {
  return damo::load_npy(options.text("data") + "/" + name + ".npy");
}

// Compiles build(inputs) for inputs of the dtypes and static shapes of values, times calls
// on values, records the compile time and returns the output of the last call.
Tensor time_op(const bench::Options& options, bench::Report& report,
               const std::vector<Tensor>& values,
               const std::function<Expr(const std::vector<Expr>&)>& build, Outputs outputs) {
  damo::Graph graph;
  std::vector<Expr> inputs;
  for (std::size_t i = 0; i < values.size(); ++i)
    inputs.push_back(graph.input("input" + std::to_string(i), values[i].dtype(),
                                 damo::Shape::from_dims(values[i].shape())));
  damo::Function function = damo::compile(inputs, {build(inputs)}, {}, compile_options(options));
  print_graph_if_asked(options, function);

  // The assignment below would free a fresh output only after the next call returned, so
  // the reset frees it before the call, as the Python peers do.
  Tensor result;
  damo::CallOptions call_options =
      outputs == Outputs::Borrowed ? borrowed_outputs() : damo::CallOptions{};
  auto reset = [&] {
    if (outputs == Outputs::Fresh) result = Tensor();
  };
  report.set_times(
      bench::time_repeats(options.integer("warmup"), options.integer("repeats"), reset,
                          [&] { result = function.call(values, call_options).at(0); }));
  report.add_info("compile_ms", function.stats().total_ms);
  return result;
}

// The sum of the values and the sum of position * value of an integer tensor, both exact
// in int64. The second sum changes when two different values swap places.
template <class T>
void add_integer_sums(const Tensor& t, bench::Report& report) {
  const T* values = t.data<T>();
  std::int64_t sum = 0, weighted = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    sum += values[i];
    weighted += i * static_cast<std::int64_t>(values[i]);
  }
  report.add_check(static_cast<double>(sum));
  report.add_check(static_cast<double>(weighted));
}

}  // namespace

void run_argmax_rows(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "square");
  Tensor indices = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return damo::argmax(in[0], 1); },
      Outputs::Borrowed);
  add_integer_sums<std::int64_t>(indices, report);
}

void run_softmax_axis0(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "square");
  Tensor result = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return damo::softmax(in[0], 0); },
      Outputs::Borrowed);
  add_sums(result, report);
}

void run_logsumexp_axis0(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "square");
  Tensor result = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return damo::logsumexp(in[0], 0); },
      Outputs::Borrowed);
  add_sums(result, report);
}

void run_matvec(const bench::Options& options, bench::Report& report) {
  Tensor a = load_input(options, "matrix");
  Tensor v = load_input(options, "vector");
  Tensor result = time_op(
      options, report, {a, v},
      [](const std::vector<Expr>& in) { return damo::matmul(in[0], in[1]); }, Outputs::Borrowed);
  add_sums(result, report);
  report.add_info("bytes_read", static_cast<double>(a.nbytes() + v.nbytes()));
}

void run_affine_new(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "x");
  Tensor result = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return in[0] * 2.5 + 1.0; },
      Outputs::Fresh);
  add_sums(result, report);
}

void run_row_max(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "wide");
  Tensor result = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return damo::max(in[0], 1); },
      Outputs::Borrowed);
  add_sums(result, report);
}

// The same values as row_max, as rows of 32: each row is two vectors of 16 floats.
void run_short_row_max(const bench::Options& options, bench::Report& report) {
  Tensor wide = load_input(options, "wide");
  Tensor x = wide.reshape({wide.numel() / 32, 32});
  Tensor result = time_op(
      options, report, {x}, [](const std::vector<Expr>& in) { return damo::max(in[0], 1); },
      Outputs::Borrowed);
  add_sums(result, report);
}

void run_diff(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "x");
  Tensor result = time_op(
      options, report, {x},
      [](const std::vector<Expr>& in) {
        return damo::slice(in[0], 0, 1, std::nullopt) - damo::slice(in[0], 0, std::nullopt, -1);
      },
      Outputs::Borrowed);
  add_sums(result, report);
}

void run_dropout(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "x");
  damo::Graph graph;
  Expr input = graph.input("x", x.dtype(), damo::Shape::from_dims(x.shape()));
  Expr key = graph.shared("key", Tensor::scalar(DType::Int64, 0));
  damo::Function function =
      damo::compile({input}, {damo::dropout(input, key, 0.5)}, {{key, key + 1}}, compile_options(options));
  print_graph_if_asked(options, function);
  damo::CallOptions call_options = borrowed_outputs();
  Tensor result;
  report.set_times(bench::time_repeats(options.integer("warmup"), options.integer("repeats"), [] {},
                                       [&] { result = function.call({x}, call_options).at(0); }));
  report.add_info("compile_ms", function.stats().total_ms);
  // Masks differ between implementations, so the check is the count of zeroed and kept
  // elements of the last call.
  std::int64_t zeroed = 0;
  for (std::int64_t i = 0; i < result.numel(); ++i) zeroed += result.get_double(i) == 0.0;
  report.add_check(static_cast<double>(zeroed));
  report.add_check(static_cast<double>(result.numel() - zeroed));
}

void run_cast_i32(const bench::Options& options, bench::Report& report) {
  Tensor x = load_input(options, "x");
  Tensor result = time_op(
      options, report, {x},
      [](const std::vector<Expr>& in) { return damo::cast(in[0], DType::Int32); },
      Outputs::Borrowed);
  add_integer_sums<std::int32_t>(result, report);
}

}  // namespace damo_bench
