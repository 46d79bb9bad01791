// Helpers shared by the pass implementations.
#include "pass_util.h"

#include <cmath>
#include <cstring>

#include "node_map.h"

namespace damo::detail {

std::vector<const Node*> reachable_nodes(const std::vector<Expr>& roots) {
  std::vector<const Node*> order;
  NodeMap<std::uint8_t> visited;
  // Each frame is a node and the index of the next input to visit.
  std::vector<std::pair<const Node*, std::size_t>> stack;
  for (const Expr& root : roots) {
    if (!root.defined() || visited.contains(root.node())) continue;
    visited[root.node()] = 1;
    stack.emplace_back(root.node(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->input_count()) {
        const Node* input = node->input(next++);
        if (!visited.contains(input)) {
          visited[input] = 1;
          stack.emplace_back(input, 0);
        }
        continue;
      }
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

bool run_rewriter(const Rewriter& rewriter, GraphState& graph) {
  RewriteResult result = rewriter.run(graph.roots);
  graph.roots = std::move(result.roots);
  return result.changed;
}

const Node* constant_below_broadcasts(const Node* node) {
  while (node->op() == OpKind::BroadcastTo) node = node->input(0);
  return node->is_constant() ? node : nullptr;
}

std::optional<double> uniform_value(const Node& constant, std::int64_t max_elements) {
  const Tensor& value = constant.value();
  if (value.numel() == 0 || value.numel() > max_elements) return std::nullopt;
  double first = value.get_double(0);
  for (std::int64_t i = 1; i < value.numel(); ++i) {
    double v = value.get_double(i);
    bool same = std::isnan(first) ? std::isnan(v) : std::memcmp(&v, &first, sizeof v) == 0;
    if (!same) return std::nullopt;
  }
  return first;
}

const Node* other_operand(const Node& binary, const Node* known) {
  if (binary.input(0) == known) return binary.input(1);
  if (binary.input(1) == known) return binary.input(0);
  return nullptr;
}

}  // namespace damo::detail
