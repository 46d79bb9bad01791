// Decodes fuzzer bytes into a random well-typed graph over every op family and dtype, with
// arguments full of special values, for the JIT differential harness.
//
// Results are split by how exactly two correct implementations must agree. An exact node
// is computed only by IEEE-exact float ops (+ - * / sqrt, comparisons, casts, min/max,
// rounding, layout), integer ops or bool ops from exact operands, so the JIT must match the
// evaluator bit for bit. An approximate node (exp, pow, float sums, matmul, softmax, ...)
// may differ by rounding: libmvec against libm, or another summation order. Approximate
// nodes never become operands, because a later comparison or rounding could turn a
// one-ulp difference into any difference; they are outputs only.
#pragma once

#include <string>
#include <vector>

#include "../fuzz_input.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"

namespace damo::fuzz {

/// One output to compare, with the tolerance scale of an approximate result.
struct CheckedOutput {
  Expr value;
  bool exact = true;
  /// Approximate outputs only: a node of the same shape whose reference value bounds the
  /// magnitude of the terms that were summed (sum of |x| for a sum), or undefined when the
  /// output's own magnitude is the scale.
  Expr scale;
};

struct GeneratedCase {
  std::vector<Expr> inputs;
  std::vector<Tensor> arguments;
  std::vector<CheckedOutput> outputs;
  int opt_level = 2;
};

/// Builds a graph in g from the bytes of in. Returns a case with no outputs when the bytes
/// produced none.
GeneratedCase generate_case(Graph& g, FuzzInput& in);

}  // namespace damo::fuzz
