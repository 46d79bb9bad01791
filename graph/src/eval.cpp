// The reference evaluator's driver. evaluate() walks the graph in topological order and
// computes each node once from its inputs' values, releasing a value after its last user
// has run. evaluate_node() checks operand values and computes one node. The kernels live
// in eval_<family>.cpp.
#include "damo/graph/eval.h"

#include <fmt/format.h>

#include <unordered_map>

#include "damo/graph/traversal.h"
#include "damo/runtime/stop.h"
#include "eval_internal.h"

namespace damo {

namespace eval {

Tensor eval_op(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes) {
  OpKind op = node.op();
  const Attrs& attrs = node.attrs();
  switch (op_category(op)) {
  case OpCategory::Leaf: break;
  case OpCategory::Unary: return eval_unary(op, in[0], node.dtype());
  case OpCategory::Binary: return eval_binary(op, in[0], in[1], node.dtype());
  case OpCategory::Ternary: return eval_ternary(op, in[0], in[1], in[2], node.dtype());
  case OpCategory::Reduction:
    return eval_reduction(op, in[0], attrs.ints, attrs.keepdims, node.dtype());
  case OpCategory::LinearAlgebra: return eval_matmul(in[0], in[1]);
  case OpCategory::Layout: return eval_layout(node, in, sizes);
  case OpCategory::NeuralNet: return eval_nn(node, in);
  case OpCategory::Gradient: return eval_scatter(node, in, sizes);
  case OpCategory::Fused:
    if (op == OpKind::FusedMatMul) return eval_fused_matmul(node, in);
    if (op == OpKind::FusedElementwise) return eval_fused_elementwise(node, in);
    if (op == OpKind::FusedReduction) return eval_fused_reduction(node, in);
    if (op == OpKind::Param) fail_internal("eval_op", "a param evaluated outside a fused body");
    return eval_nn(node, in);
  }
  fail_internal("eval_op", fmt::format("leaf {} has no kernel", op_name(op)));
}

namespace {

// Checks that a kernel's result has the node's dtype and shape.
void check_result(const Node& node, const Tensor& value, const SymbolSizes& sizes) {
  DAMO_ASSERT(value.dtype() == node.dtype() && value.rank() == node.rank(),
              fmt::format("{} computed {} {} for a node of {} {}", op_name(node.op()),
                          dtype_name(value.dtype()), dims_to_string(value.shape()),
                          dtype_name(node.dtype()), node.shape().to_string()));
  for (int axis = 0; axis < node.rank(); ++axis) {
    const Dim& dim = node.shape()[axis];
    std::int64_t expected = dim.is_static() ? dim.size() : -1;
    if (dim.is_symbolic()) expected = symbol_size(sizes, dim.symbol()).value_or(-1);
    DAMO_ASSERT(expected < 0 || value.dim(axis) == expected,
                fmt::format("{} computed shape {} for a node of shape {}", op_name(node.op()),
                            dims_to_string(value.shape()), node.shape().to_string()));
  }
}

// The value of a leaf node: its feed, constant value, the shared variable's value or the
// size bound to its symbol.
Tensor leaf_value(const Node& node, const Feeds& feeds, const SymbolSizes* sizes) {
  switch (node.op()) {
  case OpKind::Input: return feeds.at(node.name());
  case OpKind::Constant: return node.value();
  case OpKind::Shared: return node.shared()->get_value();
  case OpKind::DimSize: {
    if (sizes == nullptr)
      throw UserError(fmt::format("dim_size({}): the size of '{}' is known only when a function "
                                  "runs, and this needs its value while the graph is built; pass "
                                  "a static size instead",
                                  node.name(), node.name()));
    std::optional<std::int64_t> size = symbol_size(*sizes, node.name());
    if (!size)
      throw UserError(fmt::format("dim_size({}): no input binds the symbolic dimension '{}'; "
                                  "feed an input that has it",
                                  node.name(), node.name()));
    return Tensor::scalar(DType::Int64, static_cast<double>(*size));
  }
  default: break;
  }
  fail_internal("leaf_value", fmt::format("{} is not a leaf", op_name(node.op())));
}

}  // namespace

}  // namespace eval

std::vector<Tensor> evaluate(const std::vector<Expr>& outputs, const Feeds& feeds) {
  std::vector<const Graph*> graphs;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined())
      throw UserError(fmt::format("evaluate: output {} is an undefined expression", i));
    graphs.push_back(&outputs[i].graph());
  }
  std::vector<const Node*> order = topo_order(outputs);
  eval::SymbolSizes sizes = eval::bind_feeds(order, feeds, graphs);

  // Remaining uses of each value; outputs hold one more use, so they are never released.
  std::unordered_map<const Node*, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  std::vector<std::size_t> uses(order.size(), 0);
  for (const Node* node : order)
    for (const Node* input : node->inputs()) ++uses[position.at(input)];
  for (const Expr& output : outputs) ++uses[position.at(output.node())];

  std::vector<Tensor> values(order.size());
  std::vector<Tensor> in;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Node& node = *order[i];
    if (node.is_leaf()) {
      values[i] = eval::leaf_value(node, feeds, &sizes);
      continue;
    }
    throw_if_stopped();
    in.clear();
    for (const Node* input : node.inputs()) in.push_back(values[position.at(input)]);
    values[i] = eval::eval_op(node, in, sizes);
    eval::check_result(node, values[i], sizes);
    in.clear();
    for (const Node* input : node.inputs()) {
      std::size_t p = position.at(input);
      if (--uses[p] == 0) values[p] = Tensor();
    }
  }

  // Kernels return new storage; leaf values share the caller's feeds or a node's constant,
  // so those are copied before the caller can modify them.
  std::vector<Tensor> results;
  for (const Expr& output : outputs) {
    const Tensor& value = values[position.at(output.node())];
    results.push_back(output->is_leaf() ? value.clone() : value);
  }
  return results;
}

Tensor evaluate(const Expr& output, const Feeds& feeds) {
  return evaluate(std::vector<Expr>{output}, feeds)[0];
}

Tensor evaluate_node(const Node& node, const std::vector<Tensor>& operands) {
  std::string name(op_name(node.op()));
  if (node.op() == OpKind::Input)
    throw UserError(
        fmt::format("evaluate_node: input '{}' has no value of its own; evaluate it "
                    "with evaluate() and a feed",
                    node.name()));
  if (node.is_leaf()) return eval::leaf_value(node, {}, nullptr).clone();
  if (operands.size() != node.input_count())
    throw UserError(fmt::format("evaluate_node: {} takes {} operands, got {}", name,
                                node.input_count(), operands.size()));

  eval::ShapeBinder binder;
  for (std::size_t i = 0; i < operands.size(); ++i)
    binder.bind(fmt::format("evaluate_node: operand {} of {}", i, name), *node.input(i),
                operands[i]);
  Tensor result = eval::eval_op(node, operands, binder.sizes());
  eval::check_result(node, result, binder.sizes());
  return result;
}

}  // namespace damo
