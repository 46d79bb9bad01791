// verify_grad: compares the symbolic gradient of an expression with central finite
// differences computed by the reference evaluator in float64.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "damo/graph/autodiff.h"
#include "damo/graph/ops.h"

namespace damo {

namespace {

// Checks that each variable is a float64 input with a float64 feed of the same name.
void check_variables(const std::vector<Expr>& wrt, const Feeds& feeds) {
  if (wrt.empty()) throw UserError("verify_grad: needs at least one variable");
  for (const Expr& x : wrt) {
    if (!x.defined()) throw UserError("verify_grad: a variable is undefined");
    if (x->op() != OpKind::Input)
      throw UserError(fmt::format("verify_grad: variable '{}' is not an input; finite "
                                  "differences perturb fed inputs only",
                                  x.to_string()));
    if (x.dtype() != DType::Float64)
      throw UserError(fmt::format("verify_grad: input '{}' has dtype {}; finite differences "
                                  "need an f64 input",
                                  x->name(), dtype_name(x.dtype())));
    auto feed = feeds.find(x->name());
    if (feed == feeds.end() || feed->second.dtype() != DType::Float64)
      throw UserError(fmt::format("verify_grad: input '{}' needs an f64 feed with the point to "
                                  "check at",
                                  x->name()));
  }
}

// A scalar float64 cost: the output itself, or its inner product with seeded random
// weights fed through an extra input, so that every output element matters.
Expr projected_cost(Expr output, Feeds& point, std::uint64_t seed) {
  Expr y = cast(output, DType::Float64);
  if (output.rank() == 0) return y;

  Tensor value = evaluate(output, point);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Tensor weights = Tensor::empty(DType::Float64, value.shape());
  for (std::int64_t i = 0; i < weights.numel(); ++i) weights.set_double(i, uniform(rng));

  std::string name = fmt::format("<verify_grad weights {}>", output.shape().to_string());
  Expr w = output.graph().input(name, DType::Float64, output.shape());
  point[name] = weights;
  return sum(y * w);
}

// Absolute and relative difference; equal values (infinities included) differ by 0 and
// a NaN on either side by infinity.
std::pair<double, double> difference(double symbolic, double numeric) {
  if (symbolic == numeric) return {0.0, 0.0};
  double inf = std::numeric_limits<double>::infinity();
  double abs_error = std::fabs(symbolic - numeric);
  if (std::isnan(abs_error)) return {inf, inf};
  double scale = std::max(std::fabs(symbolic), std::fabs(numeric));
  return {abs_error, abs_error / scale};
}

struct Worst {
  double badness = -1;
  double symbolic = 0;
  double numeric = 0;
};

}  // namespace

GradCheckResult verify_grad(Expr output, const std::vector<Expr>& wrt, const Feeds& feeds,
                            const GradCheckOptions& options) {
  if (!output.defined()) throw UserError("verify_grad: the output is undefined");
  check_variables(wrt, feeds);
  Feeds point = feeds;
  for (const Expr& x : wrt) point[x->name()] = feeds.at(x->name()).clone();

  Expr cost = projected_cost(output, point, options.seed);
  std::vector<Expr> gradients = grad(cost, wrt, GradOptions{DisconnectedPolicy::Zeros});
  // A gradient such as that of sum(x) may not read x, so the variables are evaluated with
  // the gradients to bind their symbolic dimensions.
  std::vector<Expr> evaluated = gradients;
  evaluated.insert(evaluated.end(), wrt.begin(), wrt.end());
  std::vector<Tensor> symbolic = evaluate(evaluated, point);

  GradCheckResult result;
  result.passed = true;
  Worst worst;
  double eps = options.epsilon;
  for (std::size_t v = 0; v < wrt.size(); ++v) {
    Tensor x = point.at(wrt[v]->name());  // shares storage with the feed, so edits apply
    for (std::int64_t k = 0; k < x.numel(); ++k) {
      double original = x.get_double(k);
      x.set_double(k, original + eps);
      double plus = evaluate(cost, point).item();
      x.set_double(k, original - eps);
      double minus = evaluate(cost, point).item();
      x.set_double(k, original);
      double numeric = (plus - minus) / (2 * eps);
      double analytic = symbolic[v].get_double(k);

      auto [abs_error, rel_error] = difference(analytic, numeric);
      result.max_abs_error = std::max(result.max_abs_error, abs_error);
      result.max_rel_error = std::max(result.max_rel_error, rel_error);
      bool ok = abs_error <= options.abs_tolerance || rel_error <= options.rel_tolerance;
      result.passed = result.passed && ok;

      // The worst element is the one furthest outside its nearer tolerance.
      double tiny = std::numeric_limits<double>::min();
      double badness = std::min(abs_error / std::max(options.abs_tolerance, tiny),
                                rel_error / std::max(options.rel_tolerance, tiny));
      if (badness > worst.badness) {
        worst = {badness, analytic, numeric};
        result.worst_variable = wrt[v]->name();
        result.worst_index = k;
        result.worst_point = x.clone();
      }
    }
  }

  result.message = fmt::format(
      "verify_grad {}: max abs error {:.3g}, max rel error {:.3g} (tolerances {:.3g} abs, "
      "{:.3g} rel); worst at {}[{}]: symbolic {:.10g}, finite difference {:.10g}",
      result.passed ? "passed" : "failed", result.max_abs_error, result.max_rel_error,
      options.abs_tolerance, options.rel_tolerance, result.worst_variable, result.worst_index,
      worst.symbolic, worst.numeric);
  return result;
}

}  // namespace damo
