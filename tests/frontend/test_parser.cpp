// Parser tests: golden S-expressions for precedence, associativity, calls, subscripts,
// lists and statements.
#include <doctest/doctest.h>

#include <string>

#include "damo/frontend/parser.h"

using namespace damo;

namespace {

// The S-expression of each statement of text, one a line.
std::string parsed(const std::string& text) {
  SourceFile source("<test>", text);
  std::string out;
  for (const ast::Statement& statement : parse_program(source)) {
    if (!out.empty()) out += '\n';
    out += ast::to_sexpr(statement);
  }
  return out;
}

std::string parse_error(const std::string& text) {
  try {
    parsed(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("parser additive and multiplicative") {
  CHECK(parsed("a + b * c - d") == "(- (+ (name a) (* (name b) (name c))) (name d))");
  CHECK(parsed("a / b // c % d @ e") ==
        "(@ (% (// (/ (name a) (name b)) (name c)) (name d)) (name e))");
}

TEST_CASE("parser power is right associative") {
  CHECK(parsed("a ** b ** c") == "(** (name a) (** (name b) (name c)))");
}

TEST_CASE("parser power binds tighter than prefix minus") {
  CHECK(parsed("-x ** 2") == "(- (** (name x) (int 2)))");
  CHECK(parsed("-2 ** 2") == "(- (** (int 2) (int 2)))");
  CHECK(parsed("2 ** -1") == "(** (int 2) (int -1))");
  CHECK(parsed("2 ** -x") == "(** (int 2) (- (name x)))");
}

TEST_CASE("parser minus folds into literals") {
  CHECK(parsed("-3") == "(int -3)");
  CHECK(parsed("-1.5e3") == "(float -1500)");
  CHECK(parsed("-inf") == "(float -inf)");
  CHECK(parsed("--3") == "(- (int -3))");
  CHECK(parsed("-9223372036854775808") == "(int -9223372036854775808)");
  CHECK(parsed("x * -2") == "(* (name x) (int -2))");
}

TEST_CASE("parser spaced minus negates literal") {
  CHECK(parsed("- 3") == "(- (int 3))");
  CHECK(parsed("- 2 ** 2") == "(- (** (int 2) (int 2)))");
  CHECK(parse_error("- 9223372036854775808")
            .find("<test>:1:3: integer literal 9223372036854775808 does not fit in i64") == 0);
  CHECK(parse_error("-(9223372036854775808)")
            .find("<test>:1:3: integer literal 9223372036854775808 does not fit in i64") == 0);
}

TEST_CASE("parser logical precedence") {
  CHECK(parsed("a or b and not c == d") ==
        "(or (name a) (and (name b) (not (== (name c) (name d)))))");
  CHECK(parsed("not not a") == "(not (not (name a)))");
}

TEST_CASE("parser comparison below arithmetic") {
  CHECK(parsed("a + 1 < b * 2") == "(< (+ (name a) (int 1)) (* (name b) (int 2)))");
}

TEST_CASE("parser calls with keywords") {
  CHECK(parsed("softmax(z, axis=1)") == "(call (name softmax) (name z) (kw axis (int 1)))");
  CHECK(parsed("sum(x, axis=[0, 1], keepdims=true,)") ==
        "(call (name sum) (name x) (kw axis (list (int 0) (int 1))) (kw keepdims (bool true)))");
  CHECK(parsed("f()") == "(call (name f))");
  CHECK(parsed("f(a)(b)") == "(call (call (name f) (name a)) (name b))");
}

TEST_CASE("parser subscripts") {
  CHECK(parsed("x[1:3, ::2]") == "(index (name x) (slice (int 1) (int 3) _) (slice _ _ (int 2)))");
  CHECK(parsed("x[0]") == "(index (name x) (int 0))");
  CHECK(parsed("x[:, -1]") == "(index (name x) (slice _ _ _) (int -1))");
  CHECK(parsed("x[1:]") == "(index (name x) (slice (int 1) _ _))");
  CHECK(parsed("x[::-1]") == "(index (name x) (slice _ _ (int -1)))");
  CHECK(parsed("x[..., none, 0]") == "(index (name x) ... (name none) (int 0))");
  CHECK(parsed("f(x)[0][1]") == "(index (index (call (name f) (name x)) (int 0)) (int 1))");
}

TEST_CASE("parser lists and maps") {
  CHECK(parsed("[[1, 2], [3, 4]]") == "(list (list (int 1) (int 2)) (list (int 3) (int 4)))");
  CHECK(parsed("[]") == "(list)");
  CHECK(parsed("[W: W - 1, b: 0]") == "(map ((name W) (- (name W) (int 1))) ((name b) (int 0)))");
}

TEST_CASE("parser literals") {
  CHECK(parsed("true") == "(bool true)");
  CHECK(parsed("nan") == "(float nan)");
  CHECK(parsed("\"W\"") == "(string \"W\")");
  CHECK(parsed("1e-3") == "(float 0.001)");
}

TEST_CASE("parser fused ops") {
  CHECK(parsed("fused{sigmoid($0 + $1)}(x @ W, b)") ==
        "(fused (call (name sigmoid) (+ (param 0) (param 1))) (@ (name x) (name W)) (name b))");
  CHECK(parsed("fused_sum{$0 * $1}(x, y, axis=[1])") ==
        "(fused_sum (* (param 0) (param 1)) (name x) (name y) (kw axis (list (int 1))))");
}

TEST_CASE("parser statements") {
  CHECK(parsed("x = vector(f32)\n# comment\n\nx + 1\n:graph x") ==
        "(assign x (call (name vector) (name f32)))\n(+ (name x) (int 1))\n(command graph)");
}

TEST_CASE("parser continuation inside brackets") {
  CHECK(parsed("y = f(1,\n      2)\nz") == "(assign y (call (name f) (int 1) (int 2)))\n(name z)");
}

TEST_CASE("parser parentheses") {
  CHECK(parsed("(a + b) * c") == "(* (+ (name a) (name b)) (name c))");
  CHECK(parsed("((((a))))") == "(name a)");
}

TEST_CASE("parser statement after expression") {
  CHECK(parse_error("x = 1 2") ==
        "<test>:1:7: unexpected number 2 after the end of the statement; write one statement "
        "per line\n  x = 1 2\n        ^");
}

TEST_CASE("parser assignment target") {
  CHECK(parse_error("x[0] = 1") ==
        "<test>:1:6: cannot assign to this expression: the left side of '=' must be a name "
        "(use '==' to compare)\n  x[0] = 1\n       ^");
}

TEST_CASE("parser chained comparison") {
  CHECK(parse_error("a < b < c") ==
        "<test>:1:7: comparisons do not chain; write (a < b) and (b < c)\n  a < b < c\n        ^");
}

TEST_CASE("parser unclosed bracket points at the opener") {
  CHECK(parse_error("y = f(1,\n  [2, 3") ==
        "<test>:2:3: '[' is never closed; add ']'\n    [2, 3\n    ^");
}

TEST_CASE("parser mismatched bracket") {
  CHECK(parse_error("f(1]") ==
        "<test>:1:4: expected ')' to close the argument list, found ']'\n  f(1]\n     ^");
}

TEST_CASE("parser missing operand") {
  CHECK(parse_error("x = 1 +") ==
        "<test>:1:8: expected an expression, found end of input\n  x = 1 +\n         ^");
}

TEST_CASE("parser positional after keyword") {
  CHECK(parse_error("f(axis=1, x)") ==
        "<test>:1:11: a positional argument cannot follow a keyword argument\n"
        "  f(axis=1, x)\n            ^");
}

TEST_CASE("parser repeated keyword") {
  CHECK(parse_error("sum(x, axis=0, axis=1)") ==
        "<test>:1:16: keyword argument 'axis' is given twice\n  sum(x, axis=0, axis=1)\n"
        "                 ^");
}

TEST_CASE("parser integer literal too large") {
  CHECK(parse_error("9223372036854775808")
            .find("<test>:1:1: integer literal 9223372036854775808 does not fit in i64") == 0);
  CHECK(parse_error("99999999999999999999999999999999").find("does not fit in i64") !=
        std::string::npos);
}

TEST_CASE("parser float literal too large") {
  CHECK(parse_error("1e999") ==
        "<test>:1:1: float literal 1e999 is too large for f64; write inf for infinity\n"
        "  1e999\n  ^");
  // Underflow rounds to zero instead.
  CHECK(parsed("1e-999") == "(float 0)");
}

TEST_CASE("parser mixed list and map") {
  CHECK(parse_error("[W: 1, 2]").find("<test>:1:8: a list mixes plain items and key: value") == 0);
}

TEST_CASE("parser unary plus") {
  CHECK(parse_error("+x") == "<test>:1:1: unary '+' is not supported; remove it\n  +x\n  ^");
}

TEST_CASE("parser tuple") {
  CHECK(parse_error("(1, 2)").find("<test>:1:3: tuples are not supported") == 0);
}

TEST_CASE("parser brace outside fused") {
  CHECK(parse_error("x{1}").find("<test>:1:2: '{' follows only fused") == 0);
}

TEST_CASE("parser single expression") {
  SourceFile source("<test>", ":type a + b");
  ast::ExprPtr expr = parse_expression(source, 5);
  CHECK(ast::to_sexpr(*expr) == "(+ (name a) (name b))");
  CHECK(expr->offset == 6);
}
