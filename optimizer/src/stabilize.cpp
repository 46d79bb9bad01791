// Stabilization rules, one per line like the simplifier's. Each replaces an expression by
// an op that computes the same function without overflow, underflow or cancellation.
#include "damo/optimizer/stabilize.h"

#include "pass_util.h"
#include "pattern.h"

namespace damo {

namespace {

using namespace damo::pattern;

const Pattern one = constant(1);
const Pattern minus_one = constant(-1);

Pattern log(Pattern a) { return op(OpKind::Log, {std::move(a)}); }
Pattern log1p(Pattern a) { return op(OpKind::Log1p, {std::move(a)}); }
Pattern exp(Pattern a) { return op(OpKind::Exp, {std::move(a)}); }
Pattern expm1(Pattern a) { return op(OpKind::Expm1, {std::move(a)}); }
Pattern sigmoid(Pattern a) { return op(OpKind::Sigmoid, {std::move(a)}); }
Pattern softplus(Pattern a) { return op(OpKind::Softplus, {std::move(a)}); }
Pattern softmax(Pattern a) { return op(OpKind::Softmax, {std::move(a)}); }
Pattern sum(Pattern a) { return op(OpKind::Sum, {std::move(a)}); }
Pattern expand_dims(Pattern a) { return op(OpKind::ExpandDims, {std::move(a)}); }
Pattern cast(Pattern a) { return op(OpKind::Cast, {std::move(a)}); }
Pattern binary_crossentropy(Pattern p, Pattern t) {
  return op(OpKind::BinaryCrossentropy, {std::move(p), std::move(t)});
}

int axis_of(const Node* node) { return static_cast<int>(node->attr(0)); }

Expr log_softmax_of_match(const Match& m, const Node&) {
  return damo::log_softmax(m.expr(x), axis_of(m[y]));
}

Expr logsumexp_of_match(const Match& m, const Node&) {
  return damo::logsumexp(m.expr(x), Axes(m[y]->attrs().ints), m[y]->attrs().keepdims);
}

Expr softmax_of_match(const Match& m, const Node&) {
  return damo::softmax(m.expr(x), static_cast<int>(m[y]->attr(0)));
}

// The sum reduces one axis and keeps it, so exp(x) / sum broadcasts along that axis.
bool sums_one_kept_axis(const Match& m, const Node&) {
  return m[y]->attrs().ints.size() == 1 && m[y]->attrs().keepdims;
}

// The sum reduces the only axis of a vector to a scalar, which broadcasts along it.
bool sums_whole_vector(const Match& m, const Node&) {
  const Attrs& reduced = m[y]->attrs();
  return m[y]->input(0)->rank() == 1 && reduced.ints.size() == 1 && !reduced.keepdims;
}

// The sum reduces one axis and expand_dims puts it back in place.
bool sums_one_restored_axis(const Match& m, const Node&) {
  const Attrs& reduced = m[y]->attrs();
  return reduced.ints.size() == 1 && !reduced.keepdims && m[z]->attr(0) == reduced.ints[0];
}

// The forms below read x through a float cast (log(f64(sigmoid(x))), for example) and compute
// the stable op on x cast to the root's dtype.
Expr cast_x(const Match& m, const Node& root) { return damo::cast(m.expr(x), root.dtype()); }

Expr log_sigmoid_of_cast(const Match& m, const Node& root) { return -damo::softplus(-cast_x(m, root)); }

Expr log_one_minus_sigmoid_of_cast(const Match& m, const Node& root) {
  return -damo::softplus(cast_x(m, root));
}

Expr log_softmax_of_cast(const Match& m, const Node& root) {
  return damo::log_softmax(cast_x(m, root), axis_of(m[y]));
}

Expr softplus_of_cast(const Match& m, const Node& root) { return damo::softplus(cast_x(m, root)); }

Expr logsumexp_of_cast(const Match& m, const Node& root) {
  return damo::logsumexp(cast_x(m, root), Axes(m[y]->attrs().ints), m[y]->attrs().keepdims);
}

// binary_crossentropy(sigmoid(x), t), also with a cast between them (the loss of float32
// logits with float64 targets), from the logits in the loss's dtype. It equals
// softplus(x) - t x, written as (1 - t) relu(x) + t relu(-x) + softplus(-|x|) so that
// infinite logits give inf for 0 < t < 1, where softplus(x) - t x is inf - inf.
Expr bce_of_sigmoid(const Match& m, const Node& root) {
  Expr logits = damo::cast(m.expr(x), root.dtype());
  Expr targets = damo::cast(m.expr(y), root.dtype());
  // One node per statement: C++ leaves the order of operands' evaluation open, and node
  // creation order decides how the graph prints, so it must not depend on the compiler.
  Expr miss = 1.0 - targets;
  Expr positive = damo::relu(logits);
  Expr positive_part = miss * positive;
  Expr negative = damo::relu(-logits);
  Expr negative_part = targets * negative;
  Expr log_term = damo::softplus(-damo::abs(logits));
  return positive_part + negative_part + log_term;
}

std::vector<Rule> stabilize_rules() {
  std::vector<Rule> rules = {
      // -(t log(s) + (1 - t) log(1 - s)) with s = sigmoid(x) is softplus(x) - t x.
      {"binary_crossentropy_sigmoid", binary_crossentropy(sigmoid(x), y), build(bce_of_sigmoid)},
      {"binary_crossentropy_cast_sigmoid", binary_crossentropy(op(OpKind::Cast, {sigmoid(x)}), y),
       build(bce_of_sigmoid)},
      {"log_softmax", log(bind(y, softmax(x))), build(log_softmax_of_match)},
      {"log_sigmoid", log(sigmoid(x)), neg(softplus(neg(x)))},
      {"log_one_minus_sigmoid", log(sub(one, sigmoid(x))), neg(softplus(x))},
      {"log1p_minus_sigmoid", log1p(neg(sigmoid(x))), neg(softplus(x))},
      {"log_cast_sigmoid", log(cast(sigmoid(x))), build(log_sigmoid_of_cast)},
      {"log_one_minus_cast_sigmoid", log(sub(one, cast(sigmoid(x)))),
       build(log_one_minus_sigmoid_of_cast)},
      {"log1p_minus_cast_sigmoid", log1p(neg(cast(sigmoid(x)))), build(log_one_minus_sigmoid_of_cast)},
      {"log_cast_softmax", log(cast(bind(y, softmax(x)))), build(log_softmax_of_cast)},
      {"log1p_cast_exp", log1p(cast(exp(x))), build(softplus_of_cast)},
      {"log_sum_cast_exp", log(bind(y, sum(cast(exp(x))))), build(logsumexp_of_cast)},
      // The same forms with the cast above the sum, the 1 - s or the 1 + exp.
      {"log_cast_one_minus_sigmoid", log(cast(sub(one, sigmoid(x)))), build(log_one_minus_sigmoid_of_cast)},
      {"log1p_cast_minus_sigmoid", log1p(cast(neg(sigmoid(x)))), build(log_one_minus_sigmoid_of_cast)},
      {"log_cast_one_plus_exp", log(cast(add(exp(x), one))), build(softplus_of_cast)},
      {"log_cast_sum_exp", log(cast(bind(y, sum(exp(x))))), build(logsumexp_of_cast)},
      {"log_one_plus", log(add(x, one)), log1p(x)},
      {"log_one_minus", log(sub(one, x)), log1p(neg(x))},
      {"log1p_exp", log1p(exp(x)), softplus(x)},
      // exp(x) overflows above about 88 in float32 and underflows below about -104.
      {"log_exp", log(exp(x)), x},
      {"log_cast_exp", log(cast(exp(x))), build(cast_x)},
      {"exp_minus_one", sub(exp(x), one), expm1(x)},
      {"exp_plus_minus_one", add(exp(x), minus_one), expm1(x)},
      {"log_sum_exp", log(bind(y, sum(exp(x)))), build(logsumexp_of_match)},
      {"softmax_keepdims", div(exp(x), bind(y, sum(exp(x)))), build(softmax_of_match),
       sums_one_kept_axis},
      {"softmax_vector", div(exp(x), bind(y, sum(exp(x)))), build(softmax_of_match),
       sums_whole_vector},
      {"softmax_expand_dims", div(exp(x), bind(z, expand_dims(bind(y, sum(exp(x)))))),
       build(softmax_of_match), sums_one_restored_axis},
  };
  return rules;
}

}  // namespace

Stabilize::Stabilize(StabilizeOptions options)
    : rewriter_("stabilize", compile_rules(stabilize_rules()), options.limits) {}

bool Stabilize::run(GraphState& graph) const { return detail::run_rewriter(rewriter_, graph); }

}  // namespace damo
