// Elementwise fusion. The pass first forms groups, walking from consumers to producers,
// then rebuilds the graph with one fused node per group. A group's body is built from its
// members through their own factories over params, so it computes exactly what they do.
// TODO: fused nodes have one output, so a chain whose intermediates the gradient also
// reads (1,000 sin ops and their gradient) stays about one kernel per op, which takes
// seconds to compile.
#include "damo/optimizer/fuse_elementwise.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "damo/graph/ops.h"
#include "node_map.h"
#include "pass_util.h"

namespace damo {

namespace {

bool is_transcendental(OpKind op) {
  switch (op) {
  case OpKind::Exp:
  case OpKind::Expm1:
  case OpKind::Log:
  case OpKind::Log1p:
  case OpKind::Log2:
  case OpKind::Log10:
  case OpKind::Erf:
  case OpKind::Erfc:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Softplus:
  case OpKind::Pow: return true;
  default: return false;
  }
}

bool is_fusible_reduction(OpKind op) {
  return op == OpKind::Sum || op == OpKind::Mean || op == OpKind::Max || op == OpKind::Min ||
         op == OpKind::Prod;
}

// A group: members in topological order, the member whose value leaves the group, and the
// reduction that consumes it, if the group ends in one.
struct Group {
  std::vector<const Node*> members;
  const Node* output = nullptr;
  const Node* reduction = nullptr;
};

// The fused node of a group, over operands that are nodes of the input graph.
struct FusedPlan {
  Expr body;
  std::vector<const Node*> operands;
};

class ElementwiseFusion {
 public:
  ElementwiseFusion(const FuseElementwiseOptions& options, const std::vector<Expr>& roots)
      : options_(options), order_(detail::reachable_nodes(roots)) {
    for (std::size_t i = 0; i < order_.size(); ++i) position_[order_[i]] = i;
    for (const Node* node : order_)
      for (const Node* input : node->inputs()) ++uses_[input];
    for (const Expr& root : roots) ++uses_[root.node()];
  }

  // Forms the groups and plans a fused node for each that is worth one.
  void plan() {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const Node* node = *it;
      if (assigned_.contains(node)) continue;
      Group group;
      if (options_.fuse_reductions && is_fusible_reduction(node->op())) {
        const Node* input = node->input(0);
        if (!is_elementwise(input->op()) || assigned_.contains(input) || uses_[input] != 1 ||
            input->dtype() != node->dtype())
          continue;
        group = grow(input);
        group.reduction = node;
      } else if (is_elementwise(node->op())) {
        group = grow(node);
        if (group.members.size() < 2) continue;
      } else {
        continue;
      }
      if (auto fused = build_plan(group)) {
        const Node* replaced = group.reduction != nullptr ? group.reduction : group.output;
        plans_.emplace(replaced, std::move(*fused));
        for (const Node* member : group.members) fused_members_[member] = 1;
      }
    }
  }

  // The roots rewritten with every planned fused node in place of what it replaces.
  std::vector<Expr> rewrite(const std::vector<Expr>& roots, bool& changed) {
    std::unordered_map<const Node*, Expr> rewritten;
    auto mapped = [&](const Node* n) {
      auto it = rewritten.find(n);
      return it == rewritten.end() ? Expr(n) : it->second;
    };
    for (const Node* node : order_) {
      if (auto plan = plans_.find(node); plan != plans_.end()) {
        rewritten[node] = fused_node(node, plan->second, mapped);
        continue;
      }
      if (node->is_leaf() || fused_members_.contains(node)) continue;
      std::vector<Expr> inputs;
      bool any = false;
      for (const Node* input : node->inputs()) {
        inputs.push_back(mapped(input));
        any = any || inputs.back().node() != input;
      }
      if (any) rewritten[node] = rebuild(*node, inputs);
    }
    std::vector<Expr> result;
    for (const Expr& root : roots) {
      result.push_back(mapped(root.node()));
      changed = changed || result.back().node() != root.node();
    }
    return result;
  }

 private:
  // Grows the group whose output is output: an input joins once all its uses are edges
  // from members.
  Group grow(const Node* output) {
    Group group;
    group.output = output;
    std::unordered_map<const Node*, std::size_t> member_edges;
    std::vector<const Node*> queue = {output};
    assigned_[output] = 1;
    while (!queue.empty()) {
      const Node* member = queue.back();
      queue.pop_back();
      group.members.push_back(member);
      for (const Node* input : member->inputs()) {
        if (!joins(input, member)) continue;
        if (++member_edges[input] != uses_[input]) continue;
        if (group.members.size() + queue.size() >= options_.max_body_nodes) continue;
        assigned_[input] = 1;
        queue.push_back(input);
      }
    }
    std::sort(group.members.begin(), group.members.end(),
              [&](const Node* a, const Node* b) { return position_[a] < position_[b]; });
    return group;
  }

