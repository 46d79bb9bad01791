// A small language for writing rewrite rules one per line: a name, a pattern over the
// node and its operands, a replacement built from what the pattern bound, and an optional
// condition. Rule tables such as simplify_rules.cpp are written in it:
//
//     {"mul_one", mul(x, one), x},
//     {"pow_half", pow(x, half), sqrt(x), never_negative_zero_or_minus_infinity(x)},
//
// A pattern variable (x, y, z, w) binds a node; used twice it must bind the same node. A
// constant pattern (one, zero, ...) matches a constant, or a broadcast of one, whose every
// element passes a test. Ops match operands in the order given, so rules count on the
// canonical order that the canonicalize pass establishes (constants last).
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "damo/graph/ops.h"
#include "damo/optimizer/rewriter.h"

namespace damo::pattern {

struct Var {
  int index;
};

inline constexpr int kMaxVars = 4;

/// The nodes that a successful match bound, by variable.
class Match {
 public:
  const Node* operator[](Var v) const { return nodes_[static_cast<std::size_t>(v.index)]; }
  Expr expr(Var v) const { return Expr((*this)[v]); }
  const Node*& slot(int index) { return nodes_[static_cast<std::size_t>(index)]; }

 private:
  std::array<const Node*, kMaxVars> nodes_{};
};

/// A test that every element of a constant must pass, on its value as a double.
using ElementTest = std::function<bool(double)>;
/// Builds a replacement from a match and the node being replaced.
using Builder = std::function<Expr(const Match& match, const Node& root)>;
/// A rule's extra condition on the match.
using Condition = std::function<bool(const Match& match, const Node& root)>;

/// A pattern to match, or a template to build a replacement from.
struct Pattern {
  enum class Kind { Var, Op, Constant, Build };
  Kind kind = Kind::Var;
  int var = -1;
  OpKind op = OpKind::Param;
  std::vector<Pattern> operands;
  ElementTest test;  // Constant: what every element must satisfy when matching
  double value = 0;  // Constant: the value a template builds, in the root's dtype
  Builder build;     // Build: how a template builds its replacement

  Pattern(Var v) : kind(Kind::Var), var(v.index) {}  // NOLINT: variables read as patterns
  Pattern(Kind k) : kind(k) {}
};

/// One rule of a table.
struct Rule {
  const char* name;
  Pattern pattern;
  Pattern replacement;
  Condition condition = nullptr;
};

/// Matches pattern against node, binding variables in match.
bool match(const Pattern& pattern, const Node* node, Match& match);

/// Builds template for root from match; undefined when a factory rejects the operands.
Expr instantiate(const Pattern& pattern, const Match& match, const Node& root);

/// Turns each rule of a table into a RewriteRule that matches, checks the condition,
/// builds the replacement and fits it to the node (see fit_like()).
std::vector<RewriteRule> compile_rules(const std::vector<Rule>& table);

// Variables.
inline constexpr Var x{0};
inline constexpr Var y{1};
inline constexpr Var z{2};
inline constexpr Var w{3};

// Patterns of ops; the same builders write replacement templates for elementwise ops.
Pattern op(OpKind op, std::vector<Pattern> operands);
/// A pattern that matches op and binds the node to v.
Pattern bind(Var v, Pattern pattern);
/// A constant whose elements pass test; value is what a template of it builds.
Pattern constant_where(ElementTest test, double value);
/// A constant whose elements all equal value (an exact comparison, so -0 equals +0).
Pattern constant(double value);
/// A replacement built by a function.
Pattern build(Builder builder);

inline Pattern neg(Pattern a) { return op(OpKind::Neg, {std::move(a)}); }
inline Pattern abs(Pattern a) { return op(OpKind::Abs, {std::move(a)}); }
inline Pattern sign(Pattern a) { return op(OpKind::Sign, {std::move(a)}); }
inline Pattern sqrt(Pattern a) { return op(OpKind::Sqrt, {std::move(a)}); }
inline Pattern square(Pattern a) { return op(OpKind::Square, {std::move(a)}); }
inline Pattern reciprocal(Pattern a) { return op(OpKind::Reciprocal, {std::move(a)}); }
inline Pattern relu(Pattern a) { return op(OpKind::Relu, {std::move(a)}); }
inline Pattern floor(Pattern a) { return op(OpKind::Floor, {std::move(a)}); }
inline Pattern ceil(Pattern a) { return op(OpKind::Ceil, {std::move(a)}); }
inline Pattern round(Pattern a) { return op(OpKind::Round, {std::move(a)}); }
inline Pattern logical_not(Pattern a) { return op(OpKind::Not, {std::move(a)}); }
inline Pattern add(Pattern a, Pattern b) { return op(OpKind::Add, {std::move(a), std::move(b)}); }
inline Pattern sub(Pattern a, Pattern b) { return op(OpKind::Sub, {std::move(a), std::move(b)}); }
inline Pattern mul(Pattern a, Pattern b) { return op(OpKind::Mul, {std::move(a), std::move(b)}); }
inline Pattern div(Pattern a, Pattern b) { return op(OpKind::Div, {std::move(a), std::move(b)}); }
inline Pattern mod(Pattern a, Pattern b) { return op(OpKind::Mod, {std::move(a), std::move(b)}); }
inline Pattern floor_div(Pattern a, Pattern b) {
  return op(OpKind::FloorDiv, {std::move(a), std::move(b)});
}
inline Pattern pow(Pattern a, Pattern b) { return op(OpKind::Pow, {std::move(a), std::move(b)}); }
inline Pattern maximum(Pattern a, Pattern b) {
  return op(OpKind::Maximum, {std::move(a), std::move(b)});
}
inline Pattern minimum(Pattern a, Pattern b) {
  return op(OpKind::Minimum, {std::move(a), std::move(b)});
}
inline Pattern logical_and(Pattern a, Pattern b) {
  return op(OpKind::And, {std::move(a), std::move(b)});
}
inline Pattern logical_or(Pattern a, Pattern b) {
  return op(OpKind::Or, {std::move(a), std::move(b)});
}
inline Pattern where(Pattern c, Pattern a, Pattern b) {
  return op(OpKind::Where, {std::move(c), std::move(a), std::move(b)});
}

}  // namespace damo::pattern
