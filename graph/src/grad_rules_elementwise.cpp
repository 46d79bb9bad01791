// Gradient rules of the elementwise ops: unary math, binary arithmetic, where and clip.
// Contributions keep the broadcast shape of the result; apply_grad_rule() sums them back to
// each operand's shape. Masks are applied with where(), never by multiplying with 0 or 1,
// so that an infinite or NaN upstream gradient does not leak into an unselected element.
#include <numbers>

#include "grad_rules.h"

namespace damo::detail {

namespace {

Contributions neg_grad(const GradContext& c) { return {-c.g}; }

// abs'(0) = 0 because sign(0) = 0.
Contributions abs_grad(const GradContext& c) { return {c.g * sign(c.in(0))}; }

Contributions exp_grad(const GradContext& c) { return {c.g * c.out()}; }

// exp(x) rather than expm1(x) + 1, which rounds to 0 below about x = -37.5 in float64.
Contributions expm1_grad(const GradContext& c) { return {c.g * exp(c.in(0))}; }

Contributions log_grad(const GradContext& c) { return {c.g / c.in(0)}; }

Contributions log1p_grad(const GradContext& c) { return {c.g / (c.in(0) + 1.0)}; }

Contributions log2_grad(const GradContext& c) { return {c.g / (c.in(0) * std::numbers::ln2)}; }

Contributions log10_grad(const GradContext& c) { return {c.g / (c.in(0) * std::numbers::ln10)}; }

// erf'(x) = 2 / sqrt(pi) exp(-x^2).
Contributions erf_grad(const GradContext& c) {
  return {c.g * (exp(-square(c.in(0))) * (2.0 * std::numbers::inv_sqrtpi))};
}

// erfc'(x) = -2 / sqrt(pi) exp(-x^2).
Contributions erfc_grad(const GradContext& c) {
  return {c.g * (exp(-square(c.in(0))) * (-2.0 * std::numbers::inv_sqrtpi))};
}

// sqrt'(0) = +inf: 0.5 / sqrt(0) divides by zero.
Contributions sqrt_grad(const GradContext& c) { return {(c.g * 0.5) / c.out()}; }

Contributions square_grad(const GradContext& c) { return {c.g * (c.in(0) * 2.0)}; }

Contributions reciprocal_grad(const GradContext& c) { return {-(c.g * square(c.out()))}; }

Contributions sin_grad(const GradContext& c) { return {c.g * cos(c.in(0))}; }

Contributions cos_grad(const GradContext& c) { return {-(c.g * sin(c.in(0)))}; }

Contributions tanh_grad(const GradContext& c) { return {c.g * (1.0 - square(c.out()))}; }

Contributions sigmoid_grad(const GradContext& c) {
  Expr y = c.out();
  return {c.g * (y * (1.0 - y))};
}

Contributions softplus_grad(const GradContext& c) { return {c.g * sigmoid(c.in(0))}; }

// relu'(0) = 0: only x > 0 passes the gradient.
Contributions relu_grad(const GradContext& c) { return {select_or_zero(c.in(0) > 0.0, c.g)}; }

// A float-to-float cast passes the gradient; apply_grad_rule() casts it back.
Contributions cast_grad(const GradContext& c) { return {c.g}; }

Contributions add_grad(const GradContext& c) { return {c.g, c.g}; }

Contributions sub_grad(const GradContext& c) {
  Contributions r(2);
  r[0] = c.g;
  if (c.wants(1)) r[1] = -c.g;
  return r;
}

Contributions mul_grad(const GradContext& c) {
  Contributions r(2);
  if (c.wants(0)) r[0] = c.g * c.in(1);
  if (c.wants(1)) r[1] = c.g * c.in(0);
  return r;
}

// d(a/b)/db = -a/b^2 = -(a/b)/b.
Contributions div_grad(const GradContext& c) {
  Contributions r(2);
  if (c.wants(0)) r[0] = c.g / c.in(1);
  if (c.wants(1)) r[1] = -(c.g * c.out()) / c.in(1);
  return r;
}

// a mod b = a - floor(a / b) * b, and floor(a / b) is piecewise constant.
Contributions mod_grad(const GradContext& c) {
  Contributions r(2);
  r[0] = c.g;
  if (c.wants(1)) r[1] = -(c.g * floor_div(c.in(0), c.in(1)));
  return r;
}

// d(a^b)/da = b a^(b-1), taken as 0 at b = 0 where a^b is 1 for every a (at a = 0 the
// formula gives 0 * inf). d(a^b)/db = a^b log(a), taken as 0 at a = 0 where log(a) is -inf.
Contributions pow_grad(const GradContext& c) {
  Expr a = c.in(0);
  Expr b = c.in(1);
  Contributions r(2);
  if (c.wants(0)) r[0] = masked_product(b != 0.0, c.g, b * pow(a, b - 1.0));
  if (c.wants(1)) r[1] = masked_product(a != 0.0, c.g, c.out() * log(a));
  return r;
}

// Maximum and minimum: the selected operand gets the gradient; at a tie each gets half.
// An operand gets 0 only where the other one wins, so where a NaN makes the comparisons
// false, both get the whole gradient, as in PyTorch 1.13.
Contributions extremum_grad(const GradContext& c, bool is_max) {
  Expr a = c.in(0);
  Expr b = c.in(1);
  Expr tie = a == b;
  Expr half = c.g * 0.5;
  Contributions r(2);
  if (c.wants(0)) {
    Expr b_wins = is_max ? b > a : b < a;
    r[0] = select_or_zero(!b_wins, where(tie, half, c.g));
  }
  if (c.wants(1)) {
    Expr a_wins = is_max ? a > b : a < b;
    r[1] = select_or_zero(!a_wins, where(tie, half, c.g));
  }
  return r;
}

Contributions maximum_grad(const GradContext& c) { return extremum_grad(c, true); }

Contributions minimum_grad(const GradContext& c) { return extremum_grad(c, false); }

// Each element's gradient goes to the branch that where() selected there and nowhere else.
Contributions where_grad(const GradContext& c) {
  Expr condition = c.in(0);
  Contributions r(3);
  if (c.wants(1)) r[1] = select_or_zero(condition, c.g);
  if (c.wants(2)) r[2] = select_or_zero(!condition, c.g);
  return r;
}

// clip(x, lo, hi) = minimum(maximum(x, lo), hi). x gets the gradient at and inside the
// bounds (lo <= x <= hi); lo gets it below them, hi above them or when lo > hi.
Contributions clip_grad(const GradContext& c) {
  Expr x = c.in(0);
  Expr lo = c.in(1);
  Expr hi = c.in(2);
  Contributions r(3);
  if (c.wants(0)) r[0] = select_or_zero((x >= lo) & (x <= hi), c.g);
  if (c.wants(1)) r[1] = select_or_zero((x < lo) & (lo <= hi), c.g);
  if (c.wants(2)) r[2] = select_or_zero(maximum(x, lo) > hi, c.g);
  return r;
}

}  // namespace

GradRule elementwise_grad_rule(OpKind op) {
  switch (op) {
  case OpKind::Neg: return neg_grad;
  case OpKind::Abs: return abs_grad;
  case OpKind::Exp: return exp_grad;
  case OpKind::Expm1: return expm1_grad;
  case OpKind::Log: return log_grad;
  case OpKind::Log1p: return log1p_grad;
  case OpKind::Log2: return log2_grad;
  case OpKind::Log10: return log10_grad;
  case OpKind::Erf: return erf_grad;
  case OpKind::Erfc: return erfc_grad;
  case OpKind::Sqrt: return sqrt_grad;
  case OpKind::Square: return square_grad;
  case OpKind::Reciprocal: return reciprocal_grad;
  case OpKind::Sin: return sin_grad;
  case OpKind::Cos: return cos_grad;
  case OpKind::Tanh: return tanh_grad;
  case OpKind::Sigmoid: return sigmoid_grad;
  case OpKind::Softplus: return softplus_grad;
  case OpKind::Relu: return relu_grad;
  case OpKind::Cast: return cast_grad;
  case OpKind::Add: return add_grad;
  case OpKind::Sub: return sub_grad;
  case OpKind::Mul: return mul_grad;
  case OpKind::Div: return div_grad;
  case OpKind::Mod: return mod_grad;
  case OpKind::Pow: return pow_grad;
  case OpKind::Maximum: return maximum_grad;
  case OpKind::Minimum: return minimum_grad;
  case OpKind::Where: return where_grad;
  case OpKind::Clip: return clip_grad;
  // Sign, floor, ceil, round, floor_div and stop_gradient carry no gradient; comparisons,
  // logical ops, isnan and isinf have bool results.
  default: return nullptr;
  }
}

}  // namespace damo::detail
