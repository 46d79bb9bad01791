// Gradient rules of the neural-network ops: softmax, log_softmax and the cross-entropies
// on probabilities (dense and sparse categorical, binary).
#include <fmt/format.h>

#include "grad_rules.h"

namespace damo::detail {

namespace {

int axis_attr(const Node& node) { return static_cast<int>(node.attr(0)); }

// dx = y * (g - sum(g * y)) along the softmax axis.
Contributions softmax_grad(const GradContext& c) {
  int axis = axis_attr(c.node);
  Expr y = c.out();
  return {y * (c.g - sum(c.g * y, Axes(axis), true))};
}

// dx = g - softmax(x) * sum(g) along the axis, with softmax(x) = exp(log_softmax(x)).
Contributions log_softmax_grad(const GradContext& c) {
  int axis = axis_attr(c.node);
  return {c.g - exp(c.out()) * sum(c.g, Axes(axis), true)};
}

// loss = -sum(t * log(p)) over the last axis.
Contributions categorical_crossentropy_grad(const GradContext& c) {
  Expr p = c.in(0);
  Expr t = c.in(1);
  Expr g = expand_dims(c.g, -1);
  Contributions r(2);
  if (c.wants(0)) r[0] = -(g * t) / p;
  if (c.wants(1)) r[1] = -(g * log(p));
  return r;
}

// loss = -log(p[..., t]): only the target class of each row gets a gradient.
Contributions sparse_categorical_crossentropy_grad(const GradContext& c) {
  Expr p = c.in(0);
  Expr targets = c.in(1);
  Expr is_target = class_mask(targets, p);
  Expr g = expand_dims(c.g, -1);
  return {masked_product(is_target, g, -1.0 / p), Expr()};
}

// loss = -(t log(p) + (1 - t) log(1 - p)).
Contributions binary_crossentropy_grad(const GradContext& c) {
  Expr p = c.in(0);
  Expr t = c.in(1);
  Contributions r(2);
  if (c.wants(0)) r[0] = c.g * ((1.0 - t) / (1.0 - p) - t / p);
  if (c.wants(1)) r[1] = c.g * (log1p(-p) - log(p));
  return r;
}

// The sums that element j enters are those of positions j..n-1, so dx = cumsum(g) in the
// other direction.
Contributions cumsum_grad(const GradContext& c) {
  return {cumsum(c.g, static_cast<int>(c.node.attr(0)), c.node.attr(1) == 0)};
}

}  // namespace

GradRule nn_grad_rule(OpKind op) {
  switch (op) {
  case OpKind::Softmax: return softmax_grad;
  case OpKind::LogSoftmax: return log_softmax_grad;
  case OpKind::CumSum: return cumsum_grad;
  case OpKind::CategoricalCrossentropy: return categorical_crossentropy_grad;
  case OpKind::SparseCategoricalCrossentropy: return sparse_categorical_crossentropy_grad;
  case OpKind::BinaryCrossentropy: return binary_crossentropy_grad;
  default: return nullptr;
  }
}

}  // namespace damo::detail
