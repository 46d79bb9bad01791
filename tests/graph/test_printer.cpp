// Golden-text tests of to_infix(), dump() and to_dot().
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <sstream>

#include "damo/graph/ops.h"
#include "damo/graph/printer.h"

using namespace damo;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;
constexpr DType I64 = DType::Int64;
constexpr DType B = DType::Bool;

// Scalar operands of every kind, for the precedence cases.
struct Scalars {
  Graph g;
  Expr a = g.input("a", F32, {});
  Expr b = g.input("b", F32, {});
  Expr c = g.input("c", F32, {});
  Expr p = g.input("p", B, {});
  Expr q = g.input("q", B, {});
  Expr r = g.input("r", B, {});
};

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("infix arithmetic precedence") {
  Scalars s;
  auto [a, b, c] = std::tuple(s.a, s.b, s.c);
  CHECK(to_infix(a + b * c) == "a + b * c");
  CHECK(to_infix((a + b) * c) == "(a + b) * c");
  CHECK(to_infix(a - b - c) == "a - b - c");
  CHECK(to_infix(a - (b - c)) == "a - (b - c)");
  CHECK(to_infix(a * b / c) == "a * b / c");
  CHECK(to_infix(a / (b * c)) == "a / (b * c)");
  CHECK(to_infix(mod(floor_div(a, b), c)) == "a // b % c");
  CHECK(to_infix(floor_div(a, mod(b, c))) == "a // (b % c)");
  CHECK(to_infix(a + (b + c)) == "a + (b + c)");
}

TEST_CASE("infix unary minus and power") {
  Scalars s;
  auto [a, b, c] = std::tuple(s.a, s.b, s.c);
  CHECK(to_infix(-a * b) == "-a * b");
  CHECK(to_infix(-(a * b)) == "-(a * b)");
  CHECK(to_infix(-pow(a, b)) == "-a ** b");
  CHECK(to_infix(pow(-a, b)) == "(-a) ** b");
  CHECK(to_infix(pow(a, pow(b, c))) == "a ** b ** c");
  CHECK(to_infix(pow(pow(a, b), c)) == "(a ** b) ** c");
  CHECK(to_infix(pow(a, -b)) == "a ** (-b)");
  CHECK(to_infix(pow(a, b * c)) == "a ** (b * c)");
  CHECK(to_infix(pow(a * b, c)) == "(a * b) ** c");
  CHECK(to_infix(-(-a)) == "--a");
  CHECK(to_infix(a - -b) == "a - -b");
  CHECK(to_infix(a * -b) == "a * -b");
  CHECK(to_infix(-(a + b)) == "-(a + b)");
  CHECK(to_infix(exp(-a)) == "exp(-a)");
}

TEST_CASE("infix comparisons and logic") {
  Scalars s;
  auto [a, b, c] = std::tuple(s.a, s.b, s.c);
  auto [p, q, r] = std::tuple(s.p, s.q, s.r);
  CHECK(to_infix(a + b < c) == "a + b < c");
  CHECK(to_infix(eq(a < b, c < a)) == "(a < b) == (c < a)");
  CHECK(to_infix(ne(a, b)) == "a != b");
  CHECK(to_infix(le(a, b)) == "a <= b");
  CHECK(to_infix(gt(a, b)) == "a > b");
  CHECK(to_infix(ge(a, b)) == "a >= b");
  CHECK(to_infix(!(a < b)) == "not a < b");
  CHECK(to_infix((!p) & q) == "not p and q");
  CHECK(to_infix(!(p & q)) == "not (p and q)");
  CHECK(to_infix(!!p) == "not not p");
  CHECK(to_infix(p | (q & r)) == "p or q and r");
  CHECK(to_infix((p | q) & r) == "(p or q) and r");
  CHECK(to_infix((p | q) | r) == "p or q or r");
  CHECK(to_infix(p | (q | r)) == "p or (q or r)");
  CHECK(to_infix(eq(!p, q)) == "(not p) == q");
  CHECK(to_infix((a < b) & (b < c)) == "a < b and b < c");
  CHECK(to_infix(p & !q) == "p and not q");
}

