// Recursive-descent parser with one token of lookahead. A DepthGuard on every recursive
// edge and a height check on every new node keep any input from overflowing the stack.
#include "damo/frontend/parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>

namespace damo {

namespace {

std::string describe_found(const Token& token) {
  switch (token.kind) {
  case TokenKind::Name: return fmt::format("name '{}'", token.text);
  case TokenKind::Int:
  case TokenKind::Float: return fmt::format("number {}", token.text);
  case TokenKind::String: return "a string";
  case TokenKind::Command: return fmt::format("command ':{}'", token.text);
  default: return std::string(token_kind_name(token.kind));
  }
}

// The token without an article, for "unexpected string after ...".
std::string describe_unexpected(const Token& token) {
  return token.kind == TokenKind::String ? "string" : describe_found(token);
}

std::optional<ast::BinaryOp> comparison_op(TokenKind kind) {
  switch (kind) {
  case TokenKind::EqualEqual: return ast::BinaryOp::Equal;
  case TokenKind::NotEqual: return ast::BinaryOp::NotEqual;
  case TokenKind::Less: return ast::BinaryOp::Less;
  case TokenKind::LessEqual: return ast::BinaryOp::LessEqual;
  case TokenKind::Greater: return ast::BinaryOp::Greater;
  case TokenKind::GreaterEqual: return ast::BinaryOp::GreaterEqual;
  default: return std::nullopt;
  }
}

std::optional<ast::BinaryOp> multiplicative_op(TokenKind kind) {
  switch (kind) {
  case TokenKind::Star: return ast::BinaryOp::Mul;
  case TokenKind::Slash: return ast::BinaryOp::Div;
  case TokenKind::SlashSlash: return ast::BinaryOp::FloorDiv;
  case TokenKind::Percent: return ast::BinaryOp::Mod;
  case TokenKind::At: return ast::BinaryOp::MatMul;
  default: return std::nullopt;
  }
}

char bracket_text(TokenKind open) {
  switch (open) {
  case TokenKind::LeftParen: return '(';
  case TokenKind::LeftBracket: return '[';
  default: return '{';
  }
}

char closing_bracket(TokenKind open) {
  switch (open) {
  case TokenKind::LeftParen: return ')';
  case TokenKind::LeftBracket: return ']';
  default: return '}';
  }
}

ast::ExprPtr make_expr(std::size_t offset) {
  auto expr = std::make_unique<ast::Expr>();
  expr->offset = offset;
  return expr;
}

// Largest height among the children of expr.
int child_height(const ast::Expr& expr) {
  int height = 0;
  auto see = [&height](const ast::ExprPtr& child) {
    if (child) height = std::max(height, child->height);
  };
  if (const auto* list = std::get_if<ast::List>(&expr.node)) {
    for (const ast::ListItem& item : list->items) {
      see(item.key);
      see(item.value);
    }
  } else if (const auto* unary = std::get_if<ast::Unary>(&expr.node)) {
    see(unary->operand);
  } else if (const auto* binary = std::get_if<ast::Binary>(&expr.node)) {
    see(binary->lhs);
    see(binary->rhs);
  } else if (const auto* call = std::get_if<ast::Call>(&expr.node)) {
    see(call->callee);
    for (const ast::Argument& argument : call->arguments) see(argument.value);
  } else if (const auto* fused = std::get_if<ast::Fused>(&expr.node)) {
    see(fused->body);
    for (const ast::Argument& argument : fused->arguments) see(argument.value);
  } else if (const auto* index = std::get_if<ast::Index>(&expr.node)) {
    see(index->target);
    for (const ast::Subscript& s : index->subscripts) {
      see(s.index);
      see(s.start);
      see(s.stop);
      see(s.step);
    }
  }
  return height;
}

std::string too_deep_message() {
  return fmt::format(
      "expression is nested too deeply (more than {} levels); split it into "
      "several statements",
      kMaxNestingDepth);
}

}  // namespace

// Counts one level of parser recursion for as long as it lives.
class Parser::DepthGuard {
 public:
  DepthGuard(Parser& parser) : parser_(parser) {
    if (++parser_.depth_ > kMaxNestingDepth)
      parser_.source_.fail(parser_.peek().offset, too_deep_message());
  }
  ~DepthGuard() { --parser_.depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  Parser& parser_;
};

Parser::Parser(const SourceFile& source, std::size_t begin, std::size_t end, bool commands)
    : source_(source), lexer_(source, begin, end, commands) {
  current_ = lexer_.next();
}

Token Parser::advance() {
  Token token = std::move(current_);
  current_ = lexer_.next();
  return token;
}

bool Parser::accept(TokenKind kind) {
  if (current_.kind != kind) return false;
  advance();
  return true;
}

Token Parser::expect(TokenKind kind, const char* context) {
  if (current_.kind != kind)
    fail_unexpected(current_, fmt::format("{} {}", token_kind_name(kind), context));
  return advance();
}

void Parser::fail_unexpected(const Token& token, const std::string& expected) {
  if (token.kind == TokenKind::End && !open_brackets_.empty()) {
    const Token& open = open_brackets_.back();
    source_.fail(open.offset, fmt::format("'{}' is never closed; add '{}'", bracket_text(open.kind),
                                          closing_bracket(open.kind)));
  }
  source_.fail(token.offset, fmt::format("expected {}, found {}", expected, describe_found(token)));
}

ast::ExprPtr Parser::finish(ast::ExprPtr expr) {
  expr->height = child_height(*expr) + 1;
  if (expr->height > kMaxNestingDepth) source_.fail(expr->offset, too_deep_message());
  return expr;
}

std::optional<ast::Statement> Parser::next_statement() {
  while (accept(TokenKind::Newline)) {
  }
  if (peek().kind == TokenKind::End) return std::nullopt;

  ast::Statement statement;
  statement.offset = peek().offset;
  try {
    parse_statement(statement);
  } catch (const std::bad_alloc&) {
    source_.fail(statement.offset, fmt::format("out of memory while parsing this statement; {}",
                                               kLargeDataHint));
  }
  return statement;
}

void Parser::parse_statement(ast::Statement& statement) {
  if (peek().kind == TokenKind::Command) {
    Token token = advance();
    statement.node = ast::Command{token.text, token.argument_begin, token.argument_end};
  } else {
    ast::ExprPtr expr = parse_expression();
    if (peek().kind == TokenKind::Assign) {
      const auto* name = std::get_if<ast::Name>(&expr->node);
      if (name == nullptr)
        source_.fail(peek().offset,
                     "cannot assign to this expression: the left side of '=' "
                     "must be a name (use '==' to compare)");
      advance();
      statement.node = ast::Assign{name->name, parse_expression()};
    } else {
      statement.node = ast::ExprStatement{std::move(expr)};
    }
  }
  if (peek().kind != TokenKind::Newline && peek().kind != TokenKind::End)
    source_.fail(peek().offset, fmt::format("unexpected {} after the end of the statement; "
                                            "write one statement per line",
                                            describe_unexpected(peek())));
}

ast::ExprPtr Parser::parse_single_expression() {
  if (peek().kind == TokenKind::End) source_.fail(peek().offset, "expected an expression");
  ast::ExprPtr expr = parse_expression();
  if (peek().kind != TokenKind::End)
    source_.fail(peek().offset,
                 fmt::format("unexpected {} after the expression", describe_unexpected(peek())));
  return expr;
}

ast::ExprPtr Parser::parse_expression() {
  DepthGuard guard(*this);
  return parse_or();
}

ast::ExprPtr Parser::make_binary(ast::BinaryOp op, const Token& op_token, ast::ExprPtr lhs,
                                 ast::ExprPtr rhs) {
  ast::ExprPtr expr = make_expr(lhs->offset);
  expr->node = ast::Binary{op, op_token.offset, std::move(lhs), std::move(rhs)};
  return finish(std::move(expr));
}

ast::ExprPtr Parser::parse_or() {
  ast::ExprPtr lhs = parse_and();
  while (peek().kind == TokenKind::Or) {
    Token op = advance();
    lhs = make_binary(ast::BinaryOp::Or, op, std::move(lhs), parse_and());
  }
  return lhs;
}

ast::ExprPtr Parser::parse_and() {
  ast::ExprPtr lhs = parse_not();
  while (peek().kind == TokenKind::And) {
    Token op = advance();
    lhs = make_binary(ast::BinaryOp::And, op, std::move(lhs), parse_not());
  }
  return lhs;
}

ast::ExprPtr Parser::parse_not() {
  if (peek().kind != TokenKind::Not) return parse_comparison();
  Token op = advance();
  DepthGuard guard(*this);
  ast::ExprPtr expr = make_expr(op.offset);
  expr->node = ast::Unary{ast::UnaryOp::Not, parse_not()};
  return finish(std::move(expr));
}

ast::ExprPtr Parser::parse_comparison() {
  ast::ExprPtr lhs = parse_additive();
  std::optional<ast::BinaryOp> op = comparison_op(peek().kind);
  if (!op) return lhs;
  Token op_token = advance();
  ast::ExprPtr result = make_binary(*op, op_token, std::move(lhs), parse_additive());
  if (comparison_op(peek().kind))
    source_.fail(peek().offset, "comparisons do not chain; write (a < b) and (b < c)");
  return result;
}

ast::ExprPtr Parser::parse_additive() {
  ast::ExprPtr lhs = parse_multiplicative();
  while (peek().kind == TokenKind::Plus || peek().kind == TokenKind::Minus) {
    Token op = advance();
    ast::BinaryOp kind = op.kind == TokenKind::Plus ? ast::BinaryOp::Add : ast::BinaryOp::Sub;
    lhs = make_binary(kind, op, std::move(lhs), parse_multiplicative());
  }
  return lhs;
}

ast::ExprPtr Parser::parse_multiplicative() {
  ast::ExprPtr lhs = parse_unary();
  while (std::optional<ast::BinaryOp> op = multiplicative_op(peek().kind)) {
    Token op_token = advance();
    lhs = make_binary(*op, op_token, std::move(lhs), parse_unary());
  }
  return lhs;
}

ast::ExprPtr Parser::parse_unary() {
  if (peek().kind == TokenKind::Plus)
    source_.fail(peek().offset, "unary '+' is not supported; remove it");
  if (peek().kind != TokenKind::Minus) return parse_power();
  Token op = advance();
  DepthGuard guard(*this);

  // A minus written directly before a number literal is part of the literal, unless a
  // ** follows, because -2 ** 2 is -(2 ** 2). After a blank, as in - 5, the minus negates
  // the literal, so - 9223372036854775808 is too large as -(9223372036854775808) is.
  bool number = peek().kind == TokenKind::Int || peek().kind == TokenKind::Float ||
                peek().kind == TokenKind::Inf;
  if (number && peek().offset == op.offset + 1) {
    Token literal = advance();
    if (peek().kind != TokenKind::StarStar && peek().kind != TokenKind::LeftParen &&
        peek().kind != TokenKind::LeftBracket)
      return parse_number(literal, true, op.offset);
    ast::ExprPtr operand = parse_number(literal, false, literal.offset);
    // Re-enter the power and postfix levels with the literal as the primary.
    if (peek().kind == TokenKind::StarStar) {
      Token power = advance();
      DepthGuard rhs_guard(*this);
      operand = make_binary(ast::BinaryOp::Pow, power, std::move(operand), parse_unary());
    } else {
      source_.fail(peek().offset,
                   fmt::format("a number cannot be followed by {}", describe_found(peek())));
    }
    ast::ExprPtr expr = make_expr(op.offset);
    expr->node = ast::Unary{ast::UnaryOp::Neg, std::move(operand)};
    return finish(std::move(expr));
  }

  ast::ExprPtr expr = make_expr(op.offset);
  expr->node = ast::Unary{ast::UnaryOp::Neg, parse_unary()};
  return finish(std::move(expr));
}

ast::ExprPtr Parser::parse_power() {
  ast::ExprPtr base = parse_postfix();
  if (peek().kind != TokenKind::StarStar) return base;
  Token op = advance();
  DepthGuard guard(*this);
  // The exponent is a unary expression, so 2 ** -1 parses and ** groups to the right.
  return make_binary(ast::BinaryOp::Pow, op, std::move(base), parse_unary());
}

ast::ExprPtr Parser::parse_fused(ast::ExprPtr name) {
  std::string op = std::get<ast::Name>(name->node).name;
  ast::ExprPtr expr = make_expr(name->offset);
  ast::Fused fused;
  fused.name = op;
  open_brackets_.push_back(advance());
  fused.body = parse_expression();
  expect(TokenKind::RightBrace, "to close the fused body");
  open_brackets_.pop_back();
  if (peek().kind != TokenKind::LeftParen)
    fail_unexpected(peek(), fmt::format("'(' and the operands after {}{{...}}", op));
  open_brackets_.push_back(advance());
  parse_call_arguments(fused.arguments);
  expr->node = std::move(fused);
  return finish(std::move(expr));
}

ast::ExprPtr Parser::parse_postfix() {
  ast::ExprPtr expr = parse_primary();
  const auto* name = std::get_if<ast::Name>(&expr->node);
  if (name != nullptr && peek().kind == TokenKind::LeftBrace) {
    if (name->name != "fused" && !name->name.starts_with("fused_"))
      source_.fail(peek().offset,
                   "'{' follows only fused or fused_<reduction> in a fused op, "
                   "as in fused{$0 * 2}(x); lists use [ ]");
    expr = parse_fused(std::move(expr));
  }
  while (true) {
    if (peek().kind == TokenKind::LeftParen) {
      open_brackets_.push_back(advance());
      ast::ExprPtr call_expr = make_expr(expr->offset);
      ast::Call call;
      call.callee = std::move(expr);
      parse_call_arguments(call.arguments);
      call_expr->node = std::move(call);
      expr = finish(std::move(call_expr));
    } else if (peek().kind == TokenKind::LeftBracket) {
      open_brackets_.push_back(advance());
      ast::ExprPtr index_expr = make_expr(expr->offset);
      ast::Index index;
      index.target = std::move(expr);
      do {
        if (peek().kind == TokenKind::RightBracket) break;
        index.subscripts.push_back(parse_subscript());
      } while (accept(TokenKind::Comma));
      if (index.subscripts.empty())
        source_.fail(peek().offset, "empty subscript: write x[i] or x[start:stop]");
      expect(TokenKind::RightBracket, "to close the subscript");
      open_brackets_.pop_back();
      index_expr->node = std::move(index);
      expr = finish(std::move(index_expr));
    } else if (peek().kind == TokenKind::Dot) {
      expr = parse_attribute(std::move(expr));
    } else {
      return expr;
    }
  }
}

// x.T is NumPy's transpose, written as the call transpose(x). NumPy's other attributes have
// builtins or commands of their own, which the error names.
ast::ExprPtr Parser::parse_attribute(ast::ExprPtr target) {
  std::size_t dot = advance().offset;
  const Token& name = peek();
  if (name.kind != TokenKind::Name)
    source_.fail(name.offset, fmt::format("expected an attribute name after '.', found {}", describe_found(name)));
  if (name.text != "T") {
    std::string hint;
    if (name.text == "shape" || name.text == "ndim" || name.text == "dtype" || name.text == "size")
      hint = "; :type x shows the dtype and shape, and dim_size(n) the size of a symbolic axis n";
    source_.fail(name.offset, fmt::format("'{}' is not an attribute: x.T (the transpose) is the only "
                                          "one{}",
                                          name.text, hint));
  }
  advance();
  ast::ExprPtr callee = make_expr(dot);
  callee->node = ast::Name{"transpose"};
  ast::ExprPtr call_expr = make_expr(target->offset);
  ast::Call call;
  call.callee = std::move(callee);
  ast::Argument argument;
  argument.offset = target->offset;
  argument.value = std::move(target);
  call.arguments.push_back(std::move(argument));
  call_expr->node = std::move(call);
  return finish(std::move(call_expr));
}

void Parser::parse_call_arguments(std::vector<ast::Argument>& arguments) {
  std::set<std::string> keywords;
  while (peek().kind != TokenKind::RightParen) {
    std::size_t offset = peek().offset;
    ast::ExprPtr value = parse_expression();
    ast::Argument argument;
    argument.offset = offset;
    if (peek().kind == TokenKind::Assign) {
      const auto* name = std::get_if<ast::Name>(&value->node);
      if (name == nullptr)
        source_.fail(peek().offset,
                     "a keyword argument needs a name before '=', as in "
                     "axis=1 (use '==' to compare)");
      if (!keywords.insert(name->name).second)
        source_.fail(offset, fmt::format("keyword argument '{}' is given twice", name->name));
      argument.keyword = name->name;
      advance();
      value = parse_expression();
    } else if (!keywords.empty()) {
      source_.fail(offset, "a positional argument cannot follow a keyword argument");
    }
    argument.value = std::move(value);
    arguments.push_back(std::move(argument));
    if (!accept(TokenKind::Comma)) break;
  }
  expect(TokenKind::RightParen, "to close the argument list");
  open_brackets_.pop_back();
}

ast::Subscript Parser::parse_subscript() {
  ast::Subscript s;
  s.offset = peek().offset;
  if (accept(TokenKind::Ellipsis)) {
    s.is_ellipsis = true;
    return s;
  }
  auto at_slice_end = [this] {
    TokenKind k = peek().kind;
    return k == TokenKind::Colon || k == TokenKind::Comma || k == TokenKind::RightBracket;
  };
  if (peek().kind != TokenKind::Colon) {
    ast::ExprPtr first = parse_expression();
    if (peek().kind != TokenKind::Colon) {
      s.index = std::move(first);
      return s;
    }
    s.start = std::move(first);
  }
  s.is_slice = true;
  expect(TokenKind::Colon, "in the slice");
  if (!at_slice_end()) s.stop = parse_expression();
  if (accept(TokenKind::Colon)) {
    if (!at_slice_end()) s.step = parse_expression();
  }
  return s;
}

ast::ExprPtr Parser::parse_primary() {
  const Token& token = peek();
  ast::ExprPtr expr = make_expr(token.offset);
  switch (token.kind) {
  case TokenKind::Int:
  case TokenKind::Float:
  case TokenKind::Inf: {
    Token literal = advance();
    return parse_number(literal, false, literal.offset);
  }
  case TokenKind::Nan:
    advance();
    expr->node = ast::Number{false, 0, std::numeric_limits<double>::quiet_NaN()};
    return expr;
  case TokenKind::True:
  case TokenKind::False: expr->node = ast::Bool{advance().kind == TokenKind::True}; return expr;
  case TokenKind::String: expr->node = ast::String{advance().text}; return expr;
  case TokenKind::Name: expr->node = ast::Name{advance().text}; return expr;
  case TokenKind::Param: {
    Token param = advance();
    std::int64_t index = 0;
    const char* end = param.text.data() + param.text.size();
    auto [ptr, error] = std::from_chars(param.text.data(), end, index);
    if (error != std::errc() || ptr != end || index > 1000000)
      source_.fail(param.offset, fmt::format("operand number ${} is too large", param.text));
    expr->node = ast::Param{index};
    return expr;
  }
  case TokenKind::LeftParen: {
    open_brackets_.push_back(advance());
    if (peek().kind == TokenKind::RightParen)
      source_.fail(peek().offset, "empty parentheses: write an expression inside ( )");
    ast::ExprPtr inner = parse_expression();
    if (peek().kind == TokenKind::Comma)
      source_.fail(peek().offset, "tuples are not supported; write a list [a, b]");
    expect(TokenKind::RightParen, "to close '('");
    open_brackets_.pop_back();
    return inner;
  }
  case TokenKind::LeftBracket: {
    Token open = advance();
    return parse_list(open);
  }
  default: fail_unexpected(token, "an expression");
  }
}

ast::ExprPtr Parser::parse_number(const Token& token, bool negative, std::size_t offset) {
  ast::ExprPtr expr = make_expr(offset);
  ast::Number number;
  if (token.kind == TokenKind::Inf) {
    number.is_integer = false;
    number.real = negative ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
  } else if (token.kind == TokenKind::Int) {
    // Parsed as unsigned so that -9223372036854775808 fits.
    std::uint64_t magnitude = 0;
    const char* end = token.text.data() + token.text.size();
    auto [ptr, error] = std::from_chars(token.text.data(), end, magnitude);
    std::uint64_t limit =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
    if (error != std::errc() || ptr != end || magnitude > limit) {
      // A literal of thousands of digits is named by its start and length.
      std::string text(token.text);
      if (text.size() > 40) text = fmt::format("{}... ({} digits)", text.substr(0, 24), text.size());
      source_.fail(offset,
                   fmt::format("integer literal {}{} does not fit in i64 (the range is "
                               "-9223372036854775808 to 9223372036854775807); write it "
                               "as a float by adding .0",
                               negative ? "-" : "", text));
    }
    number.integer =
        negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  } else {
    number.is_integer = false;
    const char* end = token.text.data() + token.text.size();
    auto [ptr, error] = std::from_chars(token.text.data(), end, number.real);
    if (error == std::errc::result_out_of_range) {
      // Underflow rounds to zero or a subnormal; only overflow is an error.
      number.real = std::strtod(token.text.c_str(), nullptr);
      if (std::isinf(number.real))
        source_.fail(offset, fmt::format("float literal {} is too large for f64; write inf "
                                         "for infinity",
                                         token.text));
    }
    if (negative) number.real = -number.real;
  }
  expr->node = number;
  return expr;
}

ast::ExprPtr Parser::parse_list(const Token& open) {
  open_brackets_.push_back(open);
  ast::ExprPtr expr = make_expr(open.offset);
  ast::List list;
  std::size_t keyed = 0;
  while (peek().kind != TokenKind::RightBracket) {
    ast::ListItem item;
    std::size_t item_offset = peek().offset;
    item.value = parse_expression();
    if (accept(TokenKind::Colon)) {
      item.key = std::move(item.value);
      item.value = parse_expression();
      ++keyed;
    }
    list.items.push_back(std::move(item));
    if (keyed != 0 && keyed != list.items.size())
      source_.fail(item_offset,
                   "a list mixes plain items and key: value items; an update map "
                   "needs a key on every item, as in [W: W - 0.1 * g]");
    if (!accept(TokenKind::Comma)) break;
  }
  expect(TokenKind::RightBracket, "to close the list");
  open_brackets_.pop_back();
  list.is_map = keyed != 0;
  expr->node = std::move(list);
  return finish(std::move(expr));
}

std::vector<ast::Statement> parse_program(const SourceFile& source) {
  Parser parser(source);
  std::vector<ast::Statement> statements;
  while (std::optional<ast::Statement> statement = parser.next_statement())
    statements.push_back(std::move(*statement));
  return statements;
}

ast::ExprPtr parse_expression(const SourceFile& source, std::size_t begin, std::size_t end) {
  Parser parser(source, begin, end, false);
  return parser.parse_single_expression();
}

}  // namespace damo
