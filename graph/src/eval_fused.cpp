// Kernels of the fused ops that carry a body: fused_elementwise and fused_reduction. The
// body is a scalar expression over Param nodes. It is evaluated node by node over whole
// tensors, with each param bound to its operand, and broadcasting does the rest.
#include <fmt/format.h>

#include <unordered_map>

#include "damo/graph/traversal.h"
#include "damo/runtime/stop.h"
#include "eval_internal.h"

namespace damo::eval {

namespace {

// The body of node applied to the operands, broadcast to their common shape.
Tensor evaluate_body(const Node& node, const std::vector<Tensor>& operands) {
  const Node* body = node.attrs().body;
  DAMO_ASSERT(body != nullptr, fmt::format("{} has no body", op_name(node.op())));

  std::unordered_map<const Node*, Tensor> values;
  const SymbolSizes no_sizes;
  for (const Node* n : topo_order(std::vector<const Node*>{body})) {
    if (n->op() == OpKind::Param) {
      auto index = static_cast<std::size_t>(n->attr(0));
      DAMO_ASSERT(index < operands.size() && operands[index].dtype() == n->dtype(),
                  "a param of a fused body does not match its operand");
      values[n] = operands[index];
      continue;
    }
    if (n->is_constant()) {
      values[n] = n->value();
      continue;
    }
    throw_if_stopped();
    std::vector<Tensor> in;
    for (const Node* input : n->inputs()) in.push_back(values.at(input));
    values[n] = eval_op(*n, in, no_sizes);
  }

  Dims dims;
  for (const Tensor& operand : operands) dims = broadcast_dims(dims, operand.shape(), node.op());
  // A bare param or constant still shares its storage; the copy that broadcasting makes
  // gives the result its own.
  const Tensor& result = values.at(body);
  bool owned = body->op() != OpKind::Param && !body->is_constant();
  if (owned && result.shape() == dims) return result;
  return broadcast_tensor(result, dims);
}

}  // namespace

Tensor eval_fused_elementwise(const Node& node, const std::vector<Tensor>& in) {
  Tensor result = evaluate_body(node, in);
  DAMO_ASSERT(result.dtype() == node.dtype(), "fused_elementwise: the body has another dtype");
  return result;
}

Tensor eval_fused_reduction(const Node& node, const std::vector<Tensor>& in) {
  Tensor values = evaluate_body(node, in);
  return eval_reduction(node.attrs().sub_op, values, node.attrs().ints, node.attrs().keepdims,
                        node.dtype());
}

}  // namespace damo::eval
