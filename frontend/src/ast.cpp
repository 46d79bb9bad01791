// Operator spellings and the S-expression form of the syntax tree.
#include "damo/frontend/ast.h"

#include <fmt/format.h>

#include <cmath>

namespace damo::ast {

std::string_view operator_text(UnaryOp op) { return op == UnaryOp::Neg ? "-" : "not"; }

std::string_view operator_text(BinaryOp op) {
  switch (op) {
  case BinaryOp::Or: return "or";
  case BinaryOp::And: return "and";
  case BinaryOp::Equal: return "==";
  case BinaryOp::NotEqual: return "!=";
  case BinaryOp::Less: return "<";
  case BinaryOp::LessEqual: return "<=";
  case BinaryOp::Greater: return ">";
  case BinaryOp::GreaterEqual: return ">=";
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::FloorDiv: return "//";
  case BinaryOp::Mod: return "%";
  case BinaryOp::MatMul: return "@";
  case BinaryOp::Pow: return "**";
  }
  return "?";
}

namespace {

std::string format_real(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return fmt::format("{}", value);
}

// S-expression of an optional child, or "_" when it is absent.
std::string optional_sexpr(const ExprPtr& expr) { return expr ? to_sexpr(*expr) : "_"; }

struct SexprPrinter {
  std::string operator()(const Number& n) const {
    return n.is_integer ? fmt::format("(int {})", n.integer)
                        : fmt::format("(float {})", format_real(n.real));
  }
  std::string operator()(const Bool& b) const { return b.value ? "(bool true)" : "(bool false)"; }
  std::string operator()(const String& s) const { return fmt::format("(string \"{}\")", s.value); }
  std::string operator()(const Name& n) const { return fmt::format("(name {})", n.name); }

  std::string operator()(const List& list) const {
    std::string out = list.is_map ? "(map" : "(list";
    for (const ListItem& item : list.items) {
      if (item.key)
        out += fmt::format(" ({} {})", to_sexpr(*item.key), to_sexpr(*item.value));
      else
        out += fmt::format(" {}", to_sexpr(*item.value));
    }
    return out + ")";
  }

  std::string operator()(const Unary& u) const {
    return fmt::format("({} {})", operator_text(u.op), to_sexpr(*u.operand));
  }
  std::string operator()(const Binary& b) const {
    return fmt::format("({} {} {})", operator_text(b.op), to_sexpr(*b.lhs), to_sexpr(*b.rhs));
  }

  std::string operator()(const Call& call) const {
    std::string out = fmt::format("(call {}", to_sexpr(*call.callee));
    for (const Argument& argument : call.arguments) {
      if (argument.keyword.empty())
        out += fmt::format(" {}", to_sexpr(*argument.value));
      else
        out += fmt::format(" (kw {} {})", argument.keyword, to_sexpr(*argument.value));
    }
    return out + ")";
  }

  std::string operator()(const Param& p) const { return fmt::format("(param {})", p.index); }

  std::string operator()(const Fused& f) const {
    std::string out = fmt::format("({} {}", f.name, to_sexpr(*f.body));
    for (const Argument& argument : f.arguments) {
      if (argument.keyword.empty())
        out += fmt::format(" {}", to_sexpr(*argument.value));
      else
        out += fmt::format(" (kw {} {})", argument.keyword, to_sexpr(*argument.value));
    }
    return out + ")";
  }

  std::string operator()(const Index& index) const {
    std::string out = fmt::format("(index {}", to_sexpr(*index.target));
    for (const Subscript& s : index.subscripts) {
      if (s.is_ellipsis)
        out += " ...";
      else if (s.is_slice)
        out += fmt::format(" (slice {} {} {})", optional_sexpr(s.start), optional_sexpr(s.stop),
                           optional_sexpr(s.step));
      else
        out += fmt::format(" {}", to_sexpr(*s.index));
    }
    return out + ")";
  }
};

}  // namespace

std::string to_sexpr(const Expr& expr) { return std::visit(SexprPrinter{}, expr.node); }

std::string to_sexpr(const Statement& statement) {
  if (const auto* assign = std::get_if<Assign>(&statement.node))
    return fmt::format("(assign {} {})", assign->name, to_sexpr(*assign->value));
  if (const auto* command = std::get_if<Command>(&statement.node))
    return fmt::format("(command {})", command->name);
  return to_sexpr(*std::get<ExprStatement>(statement.node).expr);
}

}  // namespace damo::ast
