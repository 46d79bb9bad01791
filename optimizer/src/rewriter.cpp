// The bottom-up rewriter. Each frame on an explicit stack is a node to resolve. Once its
// inputs are resolved, the node is rebuilt over their results and the rules run on it. A
// rule's replacement becomes a new frame, and its result is also the result of every node
// it replaced. Per-node state lives in id-indexed NodeMaps.
#include "damo/optimizer/rewriter.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "damo/graph/ops.h"
#include "damo/runtime/log.h"
#include "node_map.h"

namespace damo {

Expr fit_like(Expr value, const Node& node) {
  if (!value.defined() || value.dtype() != node.dtype()) return Expr();
  if (value->weak() != node.weak()) {
    if (!value->is_constant()) return Expr();
    value = node.weak() ? value.graph().weak_constant(value->value())
                        : value.graph().constant(value->value());
  }
  if (value.shape() == node.shape()) return value;
  if (broadcast_shapes(value.shape(), node.shape()) != node.shape()) return Expr();
  return broadcast_to(value, node.shape());
}

Rewriter::Rewriter(std::string pass_name, std::vector<RewriteRule> rules, RewriteLimits limits)
    : pass_name_(std::move(pass_name)), rules_(std::move(rules)), limits_(limits) {
  rules_by_op_.resize(kOpKindCount);
  for (const RewriteRule& rule : rules_) {
    if (rule.op)
      rules_by_op_[static_cast<std::size_t>(*rule.op)].push_back(&rule);
    else
      rules_for_any_op_.push_back(&rule);
    needs_use_counts_ = needs_use_counts_ || rule.needs_use_counts;
  }
}

class Rewriter::Run {
 public:
  Run(const Rewriter& rewriter, const std::vector<Expr>& roots) : rewriter_(rewriter) {
    if (rewriter.needs_use_counts_) count_uses(roots);
    context_.counter_ = [this](const Node* node) { return use_count(node); };

    std::set<const Graph*> graphs;
    for (const Expr& root : roots) graphs.insert(&root.graph());
    std::size_t nodes = 0;
    for (const Graph* graph : graphs) nodes += graph->node_count();
    budget_ = std::max<std::size_t>(1000, rewriter.limits_.max_rewrites_per_graph_node * nodes);
  }

  RewriteResult run(const std::vector<Expr>& roots) {
    RewriteResult result;
    for (const Expr& root : roots) {
      resolve(root.node());
      const Node* rewritten = *done_.find(root.node());
      result.changed = result.changed || rewritten != root.node();
      result.roots.emplace_back(rewritten);
    }
    result.rewrites = fired_;
    result.budget_exhausted = fired_ >= budget_;
    return result;
  }

 private:
  // A node to resolve. targets are the nodes that it replaces, which take its result.
  struct Frame {
    const Node* node;
    std::vector<const Node*> targets;
    int depth = 0;
    bool inputs_pushed = false;
  };

  void count_uses(const std::vector<Expr>& roots) {
    for (const Node* node : detail::reachable_nodes(roots))
      for (const Node* input : node->inputs()) ++original_uses_[input];
    for (const Expr& root : roots) ++original_uses_[root.node()];
  }

  std::size_t use_count(const Node* node) const {
    DAMO_ASSERT(rewriter_.needs_use_counts_,
                rewriter_.pass_name_ + ": a rule counts uses without needs_use_counts");
    if (const std::size_t* uses = result_uses_.find(node)) return *uses;
    if (const std::size_t* uses = original_uses_.find(node)) return *uses;
    return 1;
  }

  void resolve(const Node* root) {
    stack_.push_back(Frame{root, {}, 0, false});
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      if (const Node* const* result = done_.find(frame.node)) {
        Frame finished = std::move(frame);
        stack_.pop_back();
        finish(finished, *result);
        continue;
      }
      if (!frame.inputs_pushed && push_pending_inputs(frame)) continue;

      Frame current = std::move(stack_.back());
      stack_.pop_back();
      step(std::move(current));
    }
  }

  // Pushes the unresolved inputs of the top frame; returns true when there were any.
  bool push_pending_inputs(Frame& frame) {
    frame.inputs_pushed = true;
    const Node* node = frame.node;
    bool pending = false;
    for (std::size_t i = node->input_count(); i-- > 0;) {
      const Node* input = node->input(i);
      if (done_.contains(input)) continue;
      stack_.push_back(Frame{input, {}, 0, false});
      pending = true;
    }
    return pending;
  }

