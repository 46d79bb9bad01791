// One test per diagnostic of the interpreter: the message text and its line:column.
#include <doctest/doctest.h>

#include <fstream>

#include "frontend_test_util.h"

using namespace damo;
using damo::testing::error_of;

namespace {

// Declarations that most tests below build on.
constexpr const char* kPrelude =
    "x = vector(f32)\n"
    "X = matrix(f32, [n, 3])\n"
    "W = shared(\"W\", zeros(f32, [4, 2]))\n";

std::string with_prelude(const std::string& code) { return kPrelude + code; }

bool contains_text(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("diagnostic unknown function") {
  auto e = error_of(with_prelude("softmx(x)"));
  CHECK(e.message == "unknown function 'softmx'; did you mean 'softmax'?");
  CHECK(e.line == 4);
  CHECK(e.column == 1);
  CHECK(e.what ==
        "<test>:4:1: unknown function 'softmx'; did you mean 'softmax'?\n"
        "  softmx(x)\n  ^");
}

TEST_CASE("diagnostic unknown variable with hint") {
  auto e = error_of(with_prelude("y = 2 * xx"));
  CHECK(e.message == "unknown variable 'xx'; did you mean 'x'?");
  CHECK(e.line == 4);
  CHECK(e.column == 9);
}

TEST_CASE("diagnostic unknown variable without hint") {
  auto e = error_of("zzzzzz + 1");
  CHECK(e.message == "unknown variable 'zzzzzz'");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic too many arguments") {
  auto e = error_of(with_prelude("softmax(x, 0, 1)"));
  CHECK(e.message == "softmax() takes at most 2 arguments (x, axis), but 3 were given");
  CHECK(e.line == 4);
  CHECK(e.column == 15);
}

TEST_CASE("diagnostic unknown keyword") {
  auto e = error_of(with_prelude("sum(x, axes=0)"));
  CHECK(e.message == "sum() has no argument named 'axes'; did you mean 'axis'?");
  CHECK(e.column == 8);
}

TEST_CASE("diagnostic derived size in bare shape") {
  std::string expected = "input 'x': the size n-1 in shape (n-1,) is derived from the symbol n; "
                         "declare the input with a symbol of its own";
  CHECK(error_of("x = vector(f32, n-1)").message == expected);
  CHECK(error_of("x = vector(f32, [n-1])").message == expected);
  CHECK(error_of("x = vector(f32, n*2)").message ==
        "input 'x': the size n*2 in shape (n*2,) is derived from the symbol n; declare the input "
        "with a symbol of its own");
  CHECK(error_of("x = vector(f32, n/2)").message ==
        "a symbolic size such as n can only be multiplied or reduced by constants, as in n*2 or "
        "n-1; other arithmetic on it has no size in Damo");
  CHECK(error_of("k = 3\nx = vector(f32, k-1)\n:type x").thrown == false);
}

TEST_CASE("diagnostic missing argument") {
  auto e = error_of(with_prelude("clip(x, 0)"));
  CHECK(e.message == "clip() is missing argument 'high'; call it as clip(x, low, high)");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic two values for one argument") {
  auto e = error_of(with_prelude("softmax(x, 0, axis=0)"));
  CHECK(e.message == "softmax() got two values for argument 'axis'");
  CHECK(e.column == 15);
}

TEST_CASE("diagnostic shape error at operator") {
  auto e = error_of(with_prelude("y = X @ W"));
  CHECK(e.message.find("matmul: cannot multiply (n, 3) by (4, 2)") == 0);
  CHECK(e.line == 4);
  CHECK(e.column == 7);
}

TEST_CASE("diagnostic shape error at call") {
  auto e = error_of(with_prelude("y = 1 + matmul(X, W)"));
  CHECK(e.message.find("matmul: cannot multiply (n, 3) by (4, 2)") == 0);
  CHECK(e.column == 9);
}

TEST_CASE("diagnostic broadcast error") {
  auto e = error_of("[1, 2, 3] + [1, 2]");
  CHECK(e.message ==
        "add: shapes (3,) and (2,) do not broadcast: each axis, aligned from the "
        "last, must have equal sizes or size 1");
  CHECK(e.column == 11);
}

TEST_CASE("diagnostic integer argument") {
  auto e = error_of(with_prelude("sum(x, axis=1.5)"));
  CHECK(e.message == "sum() argument 'axis' must be an integer, not f64 ()");
  CHECK(e.column == 13);
}

TEST_CASE("diagnostic dtype argument") {
  auto e = error_of(with_prelude("cast(x, 3)"));
  CHECK(e.message ==
        "cast() argument 'dtype' must be a dtype (bool, i32, i64, f32 or f64), "
        "not a tensor");
  CHECK(e.column == 9);
}

TEST_CASE("diagnostic not callable") {
  auto e = error_of(with_prelude("x(1)"));
  CHECK(e.message ==
        "a tensor is not callable; only builtins, dtypes and compiled functions "
        "can be called");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic builtin used as tensor") {
  auto e = error_of("1 + sum");
  CHECK(e.message == "expected a tensor, but this is a builtin function; call it, as in sum(...)");
  CHECK(e.column == 5);
}

TEST_CASE("diagnostic assignment to builtin") {
  auto e = error_of("sum = 1");
  CHECK(e.message == "cannot assign to 'sum': it names a builtin function; choose another name");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic assignment to dtype") {
  auto e = error_of("f32 = 1");
  CHECK(e.message == "cannot assign to 'f32': it names a dtype; choose another name");
}

TEST_CASE("diagnostic input without a name") {
  auto e = error_of("y = 2 * vector(f32)");
  CHECK(e.message ==
        "vector() declares an input, which is named after its variable; assign "
        "it, as in x = vector(f32)");
  CHECK(e.column == 9);
}

TEST_CASE("diagnostic input redeclared") {
  auto e = error_of("x = vector(f32)\nx = vector(f64)");
  CHECK(e.message.find("input 'x' is already declared as f32 (x_0,)") == 0);
  CHECK(e.line == 2);
  CHECK(e.column == 5);
}

TEST_CASE("diagnostic input shape rank") {
  auto e = error_of("X = matrix(f32, [n])");
  CHECK(e.message == "matrix() needs 2 dimensions, but the shape has 1");
  CHECK(e.column == 17);
}

TEST_CASE("diagnostic integer literal beyond i32") {
  // The literal would wrap around to 705032704 in i32 and compare wrongly.
  auto e = error_of("x = vector(i32)\nx < 5000000000");
  CHECK(e.message ==
        "the integer literal 5000000000 does not fit i32, the dtype of the tensor it is combined "
        "with (i32 holds -2147483648 to 2147483647); cast that tensor to i64 first");
  CHECK(e.line == 2);
  CHECK(error_of("clip(i32([1]), 0, -2147483649)").message.find("-2147483649 does not fit i32") !=
        std::string::npos);
}

TEST_CASE("diagnostic param outside a fused body") {
  auto e = error_of("f = function([], param(0, f32) * 2)");
  CHECK(e.message ==
        "compile: the outputs or updates contain param(0), which is an operand placeholder of a "
        "fused_elementwise body and has no value elsewhere; use an input instead");
}

TEST_CASE("diagnostic ragged list") {
  auto e = error_of("[[1, 2], [3]]");
  CHECK(e.message == "list items must have one shape, but they have shapes (2,) and (1,)");
}

TEST_CASE("diagnostic index out of range") {
  auto e = error_of("v = [1, 2, 3]\nv[5]");
  CHECK(e.message == "index 5 is out of range for axis 0 of size 3");
  CHECK(e.line == 2);
  CHECK(e.column == 3);
}

TEST_CASE("diagnostic too many subscripts") {
  auto e = error_of("v = [1, 2, 3]\nv[0, 0]");
  CHECK(e.message == "too many subscripts: the tensor has rank 1 ((3,)) but 2 were given");
  CHECK(e.column == 6);
}

TEST_CASE("diagnostic float subscript") {
  auto e = error_of("v = [1, 2, 3]\nv[0.5]");
  CHECK(e.message ==
        "a subscript must be an integer, a slice, none, ... or an integer index tensor, not f64");
  CHECK(e.column == 3);
}

TEST_CASE("diagnostic unknown command") {
  auto e = error_of(":grap 1");
  CHECK(e.message == "unknown command ':grap'; did you mean ':graph'?");
  // Two neighbouring letters swapped count as one edit.
  CHECK(error_of(":tpye 1").message == "unknown command ':tpye'; did you mean ':type'?");
  CHECK(error_of(":qiut").message == "unknown command ':qiut'; did you mean ':quit'?");
  CHECK(error_of("sotfmax(1)").message == "unknown function 'sotfmax'; did you mean 'softmax'?");
}

TEST_CASE("diagnostic command argument error column") {
  auto e = error_of(with_prelude(":type x +* 2"));
  CHECK(e.message == "expected an expression, found '*'");
  CHECK(e.line == 4);
  CHECK(e.column == 10);
}

TEST_CASE("diagnostic command without expression") {
  auto e = error_of(":graph");
  CHECK(e.message == ":graph needs an expression, as in :graph x + 1");
}

TEST_CASE("diagnostic nesting too deep") {
  std::string code = std::string(300, '(') + "1" + std::string(300, ')');
  auto e = error_of(code);
  CHECK(e.message ==
        "expression is nested too deeply (more than 256 levels); split it into "
        "several statements");
  CHECK(e.line == 1);
  CHECK(e.column == 257);
}

TEST_CASE("diagnostic operator chain too long") {
  std::string code = "1";
  for (int i = 0; i < 300; ++i) code += " + 1";
  auto e = error_of(code);
  CHECK(e.message.find("expression is nested too deeply") == 0);
}

TEST_CASE("diagnostic evaluation too large") {
  auto e = error_of("zeros(f32, [100000, 100000])");
  CHECK(e.message ==
        "zeros(): a tensor of shape (100000, 100000) has 10000000000 elements, "
        "more than the 268435456 that the interpreter creates; pass larger tensors as arguments "
        "of a compiled function (function([...], [...]))");
  CHECK(e.column == 12);
}

TEST_CASE("diagnostic evaluation cost of a matrix product") {
  // The work of a product is m * k * n with k the contracted size: 46341 x 1 times 1 x 1 is
  // 46341 multiply-adds, not 46341^2.
  CHECK(damo::testing::output("A = ones(f32, [46341, 1])\nB = ones(f32, [1, 1])\nsum(A @ B)") ==
        "46341. : f32 ()");
  auto e = error_of("A = ones(f32, [2000, 2000])\nsum(A @ A)");
  CHECK(e.message ==
        "evaluating this right away would take more than 2147483648 element operations; "
        "compile it with function(...) instead");
}

TEST_CASE("diagnostic broadcast result too large") {
  auto e = error_of("a = zeros(f32, [100000])\nb = zeros(f32, [100000, 1])\na + b");
  CHECK(e.message.find("add would make a tensor of shape (100000, 100000)") == 0);
  CHECK(e.line == 3);
}

TEST_CASE("diagnostic shared name taken") {
  auto e = error_of("W = shared(\"W\", [1.0])\nV = shared(\"W\", [2.0])");
  CHECK(e.message.find("a shared variable named 'W' already exists") == 0);
  CHECK(e.line == 2);
  CHECK(e.column == 5);
}

TEST_CASE("diagnostic shared needs a string name") {
  auto e = error_of("W = shared(W, [1.0])");
  CHECK(e.message == "unknown variable 'W'");
  auto f = error_of("W = shared(1, [1.0])");
  CHECK(f.message == "shared() argument 'name' must be a string in quotes, not a tensor");
  CHECK(f.column == 12);
}

TEST_CASE("diagnostic function argument dtype") {
  auto e = error_of("y = vector(i64)\nf = function([y], y * 2)\nf(f32([1, 2]))");
  CHECK(e.message == "argument 1 ('y') must be i64, not f32; convert it with i64(...)");
  CHECK(e.line == 3);
  CHECK(e.column == 3);
}

TEST_CASE("diagnostic literal that an integer argument cannot hold") {
  auto fraction = error_of("y = vector(i32)\nf = function([y], y)\nf([1, 1.5])");
  CHECK(fraction.message ==
        "argument 1 ('y') is i32, but the literal holds 1.5, which i32 cannot represent; pass "
        "values that fit");
  CHECK(fraction.line == 3);
  auto large = error_of("y = vector(i32)\nf = function([y], y)\nf([3000000000])");
  CHECK(large.message ==
        "argument 1 ('y') is i32, but the literal holds 3000000000, which i32 cannot "
        "represent; pass values that fit");
  auto nan = error_of("y = vector(i64)\nf = function([y], y)\nf([nan])");
  CHECK(nan.message ==
        "argument 1 ('y') is i64, but the literal holds nan, which i64 cannot represent; pass "
        "values that fit");
}

TEST_CASE("diagnostic function argument count") {
  auto e = error_of("y = vector(i64)\nf = function([y], y * 2)\nf([1], [2])");
  CHECK(e.message == "the function takes 1 argument, but 2 were given");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic function input not symbolic") {
  auto e = error_of("y = vector(i64)\nf = function([y + 1], y)");
  CHECK(e.message ==
        "function(): input 0 must be a symbolic input declared with vector, "
        "matrix, tensor or scalar, not 'y + 1'");
  CHECK(e.column == 14);
}

TEST_CASE("diagnostic update target not shared") {
  // The map itself rejects the key, at the key.
  auto e = error_of("y = vector(f32)\nf = function([y], y, updates=[y: y + 1])");
  CHECK(e.message ==
        "the key of an update map must be a shared variable, but this is 'y'; make one with "
        "shared(name, value), as in [W: W - 0.1 * grad(loss, W)]");
  CHECK(e.column == 31);
  auto number = error_of("[1: 2]");
  CHECK(number.message.starts_with("the key of an update map must be a shared variable, but this is '1'"));
  CHECK(number.column == 2);
}

TEST_CASE("diagnostic placeholder has no value") {
  auto e = error_of("zeros(f32, [param(0, i64)])");
  CHECK(e.message ==
        "this needs a constant, but it contains a $i placeholder, which has a value "
        "only inside a fused op");
  CHECK(e.column == 13);
}

TEST_CASE("diagnostic param outside fused") {
  auto e = error_of("$0 + 1");
  CHECK(e.message == "$0 names operand 0 of a fused body, so it is valid only inside fused{...}");
  CHECK(e.column == 1);
}

TEST_CASE("diagnostic grad of a non-scalar") {
  auto e = error_of(with_prelude("grad(x * 2, x)"));
  CHECK(e.thrown);
  CHECK(e.line == 4);
  CHECK(e.column == 1);
  CHECK(e.message.find("(x_0,)") != std::string::npos);
}

TEST_CASE("diagnostic needs a constant") {
  auto e = error_of(with_prelude("zeros(f32, [2])[0:sum(x)]"));
  CHECK(e.message == "a slice stop must be an integer, not f32 ()");
  auto f = error_of("n = scalar(i64)\nzeros(f32, [n])");
  CHECK(f.message == "this needs a constant, but it depends on the input 'n', which has a value only "
                     "when a compiled function runs; use a constant, or the result of calling a "
                     "function([...], [...])");
  CHECK(f.line == 2);
  CHECK(f.column == 13);
}

TEST_CASE("diagnostic statements before an error keep their effect") {
  Session session(damo::testing::reference_options());
  std::vector<std::string> printed;
  CHECK_THROWS_AS(session.run("a = 2\na + 1\nb = a +\n", "<test>",
                              [&](const std::string& text) { printed.push_back(text); }),
                  UserError);
  REQUIRE(printed.size() == 1);
  CHECK(printed[0] == "3 : i64 ()");
  CHECK(session.compute("a * 10").item() == 20);
}

TEST_CASE("diagnostic error in a loaded file") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/diagnostic_load.damo";
  {
    std::ofstream file(path);
    file << "a = 1\nb = a + nope\n";
  }
  auto e = error_of(":load " + path);
  CHECK(e.message == "unknown variable 'nope'; " + path + " was loaded at <test>:1");
  CHECK(e.what.find(path + ":2:9:") == 0);
}

TEST_CASE("diagnostic error in a nested load names each load") {
  std::string inner = std::string(DAMO_BINARY_DIR) + "/tests/diagnostic_load_inner.damo";
  std::string outer = std::string(DAMO_BINARY_DIR) + "/tests/diagnostic_load_outer.damo";
  {
    std::ofstream file(inner);
    file << "b = 2\nbad + 1\n";
  }
  {
    std::ofstream file(outer);
    file << "a = 1\n:load " << inner << "\n";
  }
  auto e = error_of("x = 1\n:load " + outer);
  CHECK(e.message == "unknown variable 'bad'; " + inner + " was loaded at " + outer +
                         ":2, which was loaded at <test>:2");
  CHECK(e.what.find(inner + ":2:1:") == 0);
}

TEST_CASE("diagnostic missing file for load") {
  auto e = error_of(":load /nonexistent/file.damo");
  CHECK(e.thrown);
  CHECK(e.line == 1);
  CHECK(e.column == 1);
  CHECK(e.message.find("/nonexistent/file.damo") != std::string::npos);
}

TEST_CASE("diagnostic long unknown name") {
  // A name of a million characters: no suggestion search (which takes time in the square
  // of the length), and a message that shows its start and length only.
  std::string name(1'000'000, 'q');
  auto e = error_of(name + " = 1\n" + name + "z + 1");
  CHECK(e.message == "unknown variable '" + std::string(40, 'q') + "... (1000001 characters)'");
  CHECK(e.what.size() < 600);
  CHECK(contains_text(e.what, "\n  " + std::string(160, 'q') + "...\n  ^"));
}

TEST_CASE("diagnostic caret in a window of a long line") {
  auto e = error_of(with_prelude("x + " + std::string(400, ' ') + "* 2"));
  CHECK(e.message == "expected an expression, found '*'");
  CHECK(e.column == 405);
  // The window keeps 80 characters before the caret and marks the cut with "...".
  CHECK(contains_text(e.what, "\n  ..." + std::string(80, ' ') + "* 2\n  " + std::string(83, ' ') + "^"));
}

TEST_CASE("diagnostic byte-order mark skipped") {
  CHECK(damo::testing::output("\xEF\xBB\xBF" "1 + 2") == "3 : i64 ()");
  // Columns on the first line count from after the mark, which the shown line leaves out.
  auto e = error_of("\xEF\xBB\xBF" "1 + foo");
  CHECK(e.column == 5);
  CHECK(e.what == "<test>:1:5: unknown variable 'foo'\n  1 + foo\n      ^");
}

TEST_CASE("diagnostic input named like a shared variable") {
  auto e = error_of("s = shared(\"a\", [1.0, 2.0])\na = vector(f32, [2])");
  CHECK(e.message == "a shared variable named 'a' already exists in this graph; give the input another name");
  CHECK(e.line == 2);
}

TEST_CASE("diagnostic grad of a constant") {
  auto e = error_of(with_prelude("grad(sum(x), 3.0)"));
  CHECK(e.message == "grad: variable 0 is a constant f64 (); take gradients with respect to inputs, "
                     "shared variables or expressions of them");
}

TEST_CASE("diagnostic grad disconnected policy") {
  auto e = error_of(with_prelude("grad(sum(X), x)"));
  CHECK(contains_text(e.message, "or disconnected=\"zeros\" to grad() in the expression language"));
  CHECK(damo::testing::output(with_prelude("grad(sum(X), x, disconnected=\"zeros\")")) ==
        "broadcast_to(0, [x_0]) : f32 (x_0,)");
  auto policy = error_of(with_prelude("grad(sum(X), x, disconnected=\"ignore\")"));
  CHECK(policy.message == "disconnected must be \"raise\", \"warn\" or \"zeros\", not \"ignore\"");
  CHECK(damo::testing::output(with_prelude("grad(sum(X), x, disconnected=\"warn\")")) ==
        "broadcast_to(0, [x_0]) : f32 (x_0,)");
}

TEST_CASE("diagnostic f32 literal beyond range") {
  auto e = error_of(with_prelude("f = function([x], x * 2)\nf([1.0, 1e300])"));
  CHECK(e.message == "argument 1 ('x') is f32, but the literal holds 1e+300, beyond f32's largest "
                     "value 3.4e38; pass values that fit or declare the input f64");
  CHECK(e.line == 5);
}

TEST_CASE("diagnostic dot without a file") {
  auto e = error_of(with_prelude(":dot x * 2"));
  CHECK(e.message == ":dot needs a file name after the expression, as in :dot x + 1 graph.dot");
}
