// Graph walks shared by the evaluator, autodiff, the printers and the optimizer.
#pragma once

#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Every node reachable from roots, each once, inputs before their users. Fused bodies are
/// not entered. Iterative, so deep graphs do not overflow the stack.
std::vector<const Node*> topo_order(const std::vector<const Node*>& roots);
std::vector<const Node*> topo_order(const std::vector<Expr>& roots);

}  // namespace damo
