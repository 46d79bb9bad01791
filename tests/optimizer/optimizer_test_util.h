// Helpers for the optimizer tests: running one pass, comparing values bit for bit (NaN
// matching any NaN), random feeds and counting the kernels a graph will lower to.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "damo/graph/printer.h"
#include "damo/graph/traversal.h"
#include "damo/optimizer/optimize.h"
#include "damo/optimizer/verifier.h"

namespace damo::testing {

/// Runs pass once on roots, checks the result with the verifier and returns the new roots.
inline std::vector<Expr> run_pass(const Pass& pass, const std::vector<Expr>& roots) {
  GraphState state;
  state.roots = roots;
  state.tracked = topo_order(roots);
  pass.run(state);
  verify_graph(state.roots, std::string(pass.name()));
  return state.roots;
}

inline Expr run_pass(const Pass& pass, Expr root) {
  return run_pass(pass, std::vector<Expr>{root})[0];
}

/// Options for tests: verification on, the environment ignored.
inline OptimizeOptions test_options(PipelineKind kind = PipelineKind::Inference) {
  OptimizeOptions options;
  options.pipeline = kind;
  options.pipeline_options.verify = true;
  options.pipeline_options.read_environment = false;
  return options;
}

/// True when a and b are the same number: equal bits, or both NaN.
inline bool same_number(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Checks that two tensors hold the same dtype, shape and values bit for bit (any NaN
/// matches any NaN), reporting the first few differing elements.
inline void check_same_values(const Tensor& actual, const Tensor& expected,
                              const std::string& what) {
  INFO(what);
  REQUIRE(actual.dtype() == expected.dtype());
  REQUIRE(actual.shape() == expected.shape());
  int reported = 0;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.get_double(i);
    double e = expected.get_double(i);
    if (same_number(a, e)) continue;
    if (reported++ < 5) {
      INFO("element " << i << ": actual " << a << ", expected " << e);
      CHECK(same_number(a, e));
    }
  }
  CHECK(reported == 0);
}

/// Checks that actual is within rtol of expected (relative, and absolute near zero), with
/// NaN where NaN and equal infinities.
inline void check_close(const Tensor& actual, const Tensor& expected, double rtol,
                        const std::string& what) {
  INFO(what);
  REQUIRE(actual.shape() == expected.shape());
  int reported = 0;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.get_double(i);
    double e = expected.get_double(i);
    bool ok = std::isnan(e)   ? std::isnan(a)
              : std::isinf(e) ? a == e
                              : std::abs(a - e) <= rtol * std::max(1.0, std::abs(e));
    if (ok) continue;
    if (reported++ < 5) {
      INFO("element " << i << ": actual " << a << ", expected " << e);
      CHECK(ok);
    }
  }
  CHECK(reported == 0);
}

/// Float values that exercise IEEE corner cases, then ordinary numbers.
inline std::vector<double> special_values() {
  return {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-30, -1e30};
}

/// Returns a rank-1 tensor of the special values in dtype.
inline Tensor special_tensor(DType dtype) {
  std::vector<double> values = special_values();
  Tensor t = Tensor::empty(dtype, {static_cast<std::int64_t>(values.size())});
  for (std::size_t i = 0; i < values.size(); ++i)
    t.set_double(static_cast<std::int64_t>(i), values[i]);
  return t;
}

/// Returns every ordered pair of special values as two tensors a and b of equal length.
inline std::pair<Tensor, Tensor> special_pairs(DType dtype) {
  std::vector<double> values = special_values();
  auto n = static_cast<std::int64_t>(values.size());
  Tensor a = Tensor::empty(dtype, {n * n});
  Tensor b = Tensor::empty(dtype, {n * n});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      a.set_double(i * n + j, values[static_cast<std::size_t>(i)]);
      b.set_double(i * n + j, values[static_cast<std::size_t>(j)]);
    }
  return {a, b};
}

/// Uniform random values in [low, high) of dtype.
inline Tensor random_tensor(DType dtype, const Dims& dims, std::uint64_t seed, double low = -3,
                            double high = 3) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Tensor t = Tensor::empty(dtype, dims);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set_double(i, uniform(engine));
  return t;
}

/// The message of the UserError that action throws, or "<no error>".
template <class Action>
std::string user_error_message(Action action) {
  try {
    action();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

/// Nodes below roots that lower to a kernel: every op except leaves and the views that
/// reuse their operand's memory (reshape, expand_dims, squeeze, stop_gradient).
inline std::size_t kernel_nodes(const std::vector<Expr>& roots) {
  std::size_t count = 0;
  for (const Node* node : topo_order(roots)) {
    OpKind op = node->op();
    bool view = op == OpKind::Reshape || op == OpKind::ExpandDims || op == OpKind::Squeeze ||
                op == OpKind::StopGradient;
    if (!node->is_leaf() && !view) ++count;
  }
  return count;
}

/// Number of nodes below roots with op.
inline std::size_t count_op(const std::vector<Expr>& roots, OpKind op) {
  std::size_t count = 0;
  for (const Node* node : topo_order(roots)) count += node->op() == op ? 1 : 0;
  return count;
}

}  // namespace damo::testing
