// NodeMap: per-node state for passes that visit every node, kept in vectors indexed by
// node id (one vector per graph), which is much faster than a hash map for that use.
#pragma once

#include <cstdint>
#include <vector>

#include "damo/graph/expr.h"

namespace damo::detail {

template <class T>
class NodeMap {
 public:
  /// Returns the value stored for node, or null when none is.
  T* find(const Node* node) {
    Table& t = table(node);
    std::size_t id = node->id();
    return id < t.present.size() && t.present[id] ? &t.values[id] : nullptr;
  }
  const T* find(const Node* node) const { return const_cast<NodeMap*>(this)->find(node); }

  bool contains(const Node* node) const { return find(node) != nullptr; }

  /// The value stored for node, default-constructed first when none is.
  T& operator[](const Node* node) {
    Table& t = table(node);
    std::size_t id = node->id();
    if (id >= t.present.size()) {
      std::size_t size = std::max<std::size_t>(id + 1, t.present.size() * 2);
      t.present.resize(size, 0);
      t.values.resize(size);
    }
    if (!t.present[id]) {
      t.present[id] = 1;
      t.values[id] = T();
    }
    return t.values[id];
  }

 private:
  struct Table {
    const Graph* graph;
    std::vector<T> values;
    std::vector<std::uint8_t> present;
  };

  Table& table(const Node* node) {
    const Graph* graph = &node->graph();
    for (Table& t : tables_)
      if (t.graph == graph) return t;
    tables_.push_back(Table{graph, {}, {}});
    Table& t = tables_.back();
    t.values.resize(graph->node_count());
    t.present.resize(graph->node_count(), 0);
    return t;
  }

  std::vector<Table> tables_;
};

/// Every node reachable from roots, each once, inputs before their users; like
/// topo_order() but with id-indexed bookkeeping.
std::vector<const Node*> reachable_nodes(const std::vector<Expr>& roots);

}  // namespace damo::detail
