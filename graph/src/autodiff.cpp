// The reverse-mode driver: walks the graph from the outputs in reverse topological order,
// calls each node's gradient rule and sums the contributions that reach every node. grad,
// vjp, jvp, jacobian and hessian are built on it.
#include "damo/graph/autodiff.h"

#include <fmt/format.h>

#include <unordered_set>

#include "damo/graph/ops.h"
#include "damo/graph/traversal.h"
#include "damo/runtime/log.h"
#include "grad_rules.h"

namespace damo {

namespace detail {

namespace {

// Gradients that skip a saturating operand. Chaining the rules of log and sigmoid (or of a
// cross-entropy and the softmax or sigmoid under it) multiplies an infinite factor by a
// zero one once a probability rounds to 0 or 1: log(sigmoid(-200)) gets the gradient
// (1 / 0) * 0 = NaN. These forms differentiate their stable equivalent instead, straight
// to the operand z below the sigmoid, softmax or exp. The equivalent is computed in the
// node's dtype, so a float cast may sit under the log (log(f64(sigmoid(z))), for example).
// Every leaf gets its contribution in its own shape and dtype. A node in between that is
// itself a target keeps the usual chain, so that it still gets its gradient.
class Shortcut {
 public:
  Shortcut(const Node& node, const std::unordered_set<const Node*>& targets)
      : node_(node), targets_(targets) {
    match();
  }

  bool applies() const { return kind_ != Kind::None; }

  // Calls add(leaf, contribution) for each leaf that wants a gradient.
  template <class Wants, class Add>
  void apply(const Expr& g, const Wants& wants, const Add& add) const {
    const Node* z = leaves_.empty() ? nullptr : leaves_[0];
    auto to_leaf = [](const Node* leaf, const Expr& contribution) {
      return fit_to_operand(contribution, leaf->shape(), leaf->dtype());
    };
    switch (kind_) {
    case Kind::None: return;
    case Kind::LogSigmoid:  // log(sigmoid(z)) = -softplus(-z)
      if (wants(z)) add(z, to_leaf(z, g * sigmoid(-logits())));
      return;
    case Kind::LogExp:  // log(exp(z)) = z
      if (wants(z)) add(z, to_leaf(z, g));
      return;
    case Kind::LogOneMinusSigmoid:  // log(1 - sigmoid(z)) = -softplus(z)
      if (wants(z)) add(z, to_leaf(z, -(g * sigmoid(logits()))));
      return;
    case Kind::BinaryCrossentropy: {  // softplus(z) - t z
      const Node* t = leaves_[1];
      if (wants(z)) add(z, to_leaf(z, g * (sigmoid(logits()) - Expr(t))));
      if (wants(t)) add(t, to_leaf(t, -(g * logits())));
      return;
    }
    case Kind::Equivalent: {  // a single stable node over the leaves, each maybe cast
      std::vector<bool> needed;
      for (const Node* leaf : leaves_) needed.push_back(wants(leaf));
      Contributions contributions = apply_grad_rule(*equivalent_.node(), g, needed);
      for (std::size_t i = 0; i < contributions.size(); ++i)
        if (contributions[i].defined()) add(leaves_[i], to_leaf(leaves_[i], contributions[i]));
      return;
    }
    }
  }

 private:
  enum class Kind { None, LogSigmoid, LogExp, LogOneMinusSigmoid, BinaryCrossentropy, Equivalent };

  // A node between this one and the leaves that is not a variable.
  bool free(const Node* between) const { return targets_.count(between) == 0; }

  // Whether between is a free op node of this node's shape, so that no broadcast is skipped.
  bool step(const Node* between, OpKind op) const {
    return between->op() == op && free(between) && between->shape() == node_.shape();
  }

  // The operand of a free float-to-float cast, or node itself when it is no such cast.
  const Node* uncast(const Node* node) const {
    bool float_cast = node->op() == OpKind::Cast && is_float(node->dtype()) &&
                      is_float(node->input(0)->dtype()) && free(node);
    return float_cast ? node->input(0) : node;
  }

