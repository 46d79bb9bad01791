// Softmax cross-entropy fusion. The forward rules look for a cross-entropy on a softmax
// along the last axis. The gradient rules look for the softmax (or log_softmax) gradient
// that autodiff builds, y * (G - sum(G * y)) or G - exp(ls) * sum(G), where the upstream
// gradient G is best a per-row value times the targets, and otherwise serves as the
// targets itself.
#include "damo/optimizer/fuse_crossentropy.h"

#include "damo/graph/ops.h"
#include "pass_util.h"

namespace damo {

namespace {

using detail::other_operand;

// True when node is op (softmax or log_softmax) along the last axis.
bool is_last_axis_op(const Node* node, OpKind op) {
  return node->op() == op && node->attr(0) == node->rank() - 1;
}

// True when node sums only its operand's last axis.
bool sums_last_axis(const Node* node, bool keepdims) {
  return node->op() == OpKind::Sum && node->attrs().keepdims == keepdims &&
         node->attrs().ints == std::vector<std::int64_t>{node->input(0)->rank() - 1};
}

// The loss shape of logits z: every axis but the last.
Shape loss_shape(const Node* z) {
  return Shape(std::vector<Dim>(z->shape().begin(), z->shape().end() - 1));
}

// Runs a rule body; a factory that rejects the operands means the rule does not apply.
template <class Body>
Expr guarded(const Node& node, Body body) {
  try {
    return fit_like(body(), node);
  } catch (const UserError&) {
    return Expr();
  }
}

// categorical_crossentropy(softmax(z), t) -> softmax_crossentropy(z, t), dense or sparse.
Expr crossentropy_of_softmax(const Node& node) {
  const Node* p = node.input(0);
  if (!is_last_axis_op(p, OpKind::Softmax)) return Expr();
  return guarded(node,
                 [&] { return softmax_crossentropy(Expr(p->input(0)), Expr(node.input(1))); });
}

// sum(t * log_softmax(z), -1) -> -softmax_crossentropy(z, t).
Expr summed_log_softmax(const Node& node) {
  if (!sums_last_axis(&node, node.attrs().keepdims) || node.input(0)->op() != OpKind::Mul)
    return Expr();
  const Node* product = node.input(0);
  for (const Node* ls : product->inputs()) {
    const Node* t = other_operand(*product, ls);
    if (!is_last_axis_op(ls, OpKind::LogSoftmax) || t->shape() != ls->shape()) continue;
    return guarded(node, [&] {
      Expr loss = -softmax_crossentropy(Expr(ls->input(0)), Expr(t));
      return node.attrs().keepdims ? expand_dims(loss, -1) : loss;
    });
  }
  return Expr();
}

// Labels under the index rule of take_along_axis and scatter_add_along_axis: a negative
// label has the class count added once, and the result is clamped into [0, classes - 1].
// The sparse cross-entropy ops take labels outside [0, classes) as NaN instead. Undefined
// when the class count is not static.
Expr labels_by_index_rule(const Node* labels, const Dim& classes) {
  if (!classes.is_static() || classes.size() < 1) return Expr();
  Expr y(labels);
  Expr shifted = where(y < 0, y + literal_like(y, classes.size()), y);
  return clip(shifted, literal_like(y, 0), literal_like(y, classes.size() - 1));
}

// take_along_axis(log_softmax(z), expand_dims(labels, -1), -1) ->
// expand_dims(-sparse_softmax_crossentropy(z, labels), -1), with the labels wrapped and
// clamped as take_along_axis does.
Expr log_softmax_at_labels(const Node& node) {
  const Node* ls = node.input(0);
  const Node* indices = node.input(1);
  if (node.attr(0) != node.rank() - 1 || !is_last_axis_op(ls, OpKind::LogSoftmax)) return Expr();
  if (indices->op() != OpKind::ExpandDims || indices->attr(0) != indices->rank() - 1) return Expr();
  const Node* z = ls->input(0);
  Expr labels = labels_by_index_rule(indices->input(0), z->shape()[z->rank() - 1]);
  if (!labels.defined()) return Expr();
  return guarded(node, [&] { return expand_dims(-softmax_crossentropy(Expr(z), labels), -1); });
}

// An upstream gradient G of log(softmax(z)) of the form a[..., None] * t (dense) or a
// placed at the labels (sparse), so that the gradient of z is
// softmax_crossentropy_grad(z, t, -a).
struct RowScaledTargets {
  Expr targets;
  Expr row_value;
};

// The per-row value a when node, possibly negated and broadcast, is a[..., None]: a value
// that is the same along the last axis, with the loss shape rows elsewhere.
Expr row_value(const Node* node, const Shape& rows) {
  int negations = 0;
  while (node->op() == OpKind::Neg || node->op() == OpKind::BroadcastTo) {
    negations += node->op() == OpKind::Neg ? 1 : 0;
    node = node->input(0);
  }
  Expr a;
  if (node->op() == OpKind::ExpandDims && node->attr(0) == node->rank() - 1 &&
      node->input(0)->shape() == rows) {
    a = Expr(node->input(0));
  } else if (node->rank() == 0) {
    a = broadcast_to(Expr(node), rows);
  } else if (node->rank() <= rows.rank() + 1 && node->shape()[node->rank() - 1] == Dim(1)) {
    Expr squeezed = squeeze(Expr(node), Axes(-1));
    if (broadcast_shapes(squeezed.shape(), rows) != rows) return Expr();
    a = broadcast_to(squeezed, rows);
  } else {
    return Expr();
  }
  return negations % 2 == 0 ? a : -a;
}

std::optional<RowScaledTargets> row_scaled_targets(const Node* g, const Node* z) {
  bool negated = false;
  while (g->op() == OpKind::Neg) {
    negated = !negated;
    g = g->input(0);
  }
  std::optional<RowScaledTargets> found;
  if (g->op() == OpKind::Mul) {
    for (const Node* t : g->inputs()) {
      if (t->shape() != z->shape()) continue;
      Expr a = row_value(other_operand(*g, t), loss_shape(z));
      if (a.defined()) found = RowScaledTargets{Expr(t), a};
      if (found) break;
    }
  } else if (g->op() == OpKind::ScatterAddAlongAxis && g->attr(0) == g->rank() - 1) {
    const Node* indices = g->input(1);
    const Node* spread = g->input(0);
    bool one_per_row =
        indices->op() == OpKind::ExpandDims && indices->attr(0) == indices->rank() - 1;
    Expr labels;
    if (one_per_row) labels = labels_by_index_rule(indices->input(0), z->shape()[z->rank() - 1]);
    if (labels.defined() && spread->shape() == indices->shape())
      found = RowScaledTargets{labels, squeeze(Expr(spread), Axes(-1))};
  } else if (g->shape() == z->shape() && is_float(g->dtype())) {
    // Any other G is its own targets with a row value of 1: G - softmax(z) * sum(G) is the
    // fused gradient for every G. This covers a mean over a static batch of one row, whose
    // factor 1 has been simplified away, and constant targets that were folded.
    found = RowScaledTargets{Expr(g), broadcast_to(literal_like(Expr(z), 1.0), loss_shape(z))};
  }
  if (found && negated) found->row_value = -found->row_value;
  return found;
}

// True when node is where(mask, x, 0), with the 0 possibly broadcast.
bool masks_to_zero(const Node* node, const Node* mask) {
  if (node->op() != OpKind::Where || node->input(0) != mask) return false;
  const Node* zero = detail::constant_below_broadcasts(node->input(2));
  return zero != nullptr && zero->is_constant_value(0.0);
}

// The gradient that the sparse cross-entropy rule sends to y, with a = b at the labels
// divided by y: where(one_hot(labels, classes), b[..., None] / y, 0), or the rule's form
// where(mask, where(mask, k / y, 0) * c[..., None], 0) for a scalar constant k, with b = k c.
std::optional<RowScaledTargets> sparse_crossentropy_gradient(const Node* g, const Node* y) {
  if (g->op() != OpKind::Where) return std::nullopt;
  const Node* mask = g->input(0);
  if (!masks_to_zero(g, mask)) return std::nullopt;
  if (mask->op() != OpKind::OneHot || mask->dtype() != DType::Bool) return std::nullopt;
  if (mask->shape() != y->shape()) return std::nullopt;
  Expr labels(mask->input(0));
  const Node* value = g->input(1);
  if (value->op() == OpKind::Div && value->input(1) == y) {
    Expr b = row_value(value->input(0), loss_shape(y));
    if (b.defined()) return RowScaledTargets{labels, b};
    return std::nullopt;
  }
  if (value->op() != OpKind::Mul) return std::nullopt;
  for (const Node* inner : value->inputs()) {
    if (!masks_to_zero(inner, mask)) continue;
    const Node* ratio = inner->input(1);
    if (ratio->op() != OpKind::Div || ratio->input(1) != y) continue;
    const Node* k = detail::constant_below_broadcasts(ratio->input(0));
    if (k == nullptr || k->rank() != 0) continue;
    Expr c = row_value(other_operand(*value, inner), loss_shape(y));
    if (c.defined()) return RowScaledTargets{labels, c * Expr(k)};
  }
  return std::nullopt;
}

Expr fused_gradient(const Node& node, const Node* z, const RowScaledTargets& source) {
  return guarded(
      node, [&] { return softmax_crossentropy_grad(Expr(z), source.targets, -source.row_value); });
}

// y * (G - sum(G * y, -1, keepdims)) with y = softmax(z) and G = Gl / y.
Expr softmax_gradient(const Node& node) {
  for (const Node* y : node.inputs()) {
    const Node* difference = other_operand(node, y);
    if (!is_last_axis_op(y, OpKind::Softmax) || difference->op() != OpKind::Sub) continue;
    const Node* g = difference->input(0);
    const Node* summed = difference->input(1);
    if (!sums_last_axis(summed, true) || summed->input(0)->op() != OpKind::Mul) continue;
    if (other_operand(*summed->input(0), g) != y) continue;

    const Node* z = y->input(0);
    std::optional<RowScaledTargets> source = sparse_crossentropy_gradient(g, y);
    if (!source && g->op() == OpKind::Div && g->input(1) == y)
      source = row_scaled_targets(g->input(0), z);
    if (source) return fused_gradient(node, z, *source);
  }
  return Expr();
}

// G - exp(ls) * sum(G, -1, keepdims) with ls = log_softmax(z).
Expr log_softmax_gradient(const Node& node) {
  const Node* g = node.input(0);
  const Node* product = node.input(1);
  if (product->op() != OpKind::Mul) return Expr();
  for (const Node* e : product->inputs()) {
    const Node* summed = other_operand(*product, e);
    if (e->op() != OpKind::Exp || !is_last_axis_op(e->input(0), OpKind::LogSoftmax)) continue;
    if (!sums_last_axis(summed, true) || summed->input(0) != g) continue;
    const Node* z = e->input(0)->input(0);
    if (auto source = row_scaled_targets(g, z)) return fused_gradient(node, z, *source);
  }
  return Expr();
}

std::vector<RewriteRule> crossentropy_rules(bool gradients) {
  auto rule = [](const char* name, OpKind op, Expr (*body)(const Node&)) {
    return RewriteRule{name, op,
                       [body](const Node& node, const RuleContext&) { return body(node); }};
  };
  std::vector<RewriteRule> rules = {
      rule("crossentropy_of_softmax", OpKind::CategoricalCrossentropy, crossentropy_of_softmax),
      rule("sparse_crossentropy_of_softmax", OpKind::SparseCategoricalCrossentropy,
           crossentropy_of_softmax),
      rule("summed_log_softmax", OpKind::Sum, summed_log_softmax),
      rule("log_softmax_at_labels", OpKind::TakeAlongAxis, log_softmax_at_labels),
  };
  if (gradients) {
    rules.push_back(rule("softmax_crossentropy_gradient", OpKind::Mul, softmax_gradient));
    rules.push_back(rule("log_softmax_crossentropy_gradient", OpKind::Sub, log_softmax_gradient));
  }
  return rules;
}

}  // namespace

FuseCrossentropy::FuseCrossentropy(FuseCrossentropyOptions options)
    : rewriter_("fuse_crossentropy", crossentropy_rules(options.gradients), options.limits) {}

bool FuseCrossentropy::run(GraphState& graph) const {
  return detail::run_rewriter(rewriter_, graph);
}

}  // namespace damo