TEST_CASE("infix matmul and indexing operands") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 4});
  Expr w = g.input("W", F32, {4, 4});
  Expr v = g.input("V", F32, {4, 4});
  Expr bias = g.input("b", F32, {4});
  CHECK(to_infix(sigmoid(matmul(x, w) + bias)) == "sigmoid(x @ W + b)");
  CHECK(to_infix(matmul(matmul(x, w), v)) == "x @ W @ V");
  CHECK(to_infix(matmul(x, matmul(w, v))) == "x @ (W @ V)");
  CHECK(to_infix(matmul(x + x, w)) == "(x + x) @ W");
  CHECK(to_infix(slice(x + x, 1, 1, 3)) == "(x + x)[:, 1:3]");
  CHECK(to_infix(slice(-x, 1, 1, std::nullopt)) == "(-x)[:, 1:]");
  CHECK(to_infix(slice(exp(x), 1, 1, 3)) == "exp(x)[:, 1:3]");
  CHECK(to_infix(pow(slice(x, 1, 1, std::nullopt), x.graph().literal(2, true))) ==
        "x[:, 1:] ** 2");
}

TEST_CASE("infix call attributes") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  Expr y = g.input("y", F32, {"n", 3});
  Expr x3 = g.input("x3", F32, {2, 3, 4});
  Expr v = g.input("v", F32, {3});
  Expr i = g.input("i", I64, {"k"});
  Expr idx = g.input("idx", I64, {"n", 2});
  Expr labels = g.input("labels", I64, {"n"});
  Expr p = g.input("p", B, {"n", 3});

  CHECK(to_infix(exp(x)) == "exp(x)");
  CHECK(to_infix(maximum(x, y)) == "maximum(x, y)");
  CHECK(to_infix(minimum(x, y)) == "minimum(x, y)");
  CHECK(to_infix(stop_gradient(x)) == "stop_gradient(x)");
  CHECK(to_infix(isnan(x)) == "isnan(x)");
  CHECK(to_infix(sum(x3, {0, 1}, true)) == "sum(x3, axis=[0, 1], keepdims=true)");
  CHECK(to_infix(sum(x3)) == "sum(x3)");
  CHECK(to_infix(sum(x3, {}, true)) == "sum(x3, keepdims=true)");
  CHECK(to_infix(mean(x, {0, 1})) == "mean(x)");
  CHECK(to_infix(argmax(x, 1)) == "argmax(x, axis=[1])");
  CHECK(to_infix(logsumexp(x3, -1)) == "logsumexp(x3, axis=[2])");
  CHECK(to_infix(softmax(x, 1)) == "softmax(x, axis=1)");
  CHECK(to_infix(log_softmax(x)) == "log_softmax(x, axis=1)");
  CHECK(to_infix(cast(x, F64)) == "cast(x, f64)");
  CHECK(to_infix(transpose(x)) == "transpose(x, [1, 0])");
  CHECK(to_infix(transpose(x3, {0, 2, 1})) == "transpose(x3, [0, 2, 1])");
  CHECK(to_infix(reshape(x, {"n", 3, 1})) == "reshape(x, [n, 3, 1])");
  CHECK(to_infix(reshape(x3, {-1})) == "reshape(x3, [24])");
  CHECK(to_infix(expand_dims(x, 0)) == "expand_dims(x, 0)");
  CHECK(to_infix(squeeze(expand_dims(x, 0), 0)) == "squeeze(expand_dims(x, 0), axis=[0])");
  CHECK(to_infix(broadcast_to(v, {"n", 3})) == "broadcast_to(v, [n, 3])");
  CHECK(to_infix(concatenate({x, y}, 1)) == "concatenate([x, y], axis=1)");
  CHECK(to_infix(take(x, i, 0)) == "take(x, i, axis=0)");
  CHECK(to_infix(take_along_axis(x, idx, 1)) == "take_along_axis(x, idx, axis=1)");
  CHECK(to_infix(one_hot(labels, 3)) == "one_hot(labels, 3, f32)");
  CHECK(to_infix(where(p, x, y)) == "where(p, x, y)");
  CHECK(to_infix(clip(x, y, x)) == "clip(x, y, x)");
  CHECK(to_infix(categorical_crossentropy(softmax(x), y)) ==
        "categorical_crossentropy(softmax(x, axis=1), y)");
  CHECK(to_infix(categorical_crossentropy(x, labels)) ==
        "sparse_categorical_crossentropy(x, labels)");
  CHECK(to_infix(binary_crossentropy(sigmoid(x), y)) == "binary_crossentropy(sigmoid(x), y)");
  CHECK(to_infix(softmax_crossentropy(x, labels)) == "sparse_softmax_crossentropy(x, labels)");
}

