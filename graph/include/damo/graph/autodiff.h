// Reverse-mode symbolic differentiation. Gradients are ordinary nodes in the same graph,
// so the optimizer and the code generator treat them like any other expression.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "damo/graph/eval.h"
#include "damo/graph/expr.h"

namespace damo {

/// What grad() does when the cost does not depend on a requested variable.
enum class DisconnectedPolicy { Raise, Warn, Zeros };

struct GradOptions {
  DisconnectedPolicy disconnected = DisconnectedPolicy::Raise;
};

/// Gradient of a scalar cost with respect to each of wrt, each of its variable's shape and
/// dtype. Throws UserError when cost is not a scalar (naming its shape), when a variable
/// has an integer or bool dtype, or (by default) when cost does not depend on a variable.
std::vector<Expr> grad(Expr cost, const std::vector<Expr>& wrt, const GradOptions& options = {});
/// A braced list, even of one variable (grad(cost, {W})), gives a list of gradients.
std::vector<Expr> grad(Expr cost, std::initializer_list<Expr> wrt, const GradOptions& options = {});
Expr grad(Expr cost, Expr wrt, const GradOptions& options = {});

/// Vector-Jacobian product: sum over outputs of cotangent_i^T d(output_i)/d(wrt_j), which is
/// grad() with known upstream gradients (cotangents) injected at intermediate nodes.
/// Each cotangent has its output's shape.
std::vector<Expr> vjp(const std::vector<Expr>& outputs, const std::vector<Expr>& cotangents,
                      const std::vector<Expr>& wrt, const GradOptions& options = {});

/// Jacobian-vector product: d(output)/d(wrt) applied to tangents (one per wrt, same shapes).
std::vector<Expr> jvp(const std::vector<Expr>& outputs, const std::vector<Expr>& wrt,
                      const std::vector<Expr>& tangents, const GradOptions& options = {});

/// Jacobian of output with respect to wrt: shape output.shape + wrt.shape. Both need
/// static shapes.
Expr jacobian(Expr output, Expr wrt, const GradOptions& options = {});

/// Hessian of a scalar cost: shape wrt.shape + wrt.shape.
Expr hessian(Expr cost, Expr wrt, const GradOptions& options = {});

/// Result of a finite-difference gradient check.
struct GradCheckResult {
  double max_abs_error = 0;
  double max_rel_error = 0;
  std::string worst_variable;       // name of the input where the worst error happened
  std::int64_t worst_index = -1;    // flat index within that input
  Tensor worst_point;               // the value of that input at the check
  bool passed = false;
  std::string message;              // a one-line summary for test output
};

struct GradCheckOptions {
  double epsilon = 1e-6;        // central-difference step, in float64
  double abs_tolerance = 1e-6;
  double rel_tolerance = 1e-5;
  std::uint64_t seed = 0;
};

/// Checks symbolic gradients of output against central finite differences in float64 at
/// the point given by feeds (every input of wrt must have a float64 feed). A non-scalar
/// output is projected onto a random tensor first.
GradCheckResult verify_grad(Expr output, const std::vector<Expr>& wrt, const Feeds& feeds,
                            const GradCheckOptions& options = {});

}  // namespace damo
