// The reference evaluator: computes any graph on concrete tensors, op by op, exactly as
// each op is specified, in each node's own dtype. It is the oracle that compiled code is
// tested against and what constant folding uses.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Values of symbolic inputs by input name.
using Feeds = std::unordered_map<std::string, Tensor>;

/// Evaluates outputs. Every input reachable from them needs a feed of its dtype and a
/// shape that matches its declared shape, each symbolic dimension taking one size across
/// all inputs; otherwise UserError names the input. A feed of an input that the outputs
/// do not read is checked the same way and binds its symbolic sizes too. A feed that names
/// no input of the graph is a UserError. Shared variables read their current values. The results
/// never share storage with feeds or constants. docs/ops.md defines what each op computes.
std::vector<Tensor> evaluate(const std::vector<Expr>& outputs, const Feeds& feeds = {});
Tensor evaluate(const Expr& output, const Feeds& feeds = {});

/// Applies the op of node to concrete operand values, one per input of node. The operands
/// are checked like feeds, and symbolic sizes are taken from them, so a node whose shape
/// uses a symbol that no operand has (possible for broadcast_to) throws UserError. A
/// constant or shared node returns a copy of its value.
Tensor evaluate_node(const Node& node, const std::vector<Tensor>& operands);

}  // namespace damo