TEST_CASE("infix gradient op attributes") {
  Graph g;
  Expr src = g.input("src", F32, {2, 3});
  Expr i = g.input("i", I64, {2});
  Expr idx = g.input("idx", I64, {2, 3});
  CHECK(to_infix(slice_scatter(src, {5, 3}, 0, 1, 3, 1)) ==
        "slice_scatter(src, [5, 3], axis=0, start=1, stop=3, step=1)");
  CHECK(to_infix(index_add(src, i, {7, 3}, 0)) == "index_add(src, i, [7, 3], axis=0)");
  CHECK(to_infix(scatter_add_along_axis(src, idx, {2, 9}, 1)) ==
        "scatter_add_along_axis(src, idx, [2, 9], axis=1)");
}

TEST_CASE("infix fused ops") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 4});
  Expr y = g.input("y", F32, {"n", 4});
  Expr w = g.input("W", F32, {4, 3});
  Expr a = g.input("A", F32, {4, "n"});
  Expr bias = g.input("bias", F32, {3});
  Expr p0 = param(g, 0, F32);
  Expr p1 = param(g, 1, F32);

  CHECK(to_infix(fused_matmul(a, w, bias, OpKind::Sigmoid, true)) ==
        "fused_matmul(A, W, bias, activation=sigmoid, transpose_a=true)");
  CHECK(to_infix(fused_matmul(x, w, Expr(), OpKind::Param)) == "fused_matmul(x, W)");
  CHECK(to_infix(fused_matmul(x, x, Expr(), OpKind::Relu, false, true)) ==
        "fused_matmul(x, x, activation=relu, transpose_b=true)");
  CHECK(to_infix(fused_elementwise(sigmoid(p0 + p1), {matmul(x, w), bias})) ==
        "fused{sigmoid($0 + $1)}(x @ W, bias)");
  CHECK(to_infix(fused_reduction(OpKind::Sum, p0 * p1, {x, y}, 1, false)) ==
        "fused_sum{$0 * $1}(x, y, axis=[1])");
  CHECK(to_infix(fused_reduction(OpKind::Max, p0, {x}, 1, true)) ==
        "fused_max{$0}(x, axis=[1], keepdims=true)");
  CHECK(to_infix(fused_reduction(OpKind::Sum, exp(p0), {x}, {}, false)) == "fused_sum{exp($0)}(x)");
  CHECK(to_infix(p1) == "$1");
}

TEST_CASE("infix scalar constants") {
  Graph g;
  Expr x = g.input("x", F32, {});
  CHECK(to_infix(g.scalar(0.5, F32)) == "0.5");
  CHECK(to_infix(g.scalar(0.1, F32)) == "0.1");
  CHECK(to_infix(g.scalar(2, F32)) == "2");
  CHECK(to_infix(g.scalar(2, I64)) == "2");
  CHECK(to_infix(g.scalar(1e20, F64)) == "1e+20");
  CHECK(to_infix(g.scalar(1, B)) == "true");
  CHECK(to_infix(g.scalar(0, B)) == "false");
  CHECK(to_infix(g.scalar(std::nan(""), F64)) == "nan");
  CHECK(to_infix(g.scalar(INFINITY, F32)) == "inf");
  CHECK(to_infix(g.scalar(-INFINITY, F32)) == "-inf");
  CHECK(to_infix(g.scalar(-0.0, F64)) == "-0");
  CHECK(to_infix(x * 0.5) == "x * 0.5");
  CHECK(to_infix(x * -2) == "x * -2");
  CHECK(to_infix(x - -2) == "x - -2");
  CHECK(to_infix(-2 - x) == "-2 - x");
  CHECK(to_infix(x + -INFINITY) == "x + -inf");
  CHECK(to_infix(pow(x, g.literal(-2))) == "x ** (-2)");
  CHECK(to_infix(pow(g.literal(-2), x)) == "(-2) ** x");
  CHECK(to_infix(pow(g.literal(2), x)) == "2 ** x");
  CHECK(to_infix(-g.literal(2)) == "-2");
}

