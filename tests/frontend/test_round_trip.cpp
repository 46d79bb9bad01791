// Parse -> print -> parse round trips: to_infix() prints the language's own syntax, so
// reading its text back builds the very same (interned) node.
#include <doctest/doctest.h>

#include "damo/graph/printer.h"
#include "frontend_test_util.h"

using namespace damo;

namespace {

constexpr const char* kDeclarations =
    "x = vector(f32, [n])\n"
    "z = vector(f32, [n])\n"
    "y = vector(i64, [n])\n"
    "a = vector(bool, [n])\n"
    "b = vector(bool, [n])\n"
    "X = matrix(f32, [n, 6])\n"
    "T = tensor(f32, [5, 6])\n"
    "M = matrix(i64, [2, 2])\n"
    "W = shared(\"W\", zeros(f32, [6, 3]))\n"
    "c = shared(\"c\", zeros(f32, [3]))\n";

// Checks that the printed form of source reads back as the same node and prints the same.
void check_round_trip(Session& session, const std::string& source) {
  CAPTURE(source);
  Value first = session.evaluate(source);
  REQUIRE(first.is(Value::Kind::Tensor));
  std::string printed = to_infix(first.expr());
  CAPTURE(printed);
  Value second = session.evaluate(printed);
  REQUIRE(second.is(Value::Kind::Tensor));
  CHECK(second.expr().node() == first.expr().node());
  CHECK(to_infix(second.expr()) == printed);
}

}  // namespace

TEST_CASE("round trip operators") {
  Session session(damo::testing::reference_options());
  session.run(kDeclarations);
  for (const char* source : {
           "x + z * 2",      "(x + z) * 2",   "x - (z - x)",   "x - z - x",
           "x / z / 2",      "x / (z / 2)",   "-x ** 2",       "(-x) ** 2",
           "x ** -1",        "2 ** x ** 2",   "(2 ** x) ** 2", "x * -2",
           "x // 2 % 3",     "y // 2 % 3",    "X @ W",         "X @ W @ transpose(W)",
           "-(x - z)",       "- -x",          "x < z",         "(x < z) == a",
           "a == (x < z)",   "not (a and b)", "not a and b",   "a or b and not a",
           "(a or b) and a", "x + 1.5",       "x * nan",       "x + inf",
           "x - -inf",
       })
    check_round_trip(session, source);
}

TEST_CASE("round trip builtin calls") {
  Session session(damo::testing::reference_options());
  session.run(kDeclarations);
  for (const char* source : {
           "sigmoid(X @ W + c)",
           "sum(X, axis=0, keepdims=true)",
           "mean(X)",
           "sum(X, axis=[0, 1])",
           "max(X, axis=1)",
           "argmax(X, axis=1)",
           "logsumexp(X, axis=1)",
           "softmax(X, axis=1)",
           "log_softmax(X @ W)",
           "categorical_crossentropy(softmax(X @ W), y)",
           "categorical_crossentropy(softmax(X @ W), one_hot(y, 3))",
           "binary_crossentropy(sigmoid(x), z)",
           "cast(x, f64)",
           "f64(x)",
           "i32(y)",
           "where(x > 0, x, 0)",
           "clip(x, 0, 1)",
           "maximum(x, z)",
           "exp(x) / sum(exp(x))",
           "stop_gradient(x) * x",
           "isnan(x) or isinf(z)",
           "one_hot(y, 3)",
           "one_hot(y, 3, i64)",
           "take(X, y, axis=0)",
           "take(T, M, axis=1)",
           "expand_dims(x, 1)",
           "squeeze(expand_dims(x, 0))",
           "reshape(T, [3, 10])",
           "reshape(X, [n, 2, 3])",
           "transpose(T)",
           "transpose(T, [1, 0])",
           "broadcast_to(x, [4, n])",
           "concatenate([T, T, T], axis=0)",
           "softmax_crossentropy(X @ W, y)",
           "fused_matmul(X, W, c, activation=relu)",
           "fused_matmul(T, W, transpose_a=false)",
           "fused{$0 * 2 + $1}(x, z)",
           "fused_sum{$0 * $1}(X, X, axis=[1])",
           "fused_max{exp($0)}(X, axis=[0], keepdims=true)",
       })
    check_round_trip(session, source);
}

TEST_CASE("round trip subscripts") {
  Session session(damo::testing::reference_options());
  session.run(kDeclarations);
  for (const char* source : {
           "T[1:3]",
           "T[1:3, ::2]",
           "T[:, 4:0:-1]",
           "T[::-1]",
           "T[0]",
           "T[-1, 2]",
           "T[:, 1]",
           "X[:, 1:]",
           "X[0]",
           "x[0]",
           "T[1:4][0]",
           "x[1:] - x[:-1]",
           "sum(x[:0])",
           "X[2:-3, 1:]",
           "dim_size(n-5) + 0",
           "broadcast_to(x[1:][none], [2, n-1])",
       })
    check_round_trip(session, source);
}

TEST_CASE("round trip constants") {
  Session session(damo::testing::reference_options());
  session.run(kDeclarations);
  for (const char* source : {
           "[[1, 2], [3, 4]] @ M",
           "x + [0.5]",
           "M * [true, false]",
           "x * 1e+20",
           "x * 1e-7",
       })
    check_round_trip(session, source);
}

TEST_CASE("round trip gradients") {
  Session session(damo::testing::reference_options());
  session.run(kDeclarations);
  session.run(
      "loss = mean(categorical_crossentropy(softmax(X @ W + c, axis=1), y))\n"
      "gW = grad(loss, W)\ngc = grad(loss, c)\ngx = grad(sum(sigmoid(x) * z), x)\n"
      "gs = grad(sum(x[1:] * x[:-1]) + sum(square(X[2:-3])), [x, X])");
  for (const char* source : {"loss", "gW", "gc", "gx", "gs[0]", "gs[1]"}) {
    Value value = session.evaluate(source);
    REQUIRE(value.is(Value::Kind::Tensor));
    check_round_trip(session, to_infix(value.expr()));
  }
}

TEST_CASE("round trip printed values") {
  // The NumPy-style text of a constant reads back as a list literal with the same values.
  Session session(damo::testing::reference_options());
  Tensor original = session.compute("[[1.5, -2.0], [nan, inf]]");
  std::string text = session.run("[[1.5, -2.0], [nan, inf]]").at(0);
  std::string literal = text.substr(0, text.find(" : "));
  CHECK(session.compute(literal).equals(original));
}