  // Rebuilds a frame's node over its resolved inputs and runs the rules on it.
  void step(Frame frame) {
    const Node* node = rebuilt(frame.node);
    if (node != frame.node) {
      frame.targets.push_back(frame.node);
      frame.node = node;
      if (const Node* const* result = done_.find(node)) {
        finish(frame, *result);
        return;
      }
    }

    Expr replacement = apply_rules(*node, frame.depth);
    if (!replacement.defined()) {
      finish(frame, node);
      return;
    }

    // A replacement that uses the node itself keeps the node's present form there.
    const auto& inputs = replacement->inputs();
    if (std::find(inputs.begin(), inputs.end(), node) != inputs.end() && !done_.contains(node))
      done_[node] = node;
    frame.targets.push_back(node);
    stack_.push_back(Frame{replacement.node(), std::move(frame.targets), frame.depth + 1, false});
  }

  const Node* rebuilt(const Node* node) {
    bool changed = false;
    for (const Node* input : node->inputs()) changed = changed || *done_.find(input) != input;
    if (!changed) return node;

    std::vector<Expr> inputs;
    inputs.reserve(node->input_count());
    for (const Node* input : node->inputs()) inputs.emplace_back(*done_.find(input));
    Expr result = rebuild(*node, inputs);
    DAMO_ASSERT(result.dtype() == node->dtype() && result.shape() == node->shape(),
                fmt::format("{}: rebuilding {} over rewritten inputs changed its type",
                            rewriter_.pass_name_, op_name(node->op())));
    return result.node();
  }

  Expr apply_rules(const Node& node, int depth) {
    if (fired_ >= budget_ || depth >= rewriter_.limits_.max_rewrites_per_node) return Expr();
    const auto& specific = rewriter_.rules_by_op_[static_cast<std::size_t>(node.op())];
    for (const auto* list : {&specific, &rewriter_.rules_for_any_op_}) {
      for (const RewriteRule* rule : *list) {
        if (node.is_leaf() && !rule->op) continue;
        Expr replacement = rule->apply(node, context_);
        if (!replacement.defined() || replacement.node() == &node) continue;
        check_replacement(*rule, node, replacement);
        ++fired_;
        if (fired_ == budget_)
          log_at(1, "{}: rewrite budget of {} rules reached; the remaining nodes are kept",
                 rewriter_.pass_name_, budget_);
        log_at(3, "{}: rule {} rewrote %{} {} to %{} {}", rewriter_.pass_name_, rule->name,
               node.id(), op_name(node.op()), replacement->id(), op_name(replacement->op()));
        return replacement;
      }
    }
    return Expr();
  }

  void check_replacement(const RewriteRule& rule, const Node& node, const Expr& replacement) {
    DAMO_ASSERT(replacement.dtype() == node.dtype() && replacement.shape() == node.shape() &&
                    replacement->weak() == node.weak(),
                fmt::format("{}: rule {} replaced {} {} {} by {} {} {}", rewriter_.pass_name_,
                            rule.name, op_name(node.op()), dtype_name(node.dtype()),
                            node.shape().to_string(), op_name(replacement->op()),
                            dtype_name(replacement.dtype()), replacement.shape().to_string()));
  }

  // Records result as the rewritten form of the frame's node and of every node it replaced,
  // and adds their uses to the result's when uses are counted.
  void finish(const Frame& frame, const Node* result) {
    std::size_t uses = 0;
    auto record = [&](const Node* target) {
      if (target == result) return;
      done_[target] = result;
      if (!rewriter_.needs_use_counts_) return;
      if (const std::size_t* own = original_uses_.find(target)) uses += *own;
    };
    for (const Node* target : frame.targets) record(target);
    record(frame.node);
    if (!done_.contains(result)) done_[result] = result;
    if (uses == 0) return;

    if (!result_uses_.contains(result)) {
      const std::size_t* own = original_uses_.find(result);
      result_uses_[result] = own != nullptr ? *own : 0;
    }
    result_uses_[result] += uses;
  }

  const Rewriter& rewriter_;
  detail::NodeMap<std::size_t> original_uses_;
  detail::NodeMap<std::size_t> result_uses_;
  RuleContext context_;
  detail::NodeMap<const Node*> done_;
  std::vector<Frame> stack_;
  std::size_t budget_ = 0;
  std::size_t fired_ = 0;
};

RewriteResult Rewriter::run(const std::vector<Expr>& roots) const {
  return Run(*this, roots).run(roots);
}

}  // namespace damo