TEST_CASE("infix tensor constants") {
  Graph g;
  CHECK(to_infix(g.constant(Tensor::from_list({{1, 2}, {3, 4}}))) == "[[1, 2], [3, 4]]");
  CHECK(to_infix(g.constant(Tensor::from_list({-1.5, 2}, F64))) == "[-1.5, 2]");
  CHECK(to_infix(g.constant(Tensor::from_list({1, 0, 1}, B))) == "[true, false, true]");
  CHECK(to_infix(g.constant(Tensor::from_list({7}, I64))) == "[7]");
  CHECK(to_infix(g.constant(Tensor::from_list({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}))) ==
        "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]");
  CHECK(to_infix(g.constant(Tensor::zeros(F32, {1, 1, 1}))) == "[[[0]]]");
  CHECK(to_infix(g.constant(Tensor::zeros(F32, {9}))) == "constant(f32, (9,))");
  CHECK(to_infix(g.constant(Tensor::zeros(F64, {100, 3}))) == "constant(f64, (100, 3))");
  CHECK(to_infix(g.constant(Tensor::zeros(F32, {0, 3}))) == "constant(f32, (0, 3))");

  // A list constant is an atom: no parentheses under ** or indexing.
  Expr m = g.constant(Tensor::from_list({1, 2, 3}));
  CHECK(to_infix(pow(m, m)) == "[1, 2, 3] ** [1, 2, 3]");
  CHECK(to_infix(slice(m, 0, 1, std::nullopt)) == "[1, 2, 3][1:]");
}

TEST_CASE("infix slices") {
  Graph g;
  Expr v = g.input("v", F32, {6});
  Expr m = g.input("m", F32, {6, 8});
  using std::nullopt;
  CHECK(to_infix(slice(v, 0, 1, 3)) == "v[1:3]");
  CHECK(to_infix(slice(v, 0, -2, nullopt)) == "v[4:]");
  CHECK(to_infix(slice(v, 0, nullopt, 2)) == "v[:2]");
  CHECK(to_infix(slice(v, 0, nullopt, nullopt, 2)) == "v[::2]");
  CHECK(to_infix(slice(v, 0, nullopt, nullopt, -1)) == "v[::-1]");
  CHECK(to_infix(slice(v, 0, 4, nullopt, -2)) == "v[4::-2]");
  CHECK(to_infix(slice(v, 0, -10, nullopt, -1)) == "v[0:0:-1]");
  CHECK(to_infix(slice(v, 0, 4, 4)) == "v[:0]");
  CHECK(to_infix(slice(m, 1, nullopt, nullopt, 2)) == "m[:, ::2]");
  CHECK(to_infix(slice(m, 1, 4, 0, -1)) == "m[:, 4:0:-1]");
  CHECK(to_infix(slice(m, 1, nullopt, 0, -1)) == "m[:, :0:-1]");
  CHECK(to_infix(slice(m, 1, 100, -100, -3)) == "m[:, ::-3]");
  CHECK(to_infix(slice(slice(m, 0, 1, 3), 1, nullopt, nullopt, 2)) == "m[1:3, ::2]");
  CHECK(to_infix(slice(slice(m, 1, nullopt, nullopt, 2), 0, 1, 3)) == "m[1:3, ::2]");
  CHECK(to_infix(slice(slice(m, 0, 1, 5), 0, 1, 3)) == "m[1:5][1:3]");
}

TEST_CASE("infix deep left chain") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr e = x;
  for (int i = 0; i < 100000; ++i) e = e + 1;
  std::string text = to_infix(e);
  CHECK(text.size() == 1 + 100000 * 4);
  CHECK(text.starts_with("x + 1 + 1"));
  CHECK(text.ends_with("+ 1 + 1"));
  CHECK(count_of(text, "(") == 0);
}

