// The graph verifier, which the pipeline runs after passes to catch a rewrite that broke an
// invariant of the graph.
#pragma once

#include <string>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Checks every node below roots and every node of every fused body: rebuilding a node
/// over its own inputs through its op factory yields the node itself (so its dtype, shape
/// and attributes are consistent), params appear only inside fused bodies, a fused body is
/// a scalar expression of elementwise ops over params and scalar constants, and the roots
/// are defined. Throws InternalError naming after_pass and the first broken node.
void verify_graph(const std::vector<Expr>& roots, const std::string& after_pass);

}  // namespace damo
