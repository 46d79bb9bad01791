// verify_graph(): re-derives every node through its op factory and checks the rules for
// params and fused bodies.
#include "damo/optimizer/verifier.h"

#include <fmt/format.h>

#include <unordered_set>

#include "damo/graph/ops.h"
#include "damo/graph/traversal.h"

namespace damo {

namespace {

[[noreturn]] void fail(const std::string& after_pass, const Node& node, const std::string& why) {
  fail_internal("verify_graph", fmt::format("after pass {}: node %{} ({} {} {}) {}", after_pass,
                                            node.id(), op_name(node.op()), dtype_name(node.dtype()),
                                            node.shape().to_string(), why));
}

// Rebuilding through the factory must give back the same interned node.
void check_rebuild(const Node& node, const std::string& after_pass) {
  std::vector<Expr> inputs(node.inputs().begin(), node.inputs().end());
  Expr again;
  try {
    again = rebuild(node, inputs);
  } catch (const Error& e) {
    fail(after_pass, node, std::string("cannot be rebuilt from its inputs: ") + e.what());
  }
  if (again.node() != &node)
    fail(after_pass, node,
         fmt::format("differs from its factory's result over the same inputs, {} {} {}",
                     op_name(again->op()), dtype_name(again.dtype()), again.shape().to_string()));
}

void check_body(const Node& fused, const std::string& after_pass) {
  const Node* body = fused.attrs().body;
  if (body == nullptr) fail(after_pass, fused, "has no body");
  if (body->rank() != 0) fail(after_pass, fused, "has a body that is not a scalar expression");
  for (const Node* n : topo_order(std::vector<const Node*>{body})) {
    if (n->op() == OpKind::Param) {
      auto index = static_cast<std::size_t>(n->attr(0));
      if (index >= fused.input_count() || fused.input(index)->dtype() != n->dtype())
        fail(after_pass, fused, fmt::format("has param {} that matches no operand", index));
      continue;
    }
    if (n->is_constant()) {
      if (n->rank() != 0) fail(after_pass, fused, "has a body with a non-scalar constant");
      continue;
    }
    if (!is_elementwise(n->op()) || n->is_leaf())
      fail(after_pass, fused, fmt::format("has {} in its body", op_name(n->op())));
    check_rebuild(*n, after_pass);
  }
}

}  // namespace

void verify_graph(const std::vector<Expr>& roots, const std::string& after_pass) {
  for (std::size_t i = 0; i < roots.size(); ++i)
    if (!roots[i].defined())
      fail_internal("verify_graph",
                    fmt::format("after pass {}: root {} is undefined", after_pass, i));
  for (const Node* node : topo_order(roots)) {
    if (node->op() == OpKind::Param) fail(after_pass, *node, "is a param outside a fused body");
    if (node->is_leaf()) continue;
    check_rebuild(*node, after_pass);
    if (node->op() == OpKind::FusedElementwise || node->op() == OpKind::FusedReduction)
      check_body(*node, after_pass);
  }
}

}  // namespace damo