TEST_CASE("infix deep right chain") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr e = x;
  for (int i = 0; i < 100000; ++i) e = 1 - e;
  std::string text = to_infix(e);
  CHECK(text.starts_with("1 - (1 - (1 - "));
  CHECK(count_of(text, "(") == 99999);
  CHECK(count_of(text, ")") == 99999);
  CHECK(text.ends_with("1 - x" + std::string(99999, ')')));

  Expr n = x;
  for (int i = 0; i < 100000; ++i) n = -n;
  CHECK(to_infix(n) == std::string(100000, '-') + "x");
}

TEST_CASE("infix exponential sharing falls back to dump") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr e = x;
  for (int i = 0; i < 200; ++i) e = e + e;
  std::string text = to_infix(e);
  CHECK(text == dump({e}));
  CHECK(text.starts_with("%200 = add f32 ()\n"));

  // 2^18 leaves, 2^19 - 1 occurrences in all, are under the limit and print in full.
  Expr small = x;
  for (int i = 0; i < 18; ++i) small = small * small;
  CHECK(count_of(to_infix(small), "x") == (1u << 18));
}

TEST_CASE("infix undefined expression") {
  CHECK(to_infix(Expr()) == "<undefined>");
  Graph g;
  Expr x = g.input("x", F32, {});
  CHECK((x + 1).to_string() == "x + 1");
}

TEST_CASE("dump prints shared subtree once") {
  Graph g;
  Expr a = g.input("a", F32, {2, 3});
  Expr b = g.input("b", F32, {3});
  Expr s = a + b;
  Expr r = sum(s * s, 1);
  std::string expected =
      "%4 = sum f32 (2,) axis=[1]\n"
      "  %3 = mul f32 (2, 3)\n"
      "    %2 = add f32 (2, 3)\n"
      "      %0 = input f32 (2, 3) a\n"
      "      %1 = input f32 (3,) b\n"
      "    %2\n";
  CHECK(dump({r}) == expected);
  CHECK(dump({r}) == dump({r}));
}

TEST_CASE("dump leaves attributes and roots") {
  Graph g;
  Expr x = g.input("x", DType::Int32, {"n", 3});
  Expr w = g.shared("w", Tensor::zeros(F32, {3}));
  Expr big = g.constant(Tensor::zeros(F32, {10}));
  // The literal 0.5 is created as a weak f64 (%4) and converted to a weak f32 (%5).
  Expr y = cast(x, F32) * 0.5 + w;
  Expr z = sum(y + slice(big, 0, 1, 4), {}, true);
  std::string expected =
      "%10 = sum f32 (1, 1) axis=[0, 1] keepdims=true\n"
      "  %9 = add f32 (n, 3)\n"
      "    %7 = add f32 (n, 3)\n"
      "      %6 = mul f32 (n, 3)\n"
      "        %3 = cast f32 (n, 3)\n"
      "          %0 = input i32 (n, 3) x\n"
      "        %5 = constant f32 () weak 0.5\n"
      "      %1 = shared f32 (3,) w\n"
      "    %8 = slice f32 (3,) axis=0 start=1 stop=4 step=1\n"
      "      %2 = constant f32 (10,)\n"
      "%0\n";
  CHECK(dump({z, x}) == expected);
}

