// Node: one immutable operation in a Graph. Graph::intern() creates nodes, so structurally
// equal nodes (same op, dtype, shape, inputs and attributes) are the same object, and
// pointer comparison is node equality.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "damo/graph/op_kind.h"
#include "damo/graph/shape.h"
#include "damo/runtime/shared_variable.h"
#include "damo/runtime/tensor.h"

namespace damo {

class Graph;
class Node;

/// Attributes of a node. Which fields an op uses:
/// - ints: reduction axes (sorted); Transpose permutation; ExpandDims and Squeeze axes;
///   {axis} for Concatenate, Take, TakeAlongAxis, IndexAdd, ScatterAddAlongAxis, Softmax,
///   LogSoftmax; {axis, start, stop, step} for Slice and SliceScatter; {depth} for
///   OneHot; {stream} for RandomUniform; {index} for Param; {transpose_a, transpose_b}
///   for FusedMatMul; reduction axes for FusedReduction.
/// - keepdims: reductions and FusedReduction.
/// - dtype: the target of Cast, the output dtype of OneHot and RandomUniform.
/// - sub_op: the activation of FusedMatMul (Param when there is none), the reduction of
///   FusedReduction.
/// - body: the scalar expression over Param nodes that FusedElementwise and
///   FusedReduction compute per element.
struct Attrs {
  std::vector<std::int64_t> ints;
  bool keepdims = false;
  DType dtype = DType::Float32;
  OpKind sub_op = OpKind::Param;
  const Node* body = nullptr;

  bool operator==(const Attrs& other) const = default;
};

/// Everything that identifies a node; Graph::intern() turns it into a Node.
struct NodeSpec {
  OpKind op = OpKind::Constant;
  DType dtype = DType::Float32;
  /// A literal whose dtype yields to a typed operand (see promotion.h).
  bool weak = false;
  Shape shape;
  std::vector<const Node*> inputs;
  Attrs attrs;
  std::string name;                        // Input: the input's name; DimSize: the symbol
  Tensor value;                            // Constant: the value, never modified
  std::shared_ptr<SharedVariable> shared;  // Shared: the variable

  bool operator==(const NodeSpec& other) const;
  std::size_t hash() const;
};

class Node {
 public:
  OpKind op() const { return spec_.op; }
  DType dtype() const { return spec_.dtype; }
  bool weak() const { return spec_.weak; }
  const Shape& shape() const { return spec_.shape; }
  int rank() const { return spec_.shape.rank(); }
  const std::vector<const Node*>& inputs() const { return spec_.inputs; }
  /// Operand i, for i < input_count(); throws UserError for another index.
  const Node* input(std::size_t i) const {
    if (i >= spec_.inputs.size()) fail_index("Node::input", i, spec_.inputs.size());
    return spec_.inputs[i];
  }
  std::size_t input_count() const { return spec_.inputs.size(); }
  const Attrs& attrs() const { return spec_.attrs; }
  /// Attribute ints[i]; see Attrs for its meaning per op. Throws UserError when the node
  /// has no ints[i].
  std::int64_t attr(std::size_t i) const {
    if (i >= spec_.attrs.ints.size()) fail_index("Node::attr", i, spec_.attrs.ints.size());
    return spec_.attrs.ints[i];
  }
  const std::string& name() const { return spec_.name; }
  const Tensor& value() const { return spec_.value; }
  const std::shared_ptr<SharedVariable>& shared() const { return spec_.shared; }
  const NodeSpec& spec() const { return spec_; }

  Graph& graph() const { return *graph_; }
  /// Creation order within the graph, starting at 0; stable for printing.
  std::uint64_t id() const { return id_; }
  std::size_t hash() const { return hash_; }

  bool is_leaf() const { return op_category(spec_.op) == OpCategory::Leaf; }
  bool is_constant() const { return spec_.op == OpKind::Constant; }
  /// True for a constant whose elements all equal value (compared as double).
  bool is_constant_value(double value) const;

 private:
  friend class Graph;
  Node(Graph* graph, std::uint64_t id, NodeSpec spec, std::size_t hash)
      : spec_(std::move(spec)), graph_(graph), id_(id), hash_(hash) {}
  /// Throws UserError: index is not below count in accessor.
  [[noreturn]] void fail_index(const char* accessor, std::size_t index, std::size_t count) const;

  NodeSpec spec_;
  Graph* graph_;
  std::uint64_t id_;
  std::size_t hash_;
};

}  // namespace damo