  // The operand z of exp(z), under at most one float cast, or null.
  const Node* exp_operand(const Node* node) const {
    node = uncast(node);
    return node->op() == OpKind::Exp && free(node) ? node->input(0) : nullptr;
  }

  // Whether node is the constant 1 under any casts, as f64(1) is: every cast keeps 1.
  static bool is_one(const Node* node) {
    while (node->op() == OpKind::Cast) node = node->input(0);
    return node->is_constant_value(1.0);
  }

  // The first leaf in this node's dtype.
  Expr logits() const { return cast(Expr(leaves_[0]), node_.dtype()); }

  void match() {
    if (node_.input_count() == 0) return;
    const Node* operand = uncast(node_.input(0));
    switch (node_.op()) {
    case OpKind::Log:
      if (step(operand, OpKind::Sigmoid)) {
        set(Kind::LogSigmoid, operand->input(0));
      } else if (const Node* z = exp_operand(node_.input(0)); z != nullptr && z->shape() == node_.shape()) {
        set(Kind::LogExp, z);
      } else if (step(operand, OpKind::Sub) && is_one(operand->input(0)) &&
                 step(uncast(operand->input(1)), OpKind::Sigmoid)) {
        set(Kind::LogOneMinusSigmoid, uncast(operand->input(1))->input(0));
      } else if (step(operand, OpKind::Add)) {  // log(1 + exp(z)) = softplus(z)
        for (int i = 0; i < 2; ++i) {
          const Node* z = exp_operand(operand->input(i));
          if (z != nullptr && is_one(operand->input(1 - i)))
            equivalent([&](Expr x) { return softplus(x); }, z);
        }
      } else if (operand->op() == OpKind::Softmax && free(operand)) {
        auto axis = static_cast<int>(operand->attr(0));
        equivalent([&](Expr z) { return log_softmax(z, axis); }, operand->input(0));
      } else if (auto [z, axis] = softmax_division(operand); z != nullptr && free(operand)) {
        equivalent([&](Expr x) { return log_softmax(x, static_cast<int>(axis)); }, z);
      } else if (operand->op() == OpKind::Sum && free(operand)) {
        // log(sum(exp(z))) = logsumexp(z) over the same axes.
        if (const Node* z = exp_operand(operand->input(0))) {
          const Attrs& sum = operand->attrs();
          equivalent([&](Expr x) { return logsumexp(x, Axes(sum.ints), sum.keepdims); }, z);
        }
      }
      return;
    case OpKind::Log1p:
      if (step(operand, OpKind::Neg) && step(uncast(operand->input(0)), OpKind::Sigmoid))
        set(Kind::LogOneMinusSigmoid, uncast(operand->input(0))->input(0));
      else if (const Node* z = exp_operand(operand))
        equivalent([&](Expr x) { return softplus(x); }, z);
      return;
    case OpKind::Div:
      if (auto [z, axis] = softmax_division(&node_); z != nullptr)
        equivalent([&](Expr x) { return softmax(x, static_cast<int>(axis)); }, z);
      return;
    case OpKind::BinaryCrossentropy:
      if (operand->op() == OpKind::Sigmoid && free(operand)) {
        set(Kind::BinaryCrossentropy, operand->input(0));
        leaves_.push_back(node_.input(1));
      }
      return;
    case OpKind::CategoricalCrossentropy:
    case OpKind::SparseCategoricalCrossentropy:
      if (operand->op() == OpKind::Softmax && free(operand) &&
          operand->attr(0) == operand->rank() - 1) {
        Expr t(node_.input(1));
        equivalent([&](Expr z) { return softmax_crossentropy(z, t); }, operand->input(0),
                   node_.input(1));
      } else if (auto [z, axis] = softmax_division(operand);
                 z != nullptr && free(operand) && axis == operand->rank() - 1) {
        Expr t(node_.input(1));
        equivalent([&](Expr x) { return softmax_crossentropy(x, t); }, z, node_.input(1));
      }
      return;
    default: return;
    }
  }