  bool joins(const Node* input, const Node* consumer) const {
    if (!is_elementwise(input->op()) || assigned_.contains(input)) return false;
    return input->shape() == consumer->shape() || !is_transcendental(input->op());
  }

  // The body over params and the operand list; nullopt when the group cannot be fused.
  std::optional<FusedPlan> build_plan(const Group& group) {
    for (bool peel : {true, false}) {
      auto plan = try_plan(group, peel);
      if (plan) return plan;
    }
    return std::nullopt;
  }

  // With peel, a broadcast_to operand is replaced by the node it broadcasts.
  std::optional<FusedPlan> try_plan(const Group& group, bool peel) {
    std::unordered_set<const Node*> members(group.members.begin(), group.members.end());
    std::unordered_map<const Node*, Expr> body_of;
    FusedPlan plan;
    Graph& graph = group.output->graph();

    auto source_of = [&](const Node* input) {
      while (peel && input->op() == OpKind::BroadcastTo) input = input->input(0);
      return input;
    };
    auto inlined = [](const Node* source) { return source->is_constant() && source->rank() == 0; };

    // Operands are numbered in the order the body reads them, left to right.
    std::vector<const Node*> stack = {group.output};
    std::unordered_set<const Node*> visited;
    while (!stack.empty()) {
      const Node* node = stack.back();
      stack.pop_back();
      if (!visited.insert(node).second) continue;
      if (members.count(node) != 0) {
        for (std::size_t i = node->input_count(); i-- > 0;) stack.push_back(node->input(i));
        continue;
      }
      const Node* source = source_of(node);
      bool listed =
          std::find(plan.operands.begin(), plan.operands.end(), source) != plan.operands.end();
      if (!inlined(source) && !listed) plan.operands.push_back(source);
    }

    auto operand_expr = [&](const Node* input) -> Expr {
      const Node* source = source_of(input);
      if (inlined(source)) return Expr(source);
      auto index =
          std::find(plan.operands.begin(), plan.operands.end(), source) - plan.operands.begin();
      return param(graph, static_cast<int>(index), source->dtype());
    };

    for (const Node* member : group.members) {
      std::vector<Expr> inputs;
      for (const Node* input : member->inputs())
        inputs.push_back(members.count(input) != 0 ? body_of.at(input) : operand_expr(input));
      Expr body = rebuild(*member, inputs);
      if (body.dtype() != member->dtype()) return std::nullopt;
      body_of[member] = body;
    }
    if (plan.operands.empty() || group.output->weak()) return std::nullopt;

    Shape shape = plan.operands[0]->shape();
    for (const Node* operand : plan.operands) {
      auto combined = broadcast_shapes(shape, operand->shape());
      if (!combined) return std::nullopt;
      shape = *combined;
    }
    if (shape != group.output->shape()) return std::nullopt;
    plan.body = body_of.at(group.output);
    return plan;
  }

  template <class Mapped>
  Expr fused_node(const Node* replaced, const FusedPlan& plan, Mapped mapped) {
    std::vector<Expr> operands;
    for (const Node* operand : plan.operands) operands.push_back(mapped(operand));
    if (!is_fusible_reduction(replaced->op())) return fused_elementwise(plan.body, operands);
    return fused_reduction(replaced->op(), plan.body, operands, Axes(replaced->attrs().ints),
                           replaced->attrs().keepdims);
  }

  const FuseElementwiseOptions& options_;
  std::vector<const Node*> order_;
  detail::NodeMap<std::size_t> position_;
  detail::NodeMap<std::size_t> uses_;
  // Nodes already in a group, fused or not, and the members of fused groups.
  detail::NodeMap<std::uint8_t> assigned_;
  detail::NodeMap<std::uint8_t> fused_members_;
  std::unordered_map<const Node*, FusedPlan> plans_;
};

}  // namespace

FuseElementwise::FuseElementwise(FuseElementwiseOptions options) : options_(options) {}

bool FuseElementwise::run(GraphState& graph) const {
  ElementwiseFusion fusion(options_, graph.roots);
  fusion.plan();
  bool changed = false;
  graph.roots = fusion.rewrite(graph.roots, changed);
  return changed;
}

}  // namespace damo
