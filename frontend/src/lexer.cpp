// Lexer: source bytes to tokens, with bracket-aware newlines, comments and ':' commands.
#include "damo/frontend/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace damo {

namespace {

constexpr std::array<std::pair<std::string_view, TokenKind>, 7> kKeywords = {{
    {"and", TokenKind::And},
    {"or", TokenKind::Or},
    {"not", TokenKind::Not},
    {"true", TokenKind::True},
    {"false", TokenKind::False},
    {"nan", TokenKind::Nan},
    {"inf", TokenKind::Inf},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

}  // namespace

std::string_view token_kind_name(TokenKind kind) {
  switch (kind) {
  case TokenKind::End: return "end of input";
  case TokenKind::Newline: return "end of line";
  case TokenKind::Int: return "integer";
  case TokenKind::Float: return "number";
  case TokenKind::String: return "string";
  case TokenKind::Name: return "name";
  case TokenKind::Command: return "command";
  case TokenKind::Param: return "'$' parameter";
  case TokenKind::And: return "'and'";
  case TokenKind::Or: return "'or'";
  case TokenKind::Not: return "'not'";
  case TokenKind::True: return "'true'";
  case TokenKind::False: return "'false'";
  case TokenKind::Nan: return "'nan'";
  case TokenKind::Inf: return "'inf'";
  case TokenKind::Plus: return "'+'";
  case TokenKind::Minus: return "'-'";
  case TokenKind::Star: return "'*'";
  case TokenKind::Slash: return "'/'";
  case TokenKind::SlashSlash: return "'//'";
  case TokenKind::Percent: return "'%'";
  case TokenKind::At: return "'@'";
  case TokenKind::StarStar: return "'**'";
  case TokenKind::EqualEqual: return "'=='";
  case TokenKind::NotEqual: return "'!='";
  case TokenKind::Less: return "'<'";
  case TokenKind::LessEqual: return "'<='";
  case TokenKind::Greater: return "'>'";
  case TokenKind::GreaterEqual: return "'>='";
  case TokenKind::Assign: return "'='";
  case TokenKind::LeftParen: return "'('";
  case TokenKind::RightParen: return "')'";
  case TokenKind::LeftBracket: return "'['";
  case TokenKind::RightBracket: return "']'";
  case TokenKind::LeftBrace: return "'{'";
  case TokenKind::RightBrace: return "'}'";
  case TokenKind::Comma: return "','";
  case TokenKind::Colon: return "':'";
  case TokenKind::Ellipsis: return "'...'";
  case TokenKind::Dot: return "'.'";
  }
  return "token";
}

std::string describe_token(const Token& token) {
  switch (token.kind) {
  case TokenKind::Int: return fmt::format("Int({})", token.text);
  case TokenKind::Float: return fmt::format("Float({})", token.text);
  case TokenKind::String: return fmt::format("String({})", token.text);
  case TokenKind::Name: return fmt::format("Name({})", token.text);
  case TokenKind::Command: return fmt::format("Command({})", token.text);
  case TokenKind::Param: return fmt::format("Param({})", token.text);
  case TokenKind::Newline: return "Newline";
  case TokenKind::End: return "End";
  default: return std::string(token_kind_name(token.kind));
  }
}

Lexer::Lexer(const SourceFile& source, std::size_t begin, std::size_t end, bool commands)
    : source_(source),
      text_(source.text()),
      position_(std::min(begin, source.size())),
      end_(std::min(end, source.size())),
      commands_(commands),
      at_line_start_(commands) {
  // A UTF-8 byte-order mark, which some editors put at the start of a file, is not text.
  if (position_ == 0 && std::string_view(text_).starts_with("\xEF\xBB\xBF")) position_ = 3;
}

Token Lexer::make(TokenKind kind, std::size_t start) const {
  Token token;
  token.kind = kind;
  token.offset = start;
  token.length = position_ - start;
  return token;
}

void Lexer::skip_blanks_and_comments() {
  while (position_ < end_) {
    char c = text_[position_];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++position_;
    } else if (c == '#') {
      // Comments may hold any valid UTF-8 text.
      while (position_ < end_ && text_[position_] != '\n') {
        std::size_t length = utf8_sequence_length(text_, position_);
        if (length == 0) source_.fail(position_, "invalid UTF-8 byte in a comment");
        position_ += length;
      }
    } else if (c == '\n' && !open_brackets_.empty()) {
      ++position_;
    } else {
      return;
    }
  }
}

Token Lexer::next() {
  skip_blanks_and_comments();
  if (position_ >= end_) return make(TokenKind::End, end_);

  char c = text_[position_];
  std::size_t start = position_;
  if (c == '\n') {
    ++position_;
    at_line_start_ = commands_;
    return make(TokenKind::Newline, start);
  }
  bool line_start = at_line_start_;
  at_line_start_ = false;
  if (c == ':' && line_start) return lex_command();
  if (is_digit(c) || (c == '.' && position_ + 1 < end_ && is_digit(text_[position_ + 1])))
    return lex_number();
  if (is_name_start(c)) return lex_name();
  if (c == '"' || c == '\'') return lex_string();
  if (c == '$') return lex_param();
  return lex_operator();
}

Token Lexer::lex_number() {
  std::size_t start = position_;
  auto digits = [&] {
    while (position_ < end_ && is_digit(text_[position_])) ++position_;
  };
  bool is_float = false;
  digits();
  if (position_ < end_ && text_[position_] == '.') {
    is_float = true;
    ++position_;
    digits();
  }
  if (position_ < end_ && (text_[position_] == 'e' || text_[position_] == 'E')) {
    std::size_t exponent = position_++;
    if (position_ < end_ && (text_[position_] == '+' || text_[position_] == '-')) ++position_;
    if (position_ >= end_ || !is_digit(text_[position_]))
      source_.fail(exponent, "invalid number: the exponent needs digits, as in 1e-3");
    digits();
    is_float = true;
  }
  if (position_ < end_ && (is_name_char(text_[position_]) || text_[position_] == '.')) {
    while (position_ < end_ && (is_name_char(text_[position_]) || text_[position_] == '.'))
      ++position_;
    source_.fail(start, fmt::format("invalid number '{}'", text_.substr(start, position_ - start)));
  }
  Token token = make(is_float ? TokenKind::Float : TokenKind::Int, start);
  token.text = std::string(text_.substr(start, position_ - start));
  return token;
}

Token Lexer::lex_name() {
  std::size_t start = position_;
  while (position_ < end_ && is_name_char(text_[position_])) ++position_;
  std::string_view word = text_.substr(start, position_ - start);
  for (const auto& [keyword, kind] : kKeywords)
    if (word == keyword) return make(kind, start);
  Token token = make(TokenKind::Name, start);
  token.text = std::string(word);
  return token;
}

Token Lexer::lex_string() {
  std::size_t start = position_;
  char quote = text_[position_++];
  std::string value;
  while (true) {
    if (position_ >= end_ || text_[position_] == '\n')
      source_.fail(start, "unterminated string: add the closing quote on the same line");
    char c = text_[position_];
    if (c == quote) break;
    if (c == '\\') {
      char escaped = position_ + 1 < end_ ? text_[position_ + 1] : '\0';
      switch (escaped) {
      case '\\': value += '\\'; break;
      case '"': value += '"'; break;
      case '\'': value += '\''; break;
      case 'n': value += '\n'; break;
      case 't': value += '\t'; break;
      default:
        source_.fail(position_,
                     "unknown escape sequence in a string; use \\\\, \\\", \\', "
                     "\\n or \\t");
      }
      position_ += 2;
      continue;
    }
    std::size_t length = utf8_sequence_length(text_, position_);
    if (length == 0) source_.fail(position_, "invalid UTF-8 byte in a string");
    value.append(text_.substr(position_, length));
    position_ += length;
  }
  ++position_;
  Token token = make(TokenKind::String, start);
  token.text = std::move(value);
  return token;
}

Token Lexer::lex_command() {
  std::size_t start = position_++;
  std::size_t name_start = position_;
  while (position_ < end_ && is_name_char(text_[position_])) ++position_;
  if (position_ == name_start)
    source_.fail(start, "a ':' at the start of a line begins a command, such as :help");
  Token token;
  token.kind = TokenKind::Command;
  token.offset = start;
  token.text = std::string(text_.substr(name_start, position_ - name_start));
  token.argument_begin = position_;
  std::size_t line_end = text_.find('\n', position_);
  token.argument_end = std::min(line_end == std::string_view::npos ? end_ : line_end, end_);
  position_ = token.argument_end;
  token.length = position_ - start;
  return token;
}

Token Lexer::lex_param() {
  std::size_t start = position_++;
  while (position_ < end_ && is_digit(text_[position_])) ++position_;
  if (position_ == start + 1)
    source_.fail(start, "'$' must be followed by an operand number, as in $0");
  Token token = make(TokenKind::Param, start);
  token.text = std::string(text_.substr(start + 1, position_ - start - 1));
  return token;
}

Token Lexer::lex_operator() {
  std::size_t start = position_;
  char c = text_[position_];
  char following = position_ + 1 < end_ ? text_[position_ + 1] : '\0';
  auto two = [&](TokenKind kind) {
    position_ += 2;
    return make(kind, start);
  };
  auto one = [&](TokenKind kind) {
    position_ += 1;
    return make(kind, start);
  };
  switch (c) {
  case '+': return one(TokenKind::Plus);
  case '-': return one(TokenKind::Minus);
  case '*': return following == '*' ? two(TokenKind::StarStar) : one(TokenKind::Star);
  case '/': return following == '/' ? two(TokenKind::SlashSlash) : one(TokenKind::Slash);
  case '%': return one(TokenKind::Percent);
  case '@': return one(TokenKind::At);
  case '=': return following == '=' ? two(TokenKind::EqualEqual) : one(TokenKind::Assign);
  case '!':
    if (following == '=') return two(TokenKind::NotEqual);
    source_.fail(start, "unexpected character '!'; write 'not x' for logical negation");
  case '<': return following == '=' ? two(TokenKind::LessEqual) : one(TokenKind::Less);
  case '>': return following == '=' ? two(TokenKind::GreaterEqual) : one(TokenKind::Greater);
  case ',': return one(TokenKind::Comma);
  case ':': return one(TokenKind::Colon);
  case '.':
    if (following == '.' && position_ + 2 < end_ && text_[position_ + 2] == '.') {
      position_ += 3;
      return make(TokenKind::Ellipsis, start);
    }
    // An attribute (x.T); the parser checks the name. A number's '.' never gets
    // here, because numbers are read before.
    return one(TokenKind::Dot);
  case '(': open_brackets_.push_back(start); return one(TokenKind::LeftParen);
  case '[': open_brackets_.push_back(start); return one(TokenKind::LeftBracket);
  case '{': open_brackets_.push_back(start); return one(TokenKind::LeftBrace);
  case ')':
  case ']':
  case '}':
    // An unmatched closer leaves the depth at 0; the parser reports it.
    if (!open_brackets_.empty()) open_brackets_.pop_back();
    if (c == ')') return one(TokenKind::RightParen);
    return one(c == ']' ? TokenKind::RightBracket : TokenKind::RightBrace);
  default: reject_character();
  }
}

void Lexer::reject_character() {
  char c = text_[position_];
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x80) {
    std::size_t length = utf8_sequence_length(text_, position_);
    if (length == 0) source_.fail(position_, fmt::format("invalid UTF-8 byte 0x{:02x}", byte));
    source_.fail(position_, fmt::format("unexpected character '{}'; names and operators are "
                                        "ASCII, other text belongs in strings or comments",
                                        text_.substr(position_, length)));
  }
  std::string hint;
  if (c == '^') hint = "; write ** for powers";
  if (c == '&') hint = "; write 'and'";
  if (c == '|') hint = "; write 'or'";
  if (c == '~') hint = "; write 'not'";
  if (byte < 0x20 || byte == 0x7f)
    source_.fail(position_, fmt::format("unexpected control character 0x{:02x}", byte));
  source_.fail(position_, fmt::format("unexpected character '{}'{}", c, hint));
}

bool is_plain_name(std::string_view text) {
  if (text.empty() || !is_name_start(text.front())) return false;
  if (!std::all_of(text.begin(), text.end(), is_name_char)) return false;
  return std::none_of(kKeywords.begin(), kKeywords.end(),
                      [text](const auto& keyword) { return keyword.first == text; });
}

std::vector<Token> tokenize(const SourceFile& source) {
  Lexer lexer(source);
  std::vector<Token> tokens;
  do {
    tokens.push_back(lexer.next());
  } while (tokens.back().kind != TokenKind::End);
  return tokens;
}

bool needs_continuation(std::string_view text) {
  SourceFile source("<input>", std::string(text));
  Lexer lexer(source);
  try {
    while (lexer.next().kind != TokenKind::End) {
    }
  } catch (const UserError&) {
    return false;
  }
  return lexer.bracket_depth() > 0;
}

}  // namespace damo
