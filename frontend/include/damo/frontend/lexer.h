// The lexer of Damo's expression language: turns source text into tokens on demand.
//
// A newline ends a statement unless it falls inside brackets, where the lexer skips it so
// that an expression continues on the next line. '#' starts a comment that runs to the end
// of the line. A line whose first non-blank character is ':' at bracket depth 0 is one
// Command token, such as ":graph x + 1". Outside strings and comments only ASCII is
// accepted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "damo/frontend/diagnostics.h"

namespace damo {

enum class TokenKind {
  End,
  Newline,
  Int,      // 42
  Float,    // 1.5, 1e-3, .5
  String,   // "W" or 'W'; Token::text is the decoded value
  Name,     // identifiers, including builtin and dtype names
  Command,  // a ':' line; text is the command name, argument_* the rest of the line
  Param,    // $0 in a fused body; Token::text is the digits
  And,
  Or,
  Not,
  True,
  False,
  Nan,
  Inf,
  Plus,
  Minus,
  Star,
  Slash,
  SlashSlash,
  Percent,
  At,
  StarStar,
  EqualEqual,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Assign,
  LeftParen,
  RightParen,
  LeftBracket,
  RightBracket,
  LeftBrace,  // only in fused{...} bodies
  RightBrace,
  Comma,
  Colon,
  Ellipsis,  // ... in a subscript
  Dot,       // . before an attribute name, as in x.T
};

/// Name of a token kind for messages and golden tests: "'+'", "name", "end of input".
std::string_view token_kind_name(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::End;
  std::size_t offset = 0;  // byte offset of the first character in the source
  std::size_t length = 0;  // bytes of source text the token covers
  /// Source spelling for names and numbers, the decoded value of a string literal, the
  /// command name (without ':') of a Command.
  std::string text;
  /// For a Command: the byte range of its argument text, after the name.
  std::size_t argument_begin = 0;
  std::size_t argument_end = 0;
};

/// "Name(x)", "Int(42)", "'+'", "Newline": one token as the golden tests spell it.
std::string describe_token(const Token& token);

/// Reads tokens from a byte range of a SourceFile, one at a time, so that statements
/// before a malformed one can run first. Throws UserError located at the offending byte.
class Lexer {
 public:
  /// Lexes source.text()[begin, end). A range that starts mid-line (a command's argument)
  /// does not treat a leading ':' as a command.
  explicit Lexer(const SourceFile& source, std::size_t begin = 0,
                 std::size_t end = std::string::npos, bool commands = true);

  Token next();
  /// Open '(', '[' and '{' not yet closed.
  int bracket_depth() const { return static_cast<int>(open_brackets_.size()); }

 private:
  void skip_blanks_and_comments();
  Token lex_number();
  Token lex_name();
  Token lex_string();
  Token lex_command();
  Token lex_param();
  Token lex_operator();
  [[noreturn]] void reject_character();
  Token make(TokenKind kind, std::size_t start) const;

  const SourceFile& source_;
  std::string_view text_;
  std::size_t position_;
  std::size_t end_;
  bool commands_;
  bool at_line_start_;
  std::vector<std::size_t> open_brackets_;
};

/// True when text is a name of the language: a letter or underscore, then letters, digits
/// and underscores, and no keyword such as "and" or "nan".
bool is_plain_name(std::string_view text);

/// Every token of source up to and including End; throws on the first malformed token.
std::vector<Token> tokenize(const SourceFile& source);

/// True when text ends inside an open bracket, so a REPL should read another line before
/// running it. Text with a lexical error counts as complete so that the error is reported.
bool needs_continuation(std::string_view text);

}  // namespace damo
