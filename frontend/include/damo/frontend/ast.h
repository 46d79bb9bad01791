// The syntax tree of Damo's expression language. Every node records the byte offset where
// it starts in its SourceFile, so that the interpreter can locate its errors, and its
// height, which the parser bounds so that no later recursion over the tree can overflow the
// stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace damo::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class UnaryOp { Neg, Not };

enum class BinaryOp {
  Or,
  And,
  Equal,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Add,
  Sub,
  Mul,
  Div,
  FloorDiv,
  Mod,
  MatMul,
  Pow,
};

/// Source spelling of an operator: "+", "//", "and".
std::string_view operator_text(UnaryOp op);
std::string_view operator_text(BinaryOp op);

/// An integer or float literal, including nan and inf; a minus sign written directly
/// before a number is part of the literal.
struct Number {
  bool is_integer = true;
  std::int64_t integer = 0;
  double real = 0;  // the value of a float literal
};

struct Bool {
  bool value = false;
};

struct String {
  std::string value;
};

struct Name {
  std::string name;
};

/// One item of a list literal: a value, or key: value in an update map.
struct ListItem {
  ExprPtr key;  // null in a plain list
  ExprPtr value;
};

/// [a, b, ...] or, when every item has a key, the map [W: expr, b: expr].
struct List {
  std::vector<ListItem> items;
  bool is_map = false;
};

struct Unary {
  UnaryOp op;
  ExprPtr operand;
};

struct Binary {
  BinaryOp op;
  std::size_t operator_offset = 0;
  ExprPtr lhs;
  ExprPtr rhs;
};

/// An argument of a call; keyword is empty for a positional one.
struct Argument {
  std::string keyword;
  std::size_t offset = 0;  // of the keyword, or of the value when positional
  ExprPtr value;
};

struct Call {
  ExprPtr callee;
  std::vector<Argument> arguments;
};

/// One subscript of an index expression: x[i] or x[start:stop:step] with optional parts, or
/// ... for the axes that the other subscripts leave out.
struct Subscript {
  bool is_slice = false;
  bool is_ellipsis = false;
  std::size_t offset = 0;
  ExprPtr index;  // when !is_slice
  ExprPtr start;
  ExprPtr stop;
  ExprPtr step;
};

struct Index {
  ExprPtr target;
  std::vector<Subscript> subscripts;
};

/// $i: operand i of the enclosing fused body.
struct Param {
  std::int64_t index = 0;
};

/// A fused op as to_infix() prints it: fused{body}(operands) for an elementwise body, and
/// fused_sum{body}(operands, axis=[1]) (or _max, _min, _prod) for a fused reduction.
struct Fused {
  std::string name;  // "fused" or "fused_sum", ...
  ExprPtr body;
  std::vector<Argument> arguments;
};

struct Expr {
  std::size_t offset = 0;
  /// 1 for a leaf, else 1 + the largest height of a child.
  int height = 1;
  std::variant<Number, Bool, String, Name, List, Unary, Binary, Call, Index, Param, Fused> node;
};

/// name = value
struct Assign {
  std::string name;
  ExprPtr value;
};

struct ExprStatement {
  ExprPtr expr;
};

/// A ':' line, such as ":graph x + 1"; the argument is source text that each command
/// parses in its own way.
struct Command {
  std::string name;
  std::size_t argument_begin = 0;
  std::size_t argument_end = 0;
};

struct Statement {
  std::size_t offset = 0;
  std::variant<Assign, ExprStatement, Command> node;
};

/// S-expression text of the tree, as the parser's golden tests spell it:
/// (call (name softmax) (name z) (kw axis (int 1))).
std::string to_sexpr(const Expr& expr);
std::string to_sexpr(const Statement& statement);

}  // namespace damo::ast
