// Matching and instantiation of rule patterns, and the compilation of rule tables into
// rewrite rules.
#include "pattern.h"

#include <fmt/format.h>

namespace damo::pattern {

namespace {

// Constants above this many elements are not scanned by constant patterns; merge_constants
// turns uniform constants into broadcast scalars, which are always scanned.
constexpr std::int64_t kMaxScannedElements = 4096;

// The constant below a chain of broadcasts, or null.
const Node* constant_below_broadcasts(const Node* node) {
  while (node->op() == OpKind::BroadcastTo) node = node->input(0);
  return node->is_constant() ? node : nullptr;
}

bool every_element(const Node& constant, const ElementTest& test) {
  const Tensor& value = constant.value();
  if (value.numel() == 0 || value.numel() > kMaxScannedElements) return false;
  for (std::int64_t i = 0; i < value.numel(); ++i)
    if (!test(value.get_double(i))) return false;
  return true;
}

}  // namespace

bool match(const Pattern& pattern, const Node* node, Match& match) {
  switch (pattern.kind) {
  case Pattern::Kind::Var: {
    const Node*& bound = match.slot(pattern.var);
    if (bound != nullptr) return bound == node;
    bound = node;
    return true;
  }
  case Pattern::Kind::Constant: {
    const Node* constant = constant_below_broadcasts(node);
    return constant != nullptr && every_element(*constant, pattern.test);
  }
  case Pattern::Kind::Op: {
    if (node->op() != pattern.op || node->input_count() != pattern.operands.size()) return false;
    if (pattern.var >= 0) {
      const Node*& bound = match.slot(pattern.var);
      if (bound != nullptr && bound != node) return false;
      bound = node;
    }
    for (std::size_t i = 0; i < pattern.operands.size(); ++i)
      if (!pattern::match(pattern.operands[i], node->input(i), match)) return false;
    return true;
  }
  case Pattern::Kind::Build: break;
  }
  return false;
}

Expr instantiate(const Pattern& pattern, const Match& match, const Node& root) {
  switch (pattern.kind) {
  case Pattern::Kind::Var: return match.expr(Var{pattern.var});
  case Pattern::Kind::Constant: {
    Tensor value = Tensor::scalar(root.dtype(), pattern.value);
    return root.weak() ? root.graph().weak_constant(value) : root.graph().constant(value);
  }
  case Pattern::Kind::Build: return pattern.build(match, root);
  case Pattern::Kind::Op: break;
  }
  std::vector<Expr> in;
  for (const Pattern& operand : pattern.operands) {
    in.push_back(instantiate(operand, match, root));
    if (!in.back().defined()) return Expr();
  }
  try {
    switch (op_category(pattern.op)) {
    case OpCategory::Unary: return unary(pattern.op, in.at(0));
    case OpCategory::Binary: return binary(pattern.op, in.at(0), in.at(1));
    case OpCategory::Ternary:
      if (pattern.op == OpKind::Where) return where(in.at(0), in.at(1), in.at(2));
      return clip(in.at(0), in.at(1), in.at(2));
    default: break;
    }
  } catch (const UserError&) {
    return Expr();
  }
  fail_internal("instantiate",
                fmt::format("a template uses {}; write it with build()", op_name(pattern.op)));
}

std::vector<RewriteRule> compile_rules(const std::vector<Rule>& table) {
  std::vector<RewriteRule> rules;
  for (const Rule& rule : table) {
    DAMO_ASSERT(rule.pattern.kind == Pattern::Kind::Op,
                fmt::format("rule {} must match an op at its root", rule.name));
    auto apply = [rule](const Node& node, const RuleContext&) -> Expr {
      Match bound;
      if (!match(rule.pattern, &node, bound)) return Expr();
      if (rule.condition && !rule.condition(bound, node)) return Expr();
      return fit_like(instantiate(rule.replacement, bound, node), node);
    };
    rules.push_back(RewriteRule{rule.name, rule.pattern.op, std::move(apply)});
  }
  return rules;
}

Pattern op(OpKind kind, std::vector<Pattern> operands) {
  Pattern p(Pattern::Kind::Op);
  p.op = kind;
  p.operands = std::move(operands);
  return p;
}

Pattern bind(Var v, Pattern pattern) {
  DAMO_ASSERT(pattern.kind == Pattern::Kind::Op, "bind() takes an op pattern");
  pattern.var = v.index;
  return pattern;
}

Pattern constant_where(ElementTest test, double value) {
  Pattern p(Pattern::Kind::Constant);
  p.test = std::move(test);
  p.value = value;
  return p;
}

Pattern constant(double value) {
  return constant_where([value](double v) { return v == value; }, value);
}

Pattern build(Builder builder) {
  Pattern p(Pattern::Kind::Build);
  p.build = std::move(builder);
  return p;
}

}  // namespace damo::pattern
