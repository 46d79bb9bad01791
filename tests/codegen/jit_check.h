// Helpers for checking JIT-compiled results against the reference evaluator.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "damo/optimizer/pipeline.h"
#include "damo/runtime/executable.h"

namespace damo::testing {

/// Random values for dtype: floats in [low, high), integers in [-20, 20], bools.
inline Tensor random_tensor(DType dtype, const Dims& shape, std::mt19937_64& rng, double low = -3,
                            double high = 3) {
  Tensor t = Tensor::empty(dtype, shape);
  std::uniform_real_distribution<double> real(low, high);
  std::uniform_int_distribution<int> integer(-20, 20);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (is_float(dtype)) t.set_double(i, real(rng));
    else if (dtype == DType::Bool) t.set_double(i, integer(rng) > 0);
    else t.set_double(i, integer(rng));
  }
  return t;
}

/// Returns the message of the UserError that f throws, or "(no error)".
inline std::string user_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

/// Relative tolerance for comparing JIT and reference results of dtype.
inline double tolerance_for(DType dtype) { return dtype == DType::Float32 ? 2e-5 : 1e-12; }

/// Checks that a and b agree element by element: NaN where NaN, infinities equal, other
/// values within rtol relative (and rtol absolute near zero). Integers exactly.
inline void check_close(const Tensor& actual, const Tensor& expected, double rtol, const std::string& what) {
  INFO(what);
  REQUIRE(actual.dtype() == expected.dtype());
  REQUIRE(actual.shape() == expected.shape());
  int reported = 0;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.get_double(i);
    double e = expected.get_double(i);
    bool ok;
    if (!is_float(actual.dtype())) ok = actual.get_int64(i) == expected.get_int64(i);
    else if (std::isnan(e)) ok = std::isnan(a);
    else if (std::isinf(e)) ok = a == e;
    else ok = std::abs(a - e) <= rtol * std::max(1.0, std::abs(e));
    if (!ok && reported++ < 5) {
      INFO("element " << i << ": actual " << a << ", expected " << e);
      CHECK(ok);
    }
  }
  CHECK(reported == 0);
}

/// Sets the rows per row block for the life of the object, then restores the automatic size.
struct ForcedRowBlocks {
  explicit ForcedRowBlocks(std::int64_t rows) { set_row_block_rows(rows); }
  ~ForcedRowBlocks() { set_row_block_rows(0); }
  ForcedRowBlocks(const ForcedRowBlocks&) = delete;
  ForcedRowBlocks& operator=(const ForcedRowBlocks&) = delete;
};

/// Compiles outputs over inputs with the JIT, runs both it and the reference evaluator on
/// arguments, and checks that the outputs agree. A row-separable function runs again in
/// blocks of 1 and of 3 rows, which must agree too.
inline void check_jit_matches_reference(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                                        const std::vector<Tensor>& arguments, const std::string& what,
                                        double rtol = -1) {
  CompileOptions options;
  options.use_cache = false;
  // Each op keeps its own kernel: the optimizer would replace some by fused ops.
  options.disabled_passes = known_pass_names();
  Function f = compile(inputs, outputs, {}, options);
  std::vector<Tensor> actual = f(arguments);
  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) feeds[inputs[i]->name()] = arguments[i];
  std::vector<Tensor> expected = evaluate(outputs, feeds);
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i)
    check_close(actual[i], expected[i], rtol >= 0 ? rtol : tolerance_for(expected[i].dtype()),
                what + " output " + std::to_string(i));
  for (std::int64_t rows : {1, 3}) {
    ForcedRowBlocks blocks(rows);
    std::vector<Tensor> blocked = f(arguments);
    for (std::size_t i = 0; i < blocked.size(); ++i)
      check_close(blocked[i], expected[i], rtol >= 0 ? rtol : tolerance_for(expected[i].dtype()),
                  fmt::format("{} output {} in blocks of {} rows", what, i, rows));
  }
}

}  // namespace damo::testing
