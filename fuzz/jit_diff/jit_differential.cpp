// The JIT differential harness: a generated graph compiled by the JIT must give the same
// results as the reference evaluator, bit for bit for exact outputs and within the
// tolerances of tests/codegen/jit_check.h for approximate ones.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "../harness.h"
#include "damo/frontend/function.h"
#include "damo/graph/printer.h"
#include "damo/runtime/executable.h"
#include "graph_generator.h"

namespace damo::fuzz {

namespace {

// Relative tolerances of approximate outputs, as in tests/codegen/jit_check.h.
double tolerance_for(DType dtype) { return dtype == DType::Float32 ? 2e-5 : 1e-12; }

double largest_finite(DType dtype) {
  return dtype == DType::Float32 ? std::numeric_limits<float>::max()
                                 : std::numeric_limits<double>::max();
}

// Exact outputs: integers equal; floats equal with the same sign of zero, NaN matching NaN.
bool exact_match(const Tensor& actual, const Tensor& expected, std::int64_t i) {
  if (!is_float(expected.dtype())) return actual.get_int64(i) == expected.get_int64(i);
  double a = actual.get_double(i), e = expected.get_double(i);
  if (std::isnan(e) || std::isnan(a)) return std::isnan(a) && std::isnan(e);
  return a == e && std::signbit(a) == std::signbit(e);
}

// Approximate outputs. Elements whose scale reaches a sixteenth of the largest finite
// value are skipped: there, rounding in another order can overflow to an infinity or, once
// infinities meet, produce NaN, so no tolerance separates a bug from a correct result.
bool close_match(const Tensor& actual, const Tensor& expected, const Tensor& scale,
                 std::int64_t i) {
  double a = actual.get_double(i), e = expected.get_double(i);
  double limit = largest_finite(expected.dtype()) / 16;
  double s = scale.defined() ? std::abs(scale.get_double(i)) : 0.0;
  if (std::isnan(s) || s >= limit) return true;
  if (std::isnan(e) || std::isnan(a)) return std::isnan(a) && std::isnan(e);
  if (std::isinf(e) || std::isinf(a)) {
    if (a == e) return true;
    return std::abs(std::isinf(e) ? a : e) >= limit;
  }
  double magnitude = std::max({1.0, std::abs(e), s});
  return std::abs(a - e) <= tolerance_for(expected.dtype()) * magnitude;
}

std::string describe_case(const GeneratedCase& c) {
  std::string text = fmt::format("O{}; arguments:", c.opt_level);
  for (std::size_t i = 0; i < c.inputs.size(); ++i)
    text += fmt::format("\n  {} {} {} = {}", c.inputs[i]->name(), dtype_name(c.inputs[i].dtype()),
                        c.inputs[i].shape().to_string(), c.arguments[i].to_string());
  std::vector<Expr> outputs;
  for (const CheckedOutput& output : c.outputs) outputs.push_back(output.value);
  return text + "\ngraph:\n" + dump(outputs);
}

// Returns a feed for every input. An input that the roots do not read still binds its symbolic
// sizes, which a broadcast_to to a symbolic shape may need.
Feeds all_feeds(const GeneratedCase& c) {
  Feeds feeds;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) feeds[c.inputs[i]->name()] = c.arguments[i];
  return feeds;
}

// Describes the first output element where actual and expected disagree, or returns ""
// when all agree.
std::string compare_outputs(const GeneratedCase& c, const std::vector<Expr>& outputs,
                            const std::vector<Tensor>& expected,
                            const std::vector<Tensor>& scale_values,
                            const std::vector<Tensor>& actual, const std::string& run);

}  // namespace

std::string jit_differential(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  Graph g;
  GeneratedCase c;
  try {
    c = generate_case(g, in);
  } catch (const InternalError& error) {
    return fmt::format("an op factory failed an internal check: {}", error.what());
  }
  if (c.outputs.empty()) return {};

  std::vector<Expr> outputs;
  std::vector<Expr> scales;
  for (const CheckedOutput& output : c.outputs) {
    outputs.push_back(output.value);
    if (output.scale.defined()) scales.push_back(output.scale);
  }
  std::vector<Tensor> expected, scale_values, actual;
  try {
    expected = evaluate(outputs, all_feeds(c));
    // With no roots the evaluator has no graph to look inputs up in, so it rejects every feed.
    if (!scales.empty()) scale_values = evaluate(scales, all_feeds(c));
  } catch (const Error& error) {
    return fmt::format("the evaluator failed on a well-typed graph: {}\n{}", error.what(),
                       describe_case(c));
  }
  CompileOptions options;
  options.use_cache = false;
  options.opt_level = c.opt_level;
  // A row-separable function also runs in blocks of one row, which must agree as well.
  std::vector<Tensor> blocked;
  try {
    Function f = compile(c.inputs, outputs, {}, options);
    actual = f(c.arguments);
    set_row_block_rows(1);
    try {
      blocked = f(c.arguments);
    } catch (...) {
      set_row_block_rows(0);
      throw;
    }
    set_row_block_rows(0);
  } catch (const Error& error) {
    // A compiled function checks the class labels that a sparse cross-entropy reads
    // straight from an argument, where the evaluator gives NaN, so that error is expected.
    std::string_view message = error.what();
    if (message.find(" contains the class label ") != std::string_view::npos) return {};
    return fmt::format("the JIT failed on a well-typed graph: {}\n{}", error.what(),
                       describe_case(c));
  }
  std::string found = compare_outputs(c, outputs, expected, scale_values, actual, "");
  if (found.empty()) found = compare_outputs(c, outputs, expected, scale_values, blocked, " in blocks of one row");
  return found;
}

namespace {

std::string compare_outputs(const GeneratedCase& c, const std::vector<Expr>& outputs,
                            const std::vector<Tensor>& expected,
                            const std::vector<Tensor>& scale_values,
                            const std::vector<Tensor>& actual, const std::string& run) {
  std::size_t next_scale = 0;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const CheckedOutput& output = c.outputs[k];
    Tensor scale = output.scale.defined() ? scale_values[next_scale++] : Tensor();
    const Tensor& a = actual[k];
    const Tensor& e = expected[k];
    if (scale.defined() && scale.shape() != e.shape())
      return fmt::format("the harness built a scale of shape {} for output {} of shape {}",
                         dims_to_string(scale.shape()), k, dims_to_string(e.shape()));
    std::string where = fmt::format("output {}{}: {}", k, run, to_infix(output.value));
    if (a.dtype() != e.dtype() || a.shape() != e.shape())
      return fmt::format("{}: JIT gives {} {}, the evaluator {} {}\n{}", where,
                         dtype_name(a.dtype()), dims_to_string(a.shape()), dtype_name(e.dtype()),
                         dims_to_string(e.shape()), describe_case(c));
    for (std::int64_t i = 0; i < e.numel(); ++i) {
      bool ok = output.exact ? exact_match(a, e, i) : close_match(a, e, scale, i);
      if (!ok)
        return fmt::format("{} ({}): element {} is {} in the JIT but {} in the evaluator\n{}",
                           where, output.exact ? "exact" : "approximate", i, a.get_double(i),
                           e.get_double(i), describe_case(c));
    }
  }
  return {};
}

}  // namespace

}  // namespace damo::fuzz
