// The bottom-up rewriter that every rule-based pass uses.
//
// It visits each node after its inputs, rebuilds the node when an input was replaced, and
// then applies local rules at the node until none fires. A replacement is itself rewritten
// the same way before it takes the node's place, so rules see only rewritten operands. The
// walk keeps an explicit stack, so graphs 100,000 nodes deep do not overflow the call
// stack, and a work budget bounds the number of rules that fire, so no set of rules can
// make the rewriter run forever.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Bounds on the work of one rewrite run.
struct RewriteLimits {
  /// Rules that may fire in a chain at one node before its current form is kept.
  int max_rewrites_per_node = 32;
  /// Rules that may fire in one run, per node of the graphs the roots belong to (reachable
  /// or not); at least 1,000 in all.
  std::size_t max_rewrites_per_graph_node = 8;
};

/// Facts about the graph that a rule can query besides the node it looks at.
class RuleContext {
 public:
  /// Number of uses of node: its consumers' operand slots plus one per root it is. For a
  /// node that replaced others it sums their uses; a node that a rule created counts 1.
  /// Available to rules that set RewriteRule::needs_use_counts.
  std::size_t use_count(const Node* node) const { return counter_(node); }

 private:
  friend class Rewriter;
  std::function<std::size_t(const Node*)> counter_;
};

/// A local rule: returns the replacement of node, or an undefined Expr when it does not
/// apply. The replacement must have node's dtype, shape and weakness (see fit_like()).
using RuleFunction = std::function<Expr(const Node& node, const RuleContext& context)>;

struct RewriteRule {
  /// Printed at log level 3 each time the rule fires.
  std::string name;
  /// The op of the nodes the rule looks at; nullopt means every non-leaf node.
  std::optional<OpKind> op;
  RuleFunction apply;
  /// The rule calls RuleContext::use_count(), so the rewriter counts uses first.
  bool needs_use_counts = false;
};

struct RewriteResult {
  std::vector<Expr> roots;
  std::size_t rewrites = 0;
  bool changed = false;
  /// True when the work budget ran out and some nodes were kept as they were.
  bool budget_exhausted = false;
};

/// Applies a fixed set of rules bottom-up; pass_name prefixes its log lines.
class Rewriter {
 public:
  Rewriter(std::string pass_name, std::vector<RewriteRule> rules, RewriteLimits limits = {});

  RewriteResult run(const std::vector<Expr>& roots) const;

 private:
  class Run;

  std::string pass_name_;
  std::vector<RewriteRule> rules_;
  std::vector<std::vector<const RewriteRule*>> rules_by_op_;
  std::vector<const RewriteRule*> rules_for_any_op_;
  RewriteLimits limits_;
  bool needs_use_counts_ = false;
};

/// Adapts value to stand in for node. It is returned as is when dtype, shape and weakness
/// match, and broadcast when only its shape is smaller. A constant is re-created with
/// node's weakness. The result is undefined when none of that works.
Expr fit_like(Expr value, const Node& node);

}  // namespace damo
