// The graph verifier, which the pipeline runs after passes to catch a rewrite that broke an
// invariant of the graph.
#pragma once

#include <string>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Checks every node below roots and every node of every fused body. Rebuilding a node
/// over its own inputs through its op factory must yield the node itself, so its dtype,
/// shape and attributes are consistent. Params may appear only inside fused bodies, and a
/// fused body must be a scalar expression of elementwise ops over params and scalar
/// constants. Throws InternalError naming after_pass and the first broken node, or an
/// undefined root.
void verify_graph(const std::vector<Expr>& roots, const std::string& after_pass);

}  // namespace damo
