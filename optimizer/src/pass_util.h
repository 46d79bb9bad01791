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

/// The value shared by every element of a constant with 1 to max_elements elements;
/// nullopt when the elements differ (bitwise, so -0 differs from +0) or there are too many.
std::optional<double> uniform_value(const Node& constant, std::int64_t max_elements = 65536);

/// True when axis is the last axis of node's first operand.
bool is_last_axis(const Node& node, std::int64_t axis);

/// The other operand of a binary node when operand `one` is `known`, trying both orders;
/// null when neither operand is known.
const Node* other_operand(const Node& binary, const Node* known);

}  // namespace damo::detail