  // The operand z and the axis of exp(z) / sum(exp(z), axis) written as a softmax: with the
  // axis kept, put back by expand_dims, or summed away from a vector. z is null for any
  // other node.
  std::pair<const Node*, std::int64_t> softmax_division(const Node* div) const {
    if (div->op() != OpKind::Div) return {nullptr, 0};
    const Node* numerator = div->input(0);
    const Node* z = numerator->op() == OpKind::Exp && free(numerator) ? numerator->input(0) : nullptr;
    const Node* total = div->input(1);
    bool restored = total->op() == OpKind::ExpandDims && free(total);
    const Node* sum = restored ? total->input(0) : total;
    if (z == nullptr || sum->op() != OpKind::Sum || !free(sum) || sum->input(0) != numerator ||
        sum->attrs().ints.size() != 1)
      return {nullptr, 0};
    std::int64_t axis = sum->attrs().ints[0];
    bool keepdims = sum->attrs().keepdims;
    bool put_back = restored && !keepdims && total->attr(0) == axis;
    bool whole_vector = !restored && !keepdims && numerator->rank() == 1;
    if ((keepdims && !restored) || put_back || whole_vector) return {z, axis};
    return {nullptr, 0};
  }

  void set(Kind kind, const Node* z) {
    kind_ = kind;
    leaves_ = {z};
  }

  // Builds the equivalent node from z in this node's dtype. It applies only when it has
  // the node's dtype and shape and its inputs are the leaves, z maybe through that cast.
  template <class Build>
  void equivalent(const Build& build, const Node* z, const Node* second_leaf = nullptr) {
    Expr candidate;
    Expr converted;
    try {
      converted = cast(Expr(z), node_.dtype());
      candidate = build(converted);
    } catch (const UserError&) {
      return;
    }
    if (candidate.dtype() != node_.dtype() || candidate.shape() != node_.shape()) return;
    std::vector<const Node*> inputs = {converted.node()};
    if (second_leaf != nullptr) inputs.push_back(second_leaf);
    if (candidate->inputs() != inputs) return;
    kind_ = Kind::Equivalent;
    equivalent_ = candidate;
    leaves_ = {z};
    if (second_leaf != nullptr) leaves_.push_back(second_leaf);
  }

  const Node& node_;
  const std::unordered_set<const Node*>& targets_;
  Kind kind_ = Kind::None;
  std::vector<const Node*> leaves_;  // the operands that get the gradient: z, then targets
  Expr equivalent_;
};

}  // namespace

std::unordered_map<const Node*, Expr> backpropagate(const std::vector<Expr>& outputs,
                                                    const std::vector<Expr>& cotangents,
                                                    const std::vector<const Node*>& targets) {
  DAMO_ASSERT(outputs.size() == cotangents.size(), "one cotangent per output");
  std::vector<const Node*> order = topo_order(outputs);
  std::unordered_set<const Node*> target_set(targets.begin(), targets.end());

  // Nodes with a path to a target along edges that carry a gradient; only these get one.
  std::unordered_set<const Node*> leads_to_target;
  for (const Node* node : order) {
    bool leads = target_set.count(node) != 0;
    for (std::size_t i = 0; i < node->input_count() && !leads; ++i)
      leads = carries_gradient(*node, i) && leads_to_target.count(node->input(i)) != 0;
    if (leads) leads_to_target.insert(node);
  }

  std::unordered_map<const Node*, Expr> gradients;
  auto accumulate = [&](const Node* node, Expr contribution) {
    auto [it, inserted] = gradients.try_emplace(node, contribution);
    if (!inserted) it->second = it->second + contribution;
  };
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (leads_to_target.count(outputs[i].node()) != 0) accumulate(outputs[i].node(), cotangents[i]);

  // Reverse topological order: every user of a node is done before the node itself.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* node = *it;
    auto found = gradients.find(node);
    if (found == gradients.end() || node->input_count() == 0) continue;

    std::vector<bool> needed(node->input_count());
    bool any_needed = false;
    for (std::size_t i = 0; i < needed.size(); ++i) {
      needed[i] = carries_gradient(*node, i) && leads_to_target.count(node->input(i)) != 0;
      any_needed = any_needed || needed[i];
    }
    if (!any_needed) continue;

    Shortcut shortcut(*node, target_set);
    if (shortcut.applies()) {
      auto wants = [&](const Node* leaf) { return leads_to_target.count(leaf) != 0; };
      shortcut.apply(found->second, wants, accumulate);
      continue;
    }

    Contributions contributions = apply_grad_rule(*node, found->second, needed);
    for (std::size_t i = 0; i < contributions.size(); ++i)
      if (contributions[i].defined()) accumulate(node->input(i), contributions[i]);
  }

