// Helpers shared by the pass implementations.
#pragma once

#include <optional>

#include "damo/optimizer/pass.h"
#include "damo/optimizer/rewriter.h"

namespace damo::detail {

/// Runs rewriter on graph's roots and stores the new roots; returns whether they changed.
bool run_rewriter(const Rewriter& rewriter, GraphState& graph);

/// The constant at the bottom of a chain of broadcast_to nodes starting at node, or null.
const Node* constant_below_broadcasts(const Node* node);

/// Returns the value of every element of a constant with 1 to max_elements elements. It is
/// nullopt when there are too many elements or they differ bitwise, so -0 differs from +0.
std::optional<double> uniform_value(const Node& constant, std::int64_t max_elements = 65536);

/// Returns the operand of binary that is not known, whichever position known has; null
/// when neither operand is known.
const Node* other_operand(const Node& binary, const Node* known);

}  // namespace damo::detail