TEST_CASE("dump fused and layout attributes") {
  Graph g;
  Expr x = g.input("x", F32, {2, 3});
  Expr p0 = param(g, 0, F32);
  Expr f = fused_reduction(OpKind::Sum, exp(p0), {x}, 1, false);
  std::vector<std::string> lines = lines_of(dump({f}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "%3 = fused_reduction f32 (2,) reduce=sum axis=[1] body={exp($0)}");
  CHECK(lines[1] == "  %0 = input f32 (2, 3) x");

  CHECK(lines_of(dump({transpose(x)}))[0] == "%4 = transpose f32 (3, 2) perm=[1, 0]");
  CHECK(lines_of(dump({softmax(x)}))[0] == "%5 = softmax f32 (2, 3) axis=1");
  Expr labels = g.input("labels", I64, {4});
  CHECK(lines_of(dump({one_hot(labels, 5)}))[0] == "%7 = one_hot f32 (4, 5) depth=5");
  CHECK(lines_of(dump({p0}))[0] == "%1 = param f32 () index=0");
  CHECK(lines_of(dump({fused_matmul(x, x, Expr(), OpKind::Tanh, false, true)}))[0] ==
        "%8 = fused_matmul f32 (2, 2) activation=tanh transpose_b=true");
  CHECK(lines_of(dump({fused_elementwise(p0 * 2, {x})}))[0] ==
        "%12 = fused_elementwise f32 (2, 3) body={$0 * 2}");
}

TEST_CASE("dump deep chain is cut into trees") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr e = x;
  for (int i = 0; i < 100000; ++i) e = exp(e);
  std::vector<std::string> lines = lines_of(dump({e}));
  CHECK(lines.size() == 100001 + 100001 / 65);
  std::size_t longest = 0;
  for (const std::string& line : lines) longest = std::max(longest, line.size());
  CHECK(longest <= 2 * 65 + 40);
  REQUIRE(lines.size() > 66);
  CHECK(lines[65].ends_with("(continued below)"));
  CHECK(lines[66].starts_with("%"));
  CHECK(lines[66].find(" = exp f32 ()") != std::string::npos);
  CHECK(lines.back().ends_with(" %0 = input f32 () x"));
}

namespace {

// True when text is a digraph whose lines are each a node or edge statement with a
// properly quoted and escaped label.
bool is_well_formed_dot(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  if (lines.size() < 3) return false;
  if (lines.front() != "digraph damo {" || lines.back() != "}") return false;
  std::regex node("  n[0-9]+ \\[label=" + std::string(R"("(?:[^"\\\n]|\\.)*")") + "\\];");
  std::regex edge(R"(  n[0-9]+ -> n[0-9]+ \[label="[0-9]+"\];)");
  for (std::size_t i = 2; i + 1 < lines.size(); ++i)
    if (!std::regex_match(lines[i], node) && !std::regex_match(lines[i], edge)) return false;
  return true;
}

}  // namespace

TEST_CASE("dot nodes and edges") {
  Graph g;
  Expr a = g.input("a", F32, {"n", 3});
  Expr e = a * a + 1;
  std::string expected =
      "digraph damo {\n"
      "  node [shape=box, fontname=\"monospace\"];\n"
      "  n0 [label=\"%0 input a\\nf32 (n, 3)\"];\n"
      "  n1 [label=\"%1 mul\\nf32 (n, 3)\"];\n"
      "  n3 [label=\"%3 constant weak 1\\nf32 ()\"];\n"
      "  n4 [label=\"%4 add\\nf32 (n, 3)\"];\n"
      "  n0 -> n1 [label=\"0\"];\n"
      "  n0 -> n1 [label=\"1\"];\n"
      "  n1 -> n4 [label=\"0\"];\n"
      "  n3 -> n4 [label=\"1\"];\n"
      "}\n";
  CHECK(to_dot({e}) == expected);
  CHECK(is_well_formed_dot(to_dot({e})));
}

TEST_CASE("dot escapes labels") {
  Graph g;
  Expr a = g.input("say \"hi\"\\now", F32, {2});
  Expr b = g.input("line\nbreak", F32, {2});
  std::string dot = to_dot({a + b});
  CHECK(dot.find("n0 [label=\"%0 input say \\\"hi\\\"\\\\now\\nf32 (2,)\"];") !=
        std::string::npos);
  CHECK(dot.find("n1 [label=\"%1 input line\\nbreak\\nf32 (2,)\"];") != std::string::npos);
  CHECK(is_well_formed_dot(dot));

  Expr p0 = param(g, 0, F32);
  Expr f = fused_elementwise(sigmoid(p0), {a});
  std::string fused = to_dot({f, a + b});
  CHECK(fused.find("body={sigmoid($0)}") != std::string::npos);
  CHECK(is_well_formed_dot(fused));
  CHECK(count_of(fused, "[label=\"%0 ") == 1);
}