  std::unordered_map<const Node*, Expr> result;
  for (const Node* target : targets) {
    auto found = gradients.find(target);
    if (found != gradients.end()) result.emplace(target, found->second);
  }
  return result;
}

}  // namespace detail

namespace {

std::string variable_name(const Expr& x) {
  if (x->op() == OpKind::Input || x->op() == OpKind::Shared) return x->name();
  return x.to_string();
}

void check_same_graph(const std::string& caller, const Expr& reference, const Expr& x,
                      const std::string& what) {
  if (!x.defined()) throw UserError(fmt::format("{}: {} is undefined", caller, what));
  if (&x.graph() != &reference.graph())
    throw UserError(fmt::format("{}: {} belongs to another graph than the outputs; build them in "
                                "one Graph",
                                caller, what));
}

// Checks the variables and the outputs with their cotangents, then backpropagates and
// applies the disconnected policy to each variable that the outputs do not depend on.
std::vector<Expr> vjp_checked(const std::string& caller, const std::vector<Expr>& outputs,
                              const std::vector<Expr>& cotangents, const std::vector<Expr>& wrt,
                              const GradOptions& options) {
  if (outputs.empty()) throw UserError(caller + ": needs at least one output");
  if (outputs.size() != cotangents.size())
    throw UserError(fmt::format("{}: {} outputs but {} cotangents; pass one cotangent per output",
                                caller, outputs.size(), cotangents.size()));
  // Outputs, cotangents and variables are counted from 1 in messages, as compile() counts.
  if (!outputs[0].defined()) throw UserError(caller + ": output 1 is undefined");

  std::vector<Expr> seeds;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Expr& y = outputs[i];
    check_same_graph(caller, outputs[0], y, fmt::format("output {}", i + 1));
    check_same_graph(caller, outputs[0], cotangents[i], fmt::format("cotangent {}", i + 1));
    if (!is_float(y.dtype()))
      throw UserError(fmt::format("{}: output {} has dtype {}; only f32 and f64 outputs have "
                                  "gradients",
                                  caller, i, dtype_name(y.dtype())));
    if (cotangents[i].shape() != y.shape())
      throw UserError(fmt::format("{}: cotangent {} has shape {} but its output has shape {}; "
                                  "they must match",
                                  caller, i, cotangents[i].shape().to_string(),
                                  y.shape().to_string()));
    seeds.push_back(cast(cotangents[i], y.dtype()));
  }

  std::vector<const Node*> targets;
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    check_same_graph(caller, outputs[0], wrt[i], fmt::format("variable {}", i + 1));
    // A constant has no variable to vary; its gradient would always be disconnected.
    if (wrt[i].node()->is_constant())
      throw UserError(fmt::format("{}: variable {} is a constant {} {}; take gradients with respect "
                                  "to inputs, shared variables or expressions of them",
                                  caller, i, dtype_name(wrt[i].dtype()), wrt[i].shape().to_string()));
    if (!is_float(wrt[i].dtype()))
      throw UserError(fmt::format("{}: variable '{}' has dtype {}; only f32 and f64 variables "
                                  "have gradients",
                                  caller, variable_name(wrt[i]), dtype_name(wrt[i].dtype())));
    targets.push_back(wrt[i].node());
  }

  auto gradients = detail::backpropagate(outputs, seeds, targets);

  std::vector<Expr> result;
  for (const Expr& x : wrt) {
    auto found = gradients.find(x.node());
    if (found != gradients.end()) {
      result.push_back(found->second);
      continue;
    }
    std::string message = fmt::format(
        "{}: {} does not depend on variable '{}' through any differentiable path "
        "(stop_gradient, integer values, comparisons, sign, floor, ceil, round and the "
        "probabilities of random draws pass no gradient)",
        caller, caller == "grad" ? "the cost" : "the output", variable_name(x));
    if (options.disconnected == DisconnectedPolicy::Raise)
      throw UserError(fmt::format("{}; to get zeros instead, pass "
                                  "GradOptions{{DisconnectedPolicy::Zeros}} in C++ or "
                                  "disconnected=\"zeros\" to {}() in the expression language",
                                  message, caller));
    if (options.disconnected == DisconnectedPolicy::Warn)
      log_at(1, "{}; its gradient is zero", message);
    result.push_back(detail::zeros(x.graph(), x.dtype(), x.shape()));
  }
  return result;
}

}  // namespace

