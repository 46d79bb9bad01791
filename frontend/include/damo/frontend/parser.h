// The parser of Damo's expression language: tokens to statements and expressions.
//
// Precedence from lowest to highest: or; and; prefix not; comparisons (== != < <= > >=,
// which do not chain); + -; * / // % @; prefix -; ** (right-associative, and tighter than
// a prefix minus on its left, so -x ** 2 is -(x ** 2)); calls f(...) and subscripts x[...].
// docs/language.md gives the grammar in EBNF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "damo/frontend/ast.h"
#include "damo/frontend/lexer.h"

namespace damo {

/// The deepest nesting the parser accepts, counting both recursion (brackets, prefix
/// operators) and tree height (long operator chains). Deeper input is a UserError instead
/// of a stack overflow in the parser or in any later walk over the tree.
inline constexpr int kMaxNestingDepth = 256;

/// The advice in out-of-memory errors while a statement is parsed or run.
inline constexpr const char* kLargeDataHint =
    "a list literal takes memory for every number in it, so save large data to a .npy file "
    "and read it with load_npy(path)";

/// Reads statements one at a time, so that a script runs up to its first malformed line.
/// Throws UserError located at the offending token.
class Parser {
 public:
  explicit Parser(const SourceFile& source, std::size_t begin = 0,
                  std::size_t end = std::string::npos, bool commands = true);

  /// The next statement, skipping blank lines and comments; nullopt at the end of input.
  std::optional<ast::Statement> next_statement();
  /// Parses the whole range as one expression, as a command argument.
  ast::ExprPtr parse_single_expression();

 private:
  class DepthGuard;

  /// Parses the statement that starts at the current token into statement.
  void parse_statement(ast::Statement& statement);

  const Token& peek() const { return current_; }
  Token advance();
  bool accept(TokenKind kind);
  Token expect(TokenKind kind, const char* context);
  [[noreturn]] void fail_unexpected(const Token& token, const std::string& expected);

  ast::ExprPtr parse_expression();
  ast::ExprPtr parse_or();
  ast::ExprPtr parse_and();
  ast::ExprPtr parse_not();
  ast::ExprPtr parse_comparison();
  ast::ExprPtr parse_additive();
  ast::ExprPtr parse_multiplicative();
  ast::ExprPtr parse_unary();
  ast::ExprPtr parse_power();
  ast::ExprPtr parse_attribute(ast::ExprPtr target);
  ast::ExprPtr parse_postfix();
  ast::ExprPtr parse_primary();
  ast::ExprPtr parse_number(const Token& token, bool negative, std::size_t offset);
  ast::ExprPtr parse_list(const Token& open);
  void parse_call_arguments(std::vector<ast::Argument>& arguments);
  ast::ExprPtr parse_fused(ast::ExprPtr name);
  ast::Subscript parse_subscript();

  ast::ExprPtr make_binary(ast::BinaryOp op, const Token& op_token, ast::ExprPtr lhs,
                           ast::ExprPtr rhs);
  /// Sets the height of expr from its children and rejects a tree that is too deep.
  ast::ExprPtr finish(ast::ExprPtr expr);

  const SourceFile& source_;
  Lexer lexer_;
  Token current_;
  std::vector<Token> open_brackets_;
  int depth_ = 0;
};

/// Every statement of source; throws on the first syntax error.
std::vector<ast::Statement> parse_program(const SourceFile& source);

/// One expression spanning source.text()[begin, end), such as the argument of :type.
ast::ExprPtr parse_expression(const SourceFile& source, std::size_t begin = 0,
                              std::size_t end = std::string::npos);

}  // namespace damo
