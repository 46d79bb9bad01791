// Graph: owns and interns the nodes of one or more expressions.
//
// Every node belongs to one graph and lives as long as it. Creating a node that equals an
// existing one returns the existing node. Node creation is safe from several threads.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "damo/graph/node.h"

namespace damo {

class Expr;

namespace detail {
/// The state that outlives a Graph while a GraphUse refers to it: whether the graph still
/// exists, and the lock that its destructor takes to wait for every GraphUse to end.
struct GraphLifetime {
  std::shared_mutex mutex;
  bool alive = true;
};
}  // namespace detail

/// A hold on a Graph: while one exists, the Graph's destructor waits for it to end, so the
/// nodes it reads stay valid. Get one from Graph::use() or Graph::try_use(). A thread that
/// destroys the Graph while it owns a use of it would wait forever.
class GraphUse {
 public:
  explicit GraphUse(std::shared_ptr<detail::GraphLifetime> lifetime)
      : lifetime_(std::move(lifetime)), lock_(lifetime_->mutex) {}

 private:
  std::shared_ptr<detail::GraphLifetime> lifetime_;
  std::shared_lock<std::shared_mutex> lock_;
};

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// A symbolic input. Declaring the same name again with the same dtype and shape returns
  /// the same input; with another dtype or shape it throws UserError.
  Expr input(const std::string& name, DType dtype, const Shape& shape);
  /// A constant holding a copy of value.
  Expr constant(const Tensor& value);
  /// A scalar constant of the given dtype.
  Expr scalar(double value, DType dtype);
  /// A weak scalar literal: float64 (or int64 when integral and is_integer) that takes
  /// the dtype of the typed operand it meets. See promotion.h.
  Expr literal(double value, bool is_integer = false);
  /// A weak constant tensor: like literal(), but of any shape.
  Expr weak_constant(const Tensor& value);
  /// A new shared variable holding a copy of initial; throws UserError when the name is taken.
  Expr shared(const std::string& name, const Tensor& initial);
  /// The node of an existing shared variable (the same node for the same variable).
  Expr shared(const std::shared_ptr<SharedVariable>& variable);
  /// The shared variable with that name, or nullptr.
  std::shared_ptr<SharedVariable> find_shared(const std::string& name) const;
  /// The input node with that name, or nullptr.
  const Node* find_input(const std::string& name) const;

  /// Returns the node equal to spec, creating it if needed. Only op factories call this:
  /// they check operands and infer dtype and shape first.
  const Node* intern(NodeSpec spec);

  std::size_t node_count() const;

  /// A token that expires when this Graph is destroyed. Objects that keep Exprs of the
  /// graph, such as compiled functions, check it before they read a node.
  std::weak_ptr<const void> lifetime() const { return lifetime_; }
  /// A hold that keeps this Graph from being destroyed while it exists.
  GraphUse use() const { return GraphUse(lifetime_); }
  /// A hold on the Graph behind a token from lifetime(), or nullopt when that Graph is
  /// destroyed or being destroyed.
  static std::optional<GraphUse> try_use(const std::weak_ptr<const void>& lifetime);

 private:
  std::shared_ptr<detail::GraphLifetime> lifetime_ = std::make_shared<detail::GraphLifetime>();
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Node>> nodes_;
  std::unordered_multimap<std::size_t, const Node*> table_;
  std::unordered_map<std::string, const Node*> inputs_by_name_;
  std::unordered_map<std::string, std::shared_ptr<SharedVariable>> shared_by_name_;
};

}  // namespace damo