std::vector<Expr> grad(Expr cost, const std::vector<Expr>& wrt, const GradOptions& options) {
  if (!cost.defined()) throw UserError("grad: the cost is undefined");
  if (cost.rank() != 0)
    throw UserError(fmt::format("grad: the cost must be a scalar but has shape {}; reduce it "
                                "first, for example with sum() or mean()",
                                cost.shape().to_string()));
  if (!is_float(cost.dtype()))
    throw UserError(fmt::format("grad: the cost has dtype {}; only an f32 or f64 cost has a "
                                "gradient",
                                dtype_name(cost.dtype())));
  Expr one = cost.graph().scalar(1.0, cost.dtype());
  return vjp_checked("grad", {cost}, {one}, wrt, options);
}

std::vector<Expr> grad(Expr cost, std::initializer_list<Expr> wrt, const GradOptions& options) {
  return grad(cost, std::vector<Expr>(wrt), options);
}

Expr grad(Expr cost, Expr wrt, const GradOptions& options) {
  return grad(cost, std::vector<Expr>{wrt}, options)[0];
}

std::vector<Expr> vjp(const std::vector<Expr>& outputs, const std::vector<Expr>& cotangents,
                      const std::vector<Expr>& wrt, const GradOptions& options) {
  return vjp_checked("vjp", outputs, cotangents, wrt, options);
}

// The vjp w(u) = u^T J is linear in the cotangent u, so the vjp of w with respect to u for
// the cotangent v is J v. The cotangents u are inputs with reserved names that no
// expression can write, and the result must not depend on them.
std::vector<Expr> jvp(const std::vector<Expr>& outputs, const std::vector<Expr>& wrt,
                      const std::vector<Expr>& tangents, const GradOptions& options) {
  if (wrt.size() != tangents.size())
    throw UserError(fmt::format("jvp: {} variables but {} tangents; pass one tangent per variable",
                                wrt.size(), tangents.size()));
  if (wrt.empty()) throw UserError("jvp: needs at least one variable");
  std::vector<Expr> tangent_seeds;
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    if (!wrt[i].defined() || !tangents[i].defined())
      throw UserError(fmt::format("jvp: variable {} or its tangent is undefined", i + 1));
    if (tangents[i].shape() != wrt[i].shape())
      throw UserError(fmt::format("jvp: tangent {} has shape {} but variable '{}' has shape {}; "
                                  "they must match",
                                  i + 1, tangents[i].shape().to_string(), variable_name(wrt[i]),
                                  wrt[i].shape().to_string()));
    tangent_seeds.push_back(tangents[i]);
  }

  std::vector<Expr> dummies;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) throw UserError(fmt::format("jvp: output {} is undefined", i + 1));
    // Graph::input rejects a derived size such as n*6, which no argument could bind. The
    // placeholders are never arguments and leave the result, so they are interned directly.
    NodeSpec spec;
    spec.op = OpKind::Input;
    spec.dtype = outputs[i].dtype();
    spec.shape = outputs[i].shape();
    spec.name = fmt::format("<jvp cotangent {} {} {}>", i, dtype_name(outputs[i].dtype()),
                            outputs[i].shape().to_string());
    dummies.push_back(Expr(outputs[i].graph().intern(std::move(spec))));
  }
  std::vector<Expr> transposed = vjp_checked("jvp", outputs, dummies, wrt, options);
  GradOptions zeros_policy{DisconnectedPolicy::Zeros};
  std::vector<Expr> result = vjp_checked("jvp", transposed, tangent_seeds, dummies, zeros_policy);

  std::unordered_set<const Node*> dummy_nodes;
  for (const Expr& d : dummies) dummy_nodes.insert(d.node());
  for (const Node* node : topo_order(result))
    DAMO_ASSERT(dummy_nodes.count(node) == 0, "a gradient rule is not linear in its cotangent");
  return result;
}

