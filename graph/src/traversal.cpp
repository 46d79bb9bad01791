#include "damo/graph/traversal.h"

#include <unordered_set>
#include <utility>

namespace damo {

std::vector<const Node*> topo_order(const std::vector<const Node*>& roots) {
  std::vector<const Node*> order;
  std::unordered_set<const Node*> visited;
  // Each frame is a node and the index of the next input to visit.
  std::vector<std::pair<const Node*, std::size_t>> stack;
  for (const Node* root : roots) {
    if (root == nullptr || !visited.insert(root).second) continue;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->input_count()) {
        const Node* input = node->input(next++);
        if (visited.insert(input).second) stack.emplace_back(input, 0);
        continue;
      }
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

std::vector<const Node*> topo_order(const std::vector<Expr>& roots) {
  std::vector<const Node*> nodes;
  nodes.reserve(roots.size());
  for (const Expr& e : roots) nodes.push_back(e.node());
  return topo_order(nodes);
}

}  // namespace damo
