// Lexer tests: golden token streams and lexical errors with their locations.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "damo/frontend/lexer.h"

using namespace damo;

namespace {

// Tokens of text, spelled by describe_token() and separated by spaces.
std::string tokens_of(const std::string& text) {
  SourceFile source("<test>", text);
  std::string out;
  for (const Token& token : tokenize(source)) {
    if (!out.empty()) out += ' ';
    out += describe_token(token);
  }
  return out;
}

// The located message of the lexical error in text.
std::string lex_error(const std::string& text) {
  try {
    tokens_of(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("lexer golden assignment") {
  CHECK(tokens_of("y = sigmoid(x @ W) # comment") ==
        "Name(y) '=' Name(sigmoid) '(' Name(x) '@' Name(W) ')' End");
}

TEST_CASE("lexer golden operators") {
  CHECK(tokens_of("+ - * / // % @ ** == != < <= > >= = , :") ==
        "'+' '-' '*' '/' '//' '%' '@' '**' '==' '!=' '<' '<=' '>' '>=' '=' ',' ':' End");
}

TEST_CASE("lexer golden keywords") {
  CHECK(tokens_of("and or not true false nan inf andy") ==
        "'and' 'or' 'not' 'true' 'false' 'nan' 'inf' Name(andy) End");
}

TEST_CASE("lexer golden numbers") {
  CHECK(tokens_of("0 42 1.5 1e-3 2E+10 .5 3. 1.e2") ==
        "Int(0) Int(42) Float(1.5) Float(1e-3) Float(2E+10) Float(.5) Float(3.) Float(1.e2) End");
}

TEST_CASE("lexer golden strings") {
  CHECK(tokens_of(R"("W" 'b' "a\"b\\c" "é")") ==
        "String(W) String(b) String(a\"b\\c) String(é) End");
}

TEST_CASE("lexer newlines end statements") {
  CHECK(tokens_of("a = 1\n\nb") == "Name(a) '=' Int(1) Newline Newline Name(b) End");
}

TEST_CASE("lexer newlines inside brackets continue") {
  CHECK(tokens_of("f(1,\n  2)[0,\n1]\nx") ==
        "Name(f) '(' Int(1) ',' Int(2) ')' '[' Int(0) ',' Int(1) ']' Newline Name(x) End");
}

TEST_CASE("lexer commands at line start") {
  SourceFile source("<test>", "x = 1\n  :graph x + 1 # keep\ny[1:2]");
  std::vector<Token> tokens = tokenize(source);
  REQUIRE(tokens.size() == 13);
  CHECK(describe_token(tokens[4]) == "Command(graph)");
  std::string argument = source.text().substr(tokens[4].argument_begin,
                                              tokens[4].argument_end - tokens[4].argument_begin);
  CHECK(argument == " x + 1 # keep");
  CHECK(describe_token(tokens[9]) == "':'");
}

TEST_CASE("lexer fused syntax") {
  CHECK(tokens_of("fused{$0 * $12}(x)") ==
        "Name(fused) '{' Param(0) '*' Param(12) '}' '(' Name(x) ')' End");
}

TEST_CASE("lexer token offsets") {
  SourceFile source("<test>", "ab  +\n 12");
  std::vector<Token> tokens = tokenize(source);
  REQUIRE(tokens.size() == 5);
  CHECK(tokens[0].offset == 0);
  CHECK(tokens[0].length == 2);
  CHECK(tokens[1].offset == 4);
  CHECK(tokens[3].offset == 7);
  CHECK(tokens[3].length == 2);
}

TEST_CASE("lexer empty input") {
  CHECK(tokens_of("") == "End");
  CHECK(tokens_of("   # only a comment") == "End");
}

TEST_CASE("lexer stray character") {
  CHECK(lex_error("x = 2 ^ 3") ==
        "<test>:1:7: unexpected character '^'; write ** for powers\n  x = 2 ^ 3\n        ^");
}

TEST_CASE("lexer bang without equals") {
  CHECK(lex_error("!x") ==
        "<test>:1:1: unexpected character '!'; write 'not x' for logical negation\n  !x\n  ^");
}

TEST_CASE("lexer invalid utf8 byte") {
  CHECK(lex_error("x = \xff") == "<test>:1:5: invalid UTF-8 byte 0xff\n  x = ?\n      ^");
}

TEST_CASE("lexer invalid utf8 in comment") {
  CHECK(lex_error("x # \xc3\x28") ==
        "<test>:1:5: invalid UTF-8 byte in a comment\n  x # ?(\n      ^");
}

TEST_CASE("lexer non-ascii outside strings") {
  std::string message = lex_error("x = \xc3\xa9");
  CHECK(message.find("<test>:1:5: unexpected character 'é'") == 0);
}

TEST_CASE("lexer column counts code points") {
  // 'é' takes two bytes but one column, so the stray ';' is in column 5, not 6.
  CHECK(lex_error("é = 1").find("<test>:1:1:") == 0);
  CHECK(lex_error("\"é\" ; ^").find("<test>:1:5:") == 0);
}

TEST_CASE("lexer unterminated string") {
  CHECK(lex_error("s = \"abc\nx") ==
        "<test>:1:5: unterminated string: add the closing quote on the same line\n"
        "  s = \"abc\n      ^");
}

TEST_CASE("lexer bad exponent") {
  CHECK(lex_error("1e+") ==
        "<test>:1:2: invalid number: the exponent needs digits, as in 1e-3"
        "\n  1e+\n   ^");
}

TEST_CASE("lexer number glued to name") {
  CHECK(lex_error("x = 12ab") == "<test>:1:5: invalid number '12ab'\n  x = 12ab\n      ^");
}

TEST_CASE("lexer control character") {
  CHECK(lex_error("x\x01").find("<test>:1:2: unexpected control character 0x01") == 0);
}

TEST_CASE("needs continuation") {
  CHECK(needs_continuation("f(1,"));
  CHECK(needs_continuation("[[1, 2],\n [3"));
  CHECK_FALSE(needs_continuation("f(1)"));
  CHECK_FALSE(needs_continuation("x = 1"));
  CHECK_FALSE(needs_continuation(")"));
  // A lexical error is reported at once instead of waiting for more lines.
  CHECK_FALSE(needs_continuation("f(\"abc"));
  CHECK_FALSE(needs_continuation("# (("));
}

TEST_CASE("lexer operators all in grammar") {
  // The EBNF block of docs/language.md quotes every keyword and operator token.
  std::ifstream file(std::string(DAMO_SOURCE_DIR) + "/docs/language.md");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  std::string doc = text.str();
  std::size_t begin = doc.find("```ebnf");
  std::size_t end = doc.find("```", begin + 1);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  std::string grammar = doc.substr(begin, end - begin);

  for (int kind = static_cast<int>(TokenKind::And); kind <= static_cast<int>(TokenKind::Dot);
       ++kind) {
    // token_kind_name() spells these as the token in single quotes, such as '+'.
    std::string name(token_kind_name(static_cast<TokenKind>(kind)));
    std::string quoted = "\"" + name.substr(1, name.size() - 2) + "\"";
    CAPTURE(quoted);
    CHECK(grammar.find(quoted) != std::string::npos);
  }
}
