// The simplify pass: the exact rule table, plus the fast-math table when asked.
#include "damo/optimizer/simplify.h"

#include "pass_util.h"
#include "simplify_rules.h"

namespace damo {

namespace {

std::vector<RewriteRule> simplify_rules(bool fast_math) {
  std::vector<RewriteRule> rules = pattern::compile_rules(detail::exact_simplify_rules());
  if (!fast_math) return rules;
  for (RewriteRule& rule : pattern::compile_rules(detail::fast_math_simplify_rules()))
    rules.push_back(std::move(rule));
  return rules;
}

}  // namespace

Simplify::Simplify(SimplifyOptions options)
    : rewriter_("simplify", simplify_rules(options.fast_math), options.limits) {}

bool Simplify::run(GraphState& graph) const { return detail::run_rewriter(rewriter_, graph); }

}  // namespace damo
