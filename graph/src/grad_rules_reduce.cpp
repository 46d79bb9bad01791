// Gradient rules of the reductions: sum, mean, prod (exact when the input contains zeros),
// max and min (ties share the gradient equally) and logsumexp.
#include "grad_rules.h"

namespace damo::detail {

namespace {

Axes reduced_axes(const Node& reduction) { return Axes(reduction.attrs().ints); }

// A value of the reduction's result shape with the reduced axes put back as size 1.
Expr restore_axes(Expr value, const Node& reduction) {
  if (reduction.attrs().keepdims) return value;
  for (std::int64_t axis : reduction.attrs().ints)
    value = expand_dims(value, static_cast<int>(axis));
  return value;
}

// value of the result shape (or keepdims shape) broadcast back to the operand's shape.
Expr broadcast_reduced(Expr value, const Node& reduction) {
  return broadcast_to(restore_axes(value, reduction), reduction.input(0)->shape());
}

// The number of elements that each result element reduces over, as a scalar of the
// reduction's dtype: the static factor times the run-time size of each symbolic axis.
Expr reduced_count(const Node& reduction) {
  const Shape& shape = reduction.input(0)->shape();
  Graph& graph = reduction.graph();
  std::int64_t count = 1;
  Expr symbolic;
  for (std::int64_t axis : reduction.attrs().ints) {
    const Dim& d = shape[static_cast<int>(axis)];
    if (d.is_static()) {
      count *= d.size();
      continue;
    }
    Expr size = dim_size(graph, d.symbol());
    symbolic = symbolic.defined() ? symbolic * size : size;
  }
  Expr result = graph.scalar(static_cast<double>(count), reduction.dtype());
  if (!symbolic.defined()) return result;
  Expr sizes = cast(symbolic, reduction.dtype());
  return count == 1 ? sizes : sizes * result;
}

Contributions sum_grad(const GradContext& c) { return {broadcast_reduced(c.g, c.node)}; }

Contributions mean_grad(const GradContext& c) {
  return {broadcast_reduced(c.g / reduced_count(c.node), c.node)};
}

// The derivative of a product with respect to one factor is the product of the others.
// Dividing the product by the factor fails at zeros, so zeros are counted. With none the
// quotient is exact. With one zero, that factor gets the product P of the nonzero factors
// and the others get 0. With two or more, every factor gets 0. Where one or two zeros give
// 0, the value is written as a multiple of Z, the sum of the zero factors (0 in value), so
// that second derivatives with respect to the zero factors are exact as well.
Contributions prod_grad(const GradContext& c) {
  Expr x = c.in(0);
  Axes axes = reduced_axes(c.node);
  Expr is_zero = x == 0.0;
  Expr safe = where(is_zero, literal_like(x, 1.0), x);
  Expr nonzero_product = prod(safe, axes, true);
  Expr zero_count = sum(cast(is_zero, x.dtype()), axes, true);
  Expr zero_sum = sum(select_or_zero(is_zero, x), axes, true);

  Expr one_zero = where(is_zero, nonzero_product, zero_sum * nonzero_product / safe);
  Expr two_zeros = select_or_zero(is_zero, (zero_sum - x) * nonzero_product);
  Expr several_zeros = where(zero_count == 1.0, one_zero,
                             select_or_zero(zero_count == 2.0, two_zeros));
  Expr others = where(zero_count == 0.0, nonzero_product / safe, several_zeros);
  return {broadcast_reduced(c.g, c.node) * others};
}

// Max and min: every element equal to the extreme gets an equal share of the gradient.
// A NaN extreme comes from the NaN elements, so they share it, as in PyTorch 1.13's max(x).
Contributions extreme_grad(const GradContext& c) {
  Expr x = c.in(0);
  Axes axes = reduced_axes(c.node);
  Expr is_extreme = x == broadcast_reduced(c.out(), c.node);
  if (is_float(x.dtype())) is_extreme = is_extreme | isnan(x);
  Expr count = sum(cast(is_extreme, x.dtype()), axes, true);

  Expr share = broadcast_to(restore_axes(c.g, c.node) / count, x.shape());
  return {select_or_zero(is_extreme, share)};
}

// d logsumexp(x) / dx is the softmax over the reduced axes. exp(x - logsumexp(x)) would
// lose the digits that rounding logsumexp(x) drops: 3e-4 relative error for float32 x near
// 1e4. So the shift is by the maximum m, exp((x - m) - log(sum(exp(x - m)))), which over
// one axis is softmax itself.
Contributions logsumexp_grad(const GradContext& c) {
  Expr x = c.in(0);
  const std::vector<std::int64_t>& axes = c.node.attrs().ints;
  Expr weights;
  if (axes.size() == 1) {
    weights = softmax(x, static_cast<int>(axes[0]));
  } else {
    Expr shifted = x - max(x, reduced_axes(c.node), true);
    weights = exp(shifted - log(sum(exp(shifted), reduced_axes(c.node), true)));
  }
  return {broadcast_reduced(c.g, c.node) * weights};
}

}  // namespace

GradRule reduction_grad_rule(OpKind op) {
  switch (op) {
  case OpKind::Sum: return sum_grad;
  case OpKind::Mean: return mean_grad;
  case OpKind::Prod: return prod_grad;
  case OpKind::Max:
  case OpKind::Min: return extreme_grad;
  case OpKind::LogSumExp: return logsumexp_grad;
  // argmax, argmin, all and any have integer or bool results.
  default: return nullptr;
  }
}

}  // namespace damo::detail
