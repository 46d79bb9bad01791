// Text forms of a graph: infix expressions, an indented dump and Graphviz DOT.
#pragma once

#include <string>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Infix text with the fewest parentheses that keep the meaning, such as
/// "sigmoid(x @ W1 + b1)". Shared subexpressions are printed in full at each use.
std::string to_infix(const Expr& e);

/// Indented dump, one node a line with its id, op, dtype and shape; a subtree used more
/// than once is printed once and referred to by id afterwards.
std::string dump(const std::vector<Expr>& roots);

/// Graphviz DOT text of the graph below roots.
std::string to_dot(const std::vector<Expr>& roots);

}  // namespace damo
