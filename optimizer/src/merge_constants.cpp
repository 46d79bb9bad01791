// Merging of constants that differ only in weakness or in being broadcast.
#include "damo/optimizer/merge_constants.h"

#include <cstring>

#include "damo/graph/ops.h"
#include "pass_util.h"

namespace damo {

namespace {

// True when every element of an integer tensor has the bytes of the first. uniform_value()
// compares as double, which cannot tell int64 values above 2^53 apart.
bool integers_uniform(const Tensor& value) {
  if (!is_integer(value.dtype())) return true;
  std::size_t size = dtype_size(value.dtype());
  const auto* bytes = static_cast<const unsigned char*>(value.raw_data());
  for (std::int64_t i = 1; i < value.numel(); ++i)
    if (std::memcmp(bytes, bytes + static_cast<std::size_t>(i) * size, size) != 0) return false;
  return true;
}

// The typed, broadcast-scalar form of a constant; the constant itself when it has one.
Expr canonical_constant(const Node& constant, std::int64_t max_scanned) {
  Graph& graph = constant.graph();
  if (detail::uniform_value(constant, max_scanned) && integers_uniform(constant.value())) {
    // The scalar copies the first element's bytes, so no value passes through double.
    Tensor scalar = Tensor::empty(constant.dtype(), {});
    std::memcpy(scalar.raw_data(), constant.value().raw_data(), dtype_size(constant.dtype()));
    return broadcast_to(graph.constant(scalar), constant.shape());
  }
  if (!constant.weak()) return Expr(&constant);
  return graph.constant(constant.value());
}

// node over canonical constant operands, when that keeps node's dtype, shape and weakness.
Expr merge_operands(const Node& node, std::int64_t max_scanned) {
  bool changed = false;
  std::vector<Expr> inputs;
  for (const Node* input : node.inputs()) {
    Expr canonical = input->is_constant() ? canonical_constant(*input, max_scanned) : Expr(input);
    changed = changed || canonical.node() != input;
    inputs.push_back(canonical);
  }
  if (!changed) return Expr();
  Expr merged;
  try {
    merged = rebuild(node, inputs);
  } catch (const UserError&) {
    return Expr();
  }
  bool same_type = merged.dtype() == node.dtype() && merged.shape() == node.shape() &&
                   merged->weak() == node.weak();
  return same_type ? merged : Expr();
}

}  // namespace

MergeConstants::MergeConstants(MergeConstantsOptions options)
    : rewriter_("merge_constants",
                {{"canonical_constant_operands", std::nullopt,
                  [max = options.max_scanned_elements](const Node& node, const RuleContext&) {
                    return merge_operands(node, max);
                  }}},
                options.limits) {}

bool MergeConstants::run(GraphState& graph) const { return detail::run_rewriter(rewriter_, graph); }

}  // namespace damo