// One vjp per output element with a one-hot cotangent gives one row of the Jacobian.
Expr jacobian(Expr output, Expr wrt, const GradOptions& options) {
  if (!output.defined() || !wrt.defined()) throw UserError("jacobian: an operand is undefined");
  for (const Expr& x : {output, wrt})
    if (!x.shape().is_static())
      throw UserError(fmt::format("jacobian: '{}' has the symbolic shape {}; the Jacobian needs "
                                  "static shapes",
                                  variable_name(x), x.shape().to_string()));
  Dims out_dims = output.shape().static_dims();
  Dims wrt_dims = wrt.shape().static_dims();
  Dims jacobian_dims = out_dims;
  jacobian_dims.insert(jacobian_dims.end(), wrt_dims.begin(), wrt_dims.end());
  std::int64_t rows = dims_numel(out_dims);
  std::int64_t columns = dims_numel(wrt_dims);
  Graph& graph = output.graph();

  if (rows == 1) {
    Expr row = vjp_checked("jacobian", {output}, {graph.constant(Tensor::full(output.dtype(),
                                                                             out_dims, 1.0))},
                           {wrt}, options)[0];
    return reshape(row, std::vector<Dim>(jacobian_dims.begin(), jacobian_dims.end()));
  }
  if (rows == 0 || columns == 0)
    return detail::zeros(graph, wrt.dtype(), Shape::from_dims(jacobian_dims));

  std::vector<Expr> parts;
  GradOptions row_options = options;
  for (std::int64_t k = 0; k < rows; ++k) {
    Tensor basis = Tensor::zeros(output.dtype(), out_dims);
    basis.set_double(k, 1.0);
    Expr row = vjp_checked("jacobian", {output}, {graph.constant(basis)}, {wrt}, row_options)[0];
    parts.push_back(reshape(row, {1, columns}));
    // The first row already applied the disconnected policy; later rows would repeat it.
    row_options.disconnected = DisconnectedPolicy::Zeros;
  }
  return reshape(concatenate(parts, 0), std::vector<Dim>(jacobian_dims.begin(),
                                                         jacobian_dims.end()));
}

// The gradient may not depend on wrt at all (a linear cost), so its Jacobian takes zeros.
Expr hessian(Expr cost, Expr wrt, const GradOptions& options) {
  if (wrt.defined() && !wrt.shape().is_static())
    throw UserError(fmt::format("hessian: '{}' has the symbolic shape {}; the Hessian needs static "
                                "shapes",
                                variable_name(wrt), wrt.shape().to_string()));
  if (cost.defined() && cost.rank() != 0)
    throw UserError(fmt::format("hessian: the cost must be a scalar but has shape {}; reduce it "
                                "first, for example with sum() or mean()",
                                cost.shape().to_string()));
  Expr gradient;
  try {
    gradient = grad(cost, std::vector<Expr>{wrt}, options)[0];
  } catch (const UserError& e) {
    // The message of grad() names grad; the caller called hessian.
    std::string message = e.what();
    if (message.starts_with("grad: ")) {
      message = "hessian: " + message.substr(6);
      std::size_t at = message.find("to grad()");
      if (at != std::string::npos) message.replace(at, 9, "to hessian()");
      throw UserError(message);
    }
    throw;
  }
  return jacobian(gradient, wrt, GradOptions{DisconnectedPolicy::Zeros});
}

}  // namespace damo
