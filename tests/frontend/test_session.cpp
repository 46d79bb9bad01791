// Session tests: what statements compute and print, checked against values computed here
// in double precision.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "damo/runtime/npy.h"
#include "frontend_test_util.h"

using namespace damo;
using damo::testing::error_of;
using damo::testing::output;

namespace {

Tensor compute(const std::string& setup, const std::string& expression) {
  Session session(damo::testing::reference_options());
  session.run(setup);
  return session.compute(expression);
}

Tensor compute(const std::string& expression) { return compute("", expression); }

}  // namespace

TEST_CASE("session integer arithmetic") {
  CHECK(output("1 + 2") == "3 : i64 ()");
  CHECK(output("7 // 2") == "3 : i64 ()");
  CHECK(output("-7 // 2") == "-4 : i64 ()");
  CHECK(output("-7 % 3") == "2 : i64 ()");
  CHECK(output("2 ** 10") == "1024 : i64 ()");
}

TEST_CASE("session power and minus") {
  CHECK(output("-2 ** 2") == "-4 : i64 ()");
  CHECK(output("2.0 ** -1") == "0.5 : f64 ()");
  CHECK(output("(-2) ** 2") == "4 : i64 ()");
}

TEST_CASE("session literals are weak") {
  // A number next to an f32 tensor keeps f32.
  CHECK(output("f32([1, 2]) * 0.5") == "[0.5, 1. ] : f32 (2,)");
  CHECK(output("[1, 2] * 0.5") == "[0.5, 1. ] : f64 (2,)");
  CHECK(output("i32([1, 2]) + 1") == "[2, 3] : i32 (2,)");
  // Builtins of literals give weak literals too.
  CHECK(output("x = vector(f32, [2])\n:type x - logaddexp(1.0, 2.0)") == "f32 (2,)");
  CHECK(output("x = vector(f32, [2])\n:type x - elu(-1.0)") == "f32 (2,)");
  CHECK(output("x = vector(f32, [3])\n:type x + sort([1.0, 3.0, 2.0])") == "f32 (3,)");
  CHECK(output("x = vector(f32, [2])\n:type x + take([1.0, 3.0, 2.0], [2, 0])") == "f32 (2,)");
  // An integer computed from literals gets a literal's range check before it meets i32.
  CHECK(error_of("i = i32([1, 2])\ni + sort([3000000000, 1])").message ==
        "the integer literal 3000000000 does not fit i32, the dtype of the tensor it is combined with "
        "(i32 holds -2147483648 to 2147483647); cast that tensor to i64 first");
  CHECK(error_of("i = i32([1, 2])\ni + abs([3000000000, 1])").message.starts_with(
      "the integer literal 3000000000 does not fit i32"));
  CHECK(output("i = i32([1, 2])\ni + (2 + 2)") == "[5, 6] : i32 (2,)");
  CHECK(output("i = i32([1, 2])\ni + cumsum([1, 2])") == "[2, 5] : i32 (2,)");
}

TEST_CASE("session casts") {
  CHECK(output("i64(2.7)") == "2 : i64 ()");
  CHECK(output("cast([1.5, -1.5], i32)") == "[ 1, -1] : i32 (2,)");
  CHECK(output("bool([0, 3])") == "[false,  true] : bool (2,)");
}

TEST_CASE("session special values") {
  CHECK(output("nan == nan") == "false : bool ()");
  CHECK(output("isnan(nan)") == "true : bool ()");
  CHECK(output("-inf < 0") == "true : bool ()");
  CHECK(output("1 / 0.0") == "inf : f64 ()");
}

TEST_CASE("session logic and comparisons") {
  CHECK(output("(1 < 2) and not (3 == 3)") == "false : bool ()");
  CHECK(output("[1, 2, 3] >= 2") == "[false,  true,  true] : bool (3,)");
  CHECK(output("true or false") == "true : bool ()");
}

TEST_CASE("session matmul") {
  CHECK(output("[[1, 2], [3, 4]] @ [[5], [6]]") == "[[17],\n [39]] : i64 (2, 1)");
}

TEST_CASE("session reductions") {
  CHECK(output("sum([[1, 2], [3, 4]], axis=0, keepdims=true)") == "[[4, 6]] : i64 (1, 2)");
  CHECK(output("sum([[1, 2], [3, 4]], axis=[0, 1])") == "10 : i64 ()");
  CHECK(output("mean([1.0, 2.0, 6.0])") == "3. : f64 ()");
  CHECK(output("argmax([[1, 9], [8, 2]], axis=1)") == "[1, 0] : i64 (2,)");
  CHECK(output("max([3, 7, 5])") == "7 : i64 ()");
}

TEST_CASE("session softmax against a double reference") {
  Tensor t = compute("softmax([1.0, 2.0, 3.0])");
  double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  REQUIRE(t.numel() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(t.get_double(i) == doctest::Approx(std::exp(i + 1.0) / total).epsilon(1e-12));
}

TEST_CASE("session softmax axis keyword") {
  Tensor t = compute("softmax([[0.0, 0.0], [0.0, 1.0]], axis=0)");
  REQUIRE(t.shape() == Dims{2, 2});
  CHECK(t.get_double(0) == doctest::Approx(0.5));
  CHECK(t.get_double(1) == doctest::Approx(1.0 / (1.0 + std::exp(1.0))));
  CHECK(t.get_double(3) == doctest::Approx(std::exp(1.0) / (1.0 + std::exp(1.0))));
}

TEST_CASE("session crossentropy against a double reference") {
  Tensor dense = compute("categorical_crossentropy([[0.25, 0.75]], [[0.0, 1.0]])");
  CHECK(dense.get_double(0) == doctest::Approx(-std::log(0.75)));
  Tensor sparse = compute("categorical_crossentropy([[0.25, 0.75], [0.5, 0.5]], [1, 0])");
  CHECK(sparse.get_double(0) == doctest::Approx(-std::log(0.75)));
  CHECK(sparse.get_double(1) == doctest::Approx(-std::log(0.5)));
}

TEST_CASE("session layout builtins") {
  CHECK(output("reshape(arange(6), [2, -1])") == "[[0, 1, 2],\n [3, 4, 5]] : i64 (2, 3)");
  CHECK(output("transpose([[1, 2, 3]], [1, 0])") == "[[1],\n [2],\n [3]] : i64 (3, 1)");
  CHECK(output("concatenate([[1, 2], [3]], axis=0)") == "[1, 2, 3] : i64 (3,)");
  CHECK(output("take([10, 20, 30], [2, 0], axis=0)") == "[30, 10] : i64 (2,)");
  CHECK(output("one_hot([0, 2], 3)") == "[[1., 0., 0.],\n [0., 0., 1.]] : f32 (2, 3)");
  CHECK(output("expand_dims([1, 2], 0)") == "[[1, 2]] : i64 (1, 2)");
  CHECK(output("squeeze([[1, 2]])") == "[1, 2] : i64 (2,)");
  CHECK(output("where([true, false], 1, 2)") == "[1, 2] : i64 (2,)");
  CHECK(output("clip([-1, 0.5, 2], 0, 1)") == "[0. , 0.5, 1. ] : f64 (3,)");
}

TEST_CASE("session subscripts") {
  CHECK(output("arange(10)[2:8:3]") == "[2, 5] : i64 (2,)");
  CHECK(output("arange(5)[::-1]") == "[4, 3, 2, 1, 0] : i64 (5,)");
  CHECK(output("arange(5)[-1]") == "4 : i64 ()");
  CHECK(output("reshape(arange(6), [2, 3])[1, 2]") == "5 : i64 ()");
  CHECK(output("reshape(arange(6), [2, 3])[:, 1]") == "[1, 4] : i64 (2,)");
  CHECK(output("reshape(arange(6), [2, 3])[0, 1:]") == "[1, 2] : i64 (2,)");
  CHECK(output("arange(5)[[4, 0]]") == "[4, 0] : i64 (2,)");
  // Index tensors next to each other pair their elements, as in NumPy; the expected values
  // are NumPy's.
  std::string cube = "x = reshape(arange(24), [2, 3, 4])\n";
  CHECK(output(cube + "x[[0, 1], [1, 2]]") == "[[ 4,  5,  6,  7],\n [20, 21, 22, 23]] : i64 (2, 4)");
  CHECK(output(cube + "x[:, [0, 2], [1, 3]]") == "[[ 1, 11],\n [13, 23]] : i64 (2, 2)");
  CHECK(output(cube + "x[[1], [0, 2], [3, 1]]") == "[15, 21] : i64 (2,)");
  CHECK(output(cube + "x[[[0], [1]], [0, 2]]") ==
        "[[[ 0,  1,  2,  3],\n  [ 8,  9, 10, 11]],\n\n [[12, 13, 14, 15],\n  [20, 21, 22, 23]]] : i64 (2, 2, 4)");
  CHECK(output(cube + "x[0, [0, 2], [1, 3]]") == "[ 1, 11] : i64 (2,)");
  // A second index of higher rank widens the block in front, after a slice too.
  CHECK(output(cube + "x[:, [0, 1], [[1], [2]]]") ==
        "[[[ 1,  5],\n  [ 2,  6]],\n\n [[13, 17],\n  [14, 18]]] : i64 (2, 2, 2)");
  CHECK(output(cube + "x[:, [1], [[1]]]") == "[[[ 5]],\n\n [[17]]] : i64 (2, 1, 1)");
  // Separated index tensors would move to the front in NumPy, so they are an error.
  CHECK(damo::testing::error_of(cube + "x[[0, 1], :, [1, 2]]").message.starts_with(
      "index tensors in one subscript list must be next to each other, with no slice or "
      "integer between them"));
  CHECK(damo::testing::error_of(cube + "x[[0, 1], [[0, 1, 2]]]").message ==
        "paired index tensors of shapes (2,) and (1, 3) do not broadcast; give them shapes that "
        "broadcast, as NumPy requires");
  CHECK(output("reshape(arange(12), [3, 4])[[0, 2]][:, [1, 3]]") == "[[ 1,  3],\n [ 9, 11]] : i64 (2, 2)");
  CHECK(output("reshape(arange(12), [3, 4])[1, [1, 3]]") == "[5, 7] : i64 (2,)");
  // Steps near the int64 limits, as NumPy gives them, also in a compiled function.
  SessionOptions jit;
  jit.compile.backend = Backend::Jit;
  jit.compile.use_cache = false;
  for (const SessionOptions& options : {damo::testing::reference_options(), jit}) {
    std::string a = "A = [[1., 2., 3.], [4., 5., 6.]]\n";
    CHECK(output(a + "A[::9223372036854775807]", options) == "[[1., 2., 3.]] : f64 (1, 3)");
    CHECK(output(a + "A[::-9223372036854775807]", options) == "[[4., 5., 6.]] : f64 (1, 3)");
    CHECK(output(a + "A[::-9223372036854775808]", options) == "[[4., 5., 6.]] : f64 (1, 3)");
    CHECK(output(a + "A[-2**63:2**63-1:2**63-1]", options) == "[[1., 2., 3.]] : f64 (1, 3)");
    CHECK(output(a + "f = function([], A[1:-2**63:-2**63] * 1)\nf()", options) == "[[4., 5., 6.]] : f64 (1, 3)");
  }
}

TEST_CASE("session none and ellipsis subscripts") {
  // The results NumPy gives for x[:, None], x[..., 0] and the like.
  std::string x = "x = reshape(arange(6), [2, 3])\n";
  CHECK(output(x + ":type x[:, none]") == "i64 (2, 1, 3)");
  CHECK(output(x + ":type x[none]") == "i64 (1, 2, 3)");
  CHECK(output(x + ":type x[none, ..., none]") == "i64 (1, 2, 3, 1)");
  CHECK(output(x + "x[..., 0]") == "[0, 3] : i64 (2,)");
  CHECK(output(x + "x[1, ...]") == "[3, 4, 5] : i64 (3,)");
  CHECK(output(x + "x[1, none, 2]") == "[5] : i64 (1,)");
  CHECK(output(x + "x[...]") == "[[0, 1, 2],\n [3, 4, 5]] : i64 (2, 3)");
  CHECK(output("v = arange(3)\nv[:, none] * v[none, :]") ==
        "[[0, 0, 0],\n [0, 1, 2],\n [0, 2, 4]] : i64 (3, 3)");
  CHECK(output("t = tensor(f32, [2, n, 4])\n:type t[0, ..., none, 2]") == "f32 (n, 1)");

  CHECK(error_of(x + "x[..., ...]").message == "an index can have only one '...'");
  CHECK(error_of(x + "x[0, none, 1, 2]").message ==
        "too many subscripts: the tensor has rank 2 ((2, 3)) but 3 were given");
  // x.T is NumPy's transpose, also with spaces and after a call or subscript.
  CHECK(output(x + "x.T") == "[[0, 3],\n [1, 4],\n [2, 5]] : i64 (3, 2)");
  CHECK(output(x + "(x * 2) . T[0]") == "[0, 6] : i64 (2,)");
  CHECK(output("W = matrix(f32, [3, 4])\nv = vector(f32, [3])\n:type grad(sum(W.T @ v), W)") == "f32 (3, 4)");
  CHECK(error_of(x + "x.shape").message ==
        "'shape' is not an attribute: x.T (the transpose) is the only one; :type x shows the "
        "dtype and shape, and dim_size(n) the size of a symbolic axis n");
  CHECK(error_of(x + "x.").message == "expected an attribute name after '.', found end of input");
}

TEST_CASE("session symbolic subscripts") {
  // A static axis is sliced and squeezed; a symbolic one is indexed with take.
  CHECK(output("X = matrix(f32, [n, 3])\nX[:, 0]") == "squeeze(X[:, :1], axis=[1]) : f32 (n,)");
  CHECK(output("x = vector(f32)\nx[0]") == "take(x, 0, axis=0) : f32 ()");
}

TEST_CASE("session slices of symbolic axes") {
  const std::string x = "x = vector(f64, n)\nd = x[1:] - x[:-1]\n";
  CHECK(output(x + ":type d") == "f64 (n-1,)");
  CHECK(output(x + "d") == "x[1:] - x[:-1] : f64 (n-1,)");
  CHECK(output(x + ":type x[2:-3]") == "f64 (n-5,)");
  CHECK(output("dim_size(n-1-1)") == "dim_size(n-2) : i64 ()");
  CHECK(error_of("x = vector(f32, [n+1])").message ==
        "a symbolic size such as n can only be multiplied or reduced by constants, as in n*2 or "
        "n-1; other arithmetic on it has no size in Damo");
  CHECK(output("dim_size(2*(n-1)-1)") == "dim_size(n*2-3) : i64 ()");
  CHECK(output("m = matrix(f32, [n, 3])\n:type reshape(m, [n*3])") == "f32 (n*3,)");
  CHECK(output("m = matrix(f32, [n, 3])\n:type reshape(reshape(m, [-1]), [n, 3])") == "f32 (n, 3)");
  CHECK(output("m = matrix(f32, [n, 3])\nf = function([m], [reshape(m[1:], [-1])])\nf([[1, 2, 3], [4, 5, 6]])") ==
        "[4., 5., 6.] : f32 (3,)");
  CHECK(error_of("x = vector(f32, [n])\nreshape(x, [n*-2])").message ==
        "the factor of a symbolic size must be 0 or more, not -2");
  for (const char* form : {"dim_size(-n)", "dim_size(6 - n)", "dim_size(6 + n*2)"})
    CHECK(error_of(std::string("x = vector(f32, [n])\n") + form).message ==
          "a symbolic size such as n can only be multiplied or reduced by constants, as in n*2 or "
          "n-1; other arithmetic on it has no size in Damo");
  CHECK(error_of("x = vector(f32, [n])\nreshape(x[1:], [n-(-1)])").message ==
        "the amount subtracted from a symbolic size must be 0 or more, not -1, because Damo has no "
        "size larger than n");
  CHECK(error_of("x = matrix(f32, [n, 6])\nv = vector(f32, [k])\nreshape(x, [-1])[1:] + v").message ==
        "add: shapes (n*6-1,) and (k,) do not broadcast: each axis, aligned from the last, must have "
        "equal sizes or size 1. The sizes n*6-1 and k come from different symbols, which may stand "
        "for different sizes in a call; reshape or slice the operands to one size first");

  CHECK(error_of("x = vector(f32, [n])\ndim_size(n*(m-1))").message ==
        "the product of the symbolic sizes n and m-1 has no size in Damo; multiply a symbolic size "
        "by a constant only");
  const std::string f = x + "f = function([x], [d, mean(x[1:-1]), grad(sum(d * d), x)])\n";
  CHECK(output(f + "f([1, 4, 9, 16])[0]") == "[3., 5., 7.] : f64 (3,)");
  CHECK(output(f + "f([1, 4, 9, 16])[1]") == "6.5 : f64 ()");
  CHECK(output(f + "f([1, 4, 9, 16])[2]") == "[-6., -4., -4., 14.] : f64 (4,)");
  CHECK(output(f + "f([2])[0]") == "[] : f64 (0,)");
  CHECK(error_of(x + "x[-2:]").message ==
        "slice: axis 0 of f64 (n,) has the symbolic size n, and the size of the slice [-2:] would "
        "not be n less a constant; on a symbolic axis use a start of 0 or more, a stop that is "
        "empty or negative and step 1 (x[1:], x[:-1], x[2:-3]), or take() with indices");
}

TEST_CASE("session slice_scatter with an open stop") {
  // stop=none runs to the end in the step's direction: 2, 3 forward and 3, 1 backward.
  CHECK(output("slice_scatter([1., 2.], [4], 0, 2)") == "[0., 0., 1., 2.] : f64 (4,)");
  CHECK(output("slice_scatter([1., 2.], [4], 0, 3, step=-2)") == "[0., 2., 0., 1.] : f64 (4,)");
}

TEST_CASE("session errors name the builtin called") {
  CHECK(error_of("x = vector(f64)\ny = vector(f64)\nlogaddexp(x, y)").message ==
        "logaddexp: shapes (x_0,) and (y_0,) do not broadcast: each axis, aligned from the last, "
        "must have equal sizes or size 1. Two symbols may stand for different sizes in a call, so "
        "Damo does not match x_0 with y_0; give both inputs the same symbol, x_0 in both shapes");
  std::string hessian_error = error_of("x = vector(f64, [3])\ny = vector(f64, [3])\nhessian(sum(x), y)").message;
  CHECK(hessian_error.starts_with("hessian: the cost does not depend on variable 'y'"));
  CHECK(hessian_error.ends_with("disconnected=\"zeros\" to hessian() in the expression language"));
  CHECK(error_of("x = vector(f64, [3])\nvjp(x * 2, [f64([1, 2, 3])], x)").message ==
        "vjp() takes cotangents as one tensor when outputs is one tensor, so a list of one tensor "
        "is a tensor of shape (1, ...); drop the brackets, or pass outputs as a list too");
  CHECK(error_of("x = vector(f32, n)\nfunction([x], arange(dim_size(n)))").message ==
        "this needs a constant, but it depends on dim_size(n), which has a value only when a "
        "compiled function runs; use a static size");
  // A list literal of numbers is still one cotangent.
  CHECK(output("x = vector(f64, [2])\nvjp(x * 2, [1., 3.], x)") == "[2., 6.] : f64 (2,)");
}

TEST_CASE("session keyword abbreviation hint") {
  CHECK(error_of("softmax([1.0], ax=0)").message ==
        "softmax() has no argument named 'ax'; did you mean 'axis'?");
  CHECK(error_of("softmax([1.0], axi=0)").message ==
        "softmax() has no argument named 'axi'; did you mean 'axis'?");
  CHECK(error_of("sum([1.0], axes=0)").message ==
        "sum() has no argument named 'axes'; did you mean 'axis'?");
  CHECK(error_of("sum([1.0], keep=true)").message ==
        "sum() has no argument named 'keep'; did you mean 'keepdims'?");
  // One letter is no abbreviation, so 'a' keeps the edit-distance hint.
  CHECK(error_of("softmax([1.0], a=0)").message ==
        "softmax() has no argument named 'a'; did you mean 'x'?");
}

TEST_CASE("session number list literals") {
  Session session(damo::testing::reference_options());
  CHECK(session.evaluate("[1, 2.5]").is_number_list());
  CHECK(session.evaluate("[1, 2.5]").list_size() == 2);
  CHECK_FALSE(session.evaluate("[1, true]").is_number_list());
  CHECK(output("[1, 2.5]") == "[1. , 2.5] : f64 (2,)");
  CHECK(output("[9007199254740993, -9223372036854775808]") ==
        "[    9007199254740993, -9223372036854775808] : i64 (2,)");
  CHECK(output("c = [5, 6, 7]\nc[1]\nc[-1]") == "6 : i64 ()\n7 : i64 ()");
  CHECK(output("X = matrix(f32, [2, 3])\n:type transpose(X, [1, 0])") == "f32 (3, 2)");
  CHECK(output("sum(ones(f32, [2, 3]), axis=[0, 1])") == "6. : f32 ()");
  CHECK(output("s = [2, 3]\n:type zeros(f32, s)") == "f32 (2, 3)");
  CHECK(output("[[1, 2], [3, 4.5]]") == "[[1. , 2. ],\n [3. , 4.5]] : f64 (2, 2)");
  CHECK(output("f32([1, 2]) + [1, 2.5]") == "[2. , 4.5] : f32 (2,)");
  CHECK(output("fused_sum{$0 * 2}(ones(f32, [2, 2]), axis=[1])") == "[4., 4.] : f32 (2,)");
  CHECK(output("take([10, 20, 30], [2, 0])") == "[30, 10] : i64 (2,)");
  CHECK(error_of("concatenate([1, 2])").message ==
        "concatenate: operands must have rank 1 or more, not scalars");
  CHECK(error_of("i32([5]) + [3000000000]").message.starts_with(
      "the integer literal 3000000000 does not fit i32"));
}

TEST_CASE("session constant makers") {
  CHECK(output("zeros(f32, [2])") == "[0., 0.] : f32 (2,)");
  CHECK(output("ones(i32, [1, 2])") == "[[1, 1]] : i32 (1, 2)");
  CHECK(output("full(i64, [2], 7)") == "[7, 7] : i64 (2,)");
  CHECK(output("arange(3)") == "[0, 1, 2] : i64 (3,)");
  CHECK(output("arange(1, 7, 2)") == "[1, 3, 5] : i64 (3,)");
  CHECK(output("arange(0, 1, 0.25)") == "[0.  , 0.25, 0.5 , 0.75] : f32 (4,)");
  CHECK(output("arange(3, dtype=f64)") == "[0., 1., 2.] : f64 (3,)");
  CHECK(output("arange(5, 0, -2)") == "[5, 3, 1] : i64 (3,)");
  // Integer bounds count exactly, beyond the 2^53 that a double holds.
  CHECK(output("arange(9007199254740993, 9007199254740996)") ==
        "[9007199254740993, 9007199254740994, 9007199254740995] : i64 (3,)");
  CHECK(output("arange(3, 9007199254740993, 9007199254740989)") == "[               3, 9007199254740992] : i64 (2,)");
  CHECK(output("full(i64, [1], 9007199254740993)") == "[9007199254740993] : i64 (1,)");
}

TEST_CASE("session constants that do not fit their dtype") {
  auto error_message = [](const std::string& code) { return damo::testing::error_of(code).message; };
  CHECK(error_message("full(i32, [1], 3000000000)") == "full(): 3000000000 does not fit i32; use i64 or a smaller value");
  CHECK(error_message("arange(2147483646, 2147483649, dtype=i32)") ==
        "arange(): 2147483648 does not fit i32; use i64 or a smaller value");
  CHECK(error_message("i32(3000000000)") ==
        "the integer literal 3000000000 does not fit i32 (-2147483648 to 2147483647); use i64");
  CHECK(output("i32(-2147483648)") == "-2147483648 : i32 ()");
  // A float value fits when its truncation does, as the cast truncates.
  CHECK(output("full(i32, [1], -2147483648.5)") == "[-2147483648] : i32 (1,)");
  CHECK(error_message("full(i32, [1], 2147483648.5)") ==
        "full(): 2147483648.5 does not fit i32; use a wider dtype or a smaller value");
  CHECK(error_message("arange(-9223372036854775808, 9223372036854775807)") ==
        "arange(): 18446744073709551615 elements are more than the 268435456 that the interpreter creates");
}

TEST_CASE("session random values are seeded") {
  Tensor a = compute("rand(f64, [1000], seed=3)");
  Tensor b = compute("rand(f64, [1000], seed=3)");
  Tensor c = compute("rand(f64, [1000], seed=4)");
  CHECK(a.equals(b));
  CHECK_FALSE(a.equals(c));
  double low = 1, high = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    low = std::min(low, a.get_double(i));
    high = std::max(high, a.get_double(i));
  }
  CHECK(low >= 0.0);
  CHECK(high < 1.0);
}

TEST_CASE("session permutation of a symbolic size") {
  // A name that is not a variable is a symbolic size, as in shapes.
  CHECK(output("x = vector(f32, [n])\n:type permutation(1, n)") == "i64 (n,)");
  std::string drawn = output("x = vector(f32, [n])\nf = function([x], permutation(1, n))\nf([5, 6, 7, 8])");
  std::string fixed = output("permutation(1, 4)");
  CHECK(drawn == fixed);
  CHECK(output("m = 3\n:type permutation(1, m)") == "i64 (3,)");
  CHECK(error_of("permutation(1, -1)").message ==
        "permutation: n is -1, a negative count; give the number of positions to order, 0 or more");
  CHECK(error_of("random_uniform(1, [-2, 3])").message ==
        "random_uniform: shape (-2, 3) has the negative size -2 on axis 0; sizes are 0 or more");
  CHECK(error_of("bernoulli(1, 0.5, [2, -1])").message ==
        "bernoulli: shape (2, -1) has the negative size -1 on axis 1; sizes are 0 or more");
}

TEST_CASE("session randn moments") {
  Tensor t = compute("randn(f64, [20000], seed=1)");
  double sum = 0, squares = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    sum += t.get_double(i);
    squares += t.get_double(i) * t.get_double(i);
  }
  double mean = sum / 20000.0;
  // Tolerances of about five standard errors for 20000 samples.
  CHECK(std::abs(mean) < 0.04);
  CHECK(std::abs(squares / 20000.0 - mean * mean - 1.0) < 0.05);
}

TEST_CASE("session symbolic expressions print infix") {
  std::string code =
      "X = matrix(f32, [n, 6])\n"
      "W = shared(\"W\", zeros(f32, [6, 64]))\n"
      "sigmoid(X @ W)\n"
      "sum(X, axis=0, keepdims=true)\n"
      "-X[0, :] ** 2";
  CHECK(output(code) ==
        "sigmoid(X @ W) : f32 (n, 64)\n"
        "sum(X, axis=[0], keepdims=true) : f32 (1, 6)\n"
        "-take(X, 0, axis=0) ** 2 : f32 (6,)");
}

TEST_CASE("session input declarations") {
  CHECK(output("x = vector(f32)\n:type x") == "f32 (x_0,)");
  CHECK(output("X = matrix(f64)\n:type X") == "f64 (X_0, X_1)");
  CHECK(output("t = tensor(f32, [n, 3])\n:type t") == "f32 (n, 3)");
  CHECK(output("s = scalar(i64)\n:type s") == "i64 ()");
  CHECK(output("v = vector(i32, m)\n:type v") == "i32 (m,)");
  CHECK(output("k = 4\nt = tensor(f32, [k, 2])\n:type t") == "f32 (4, 2)");
  // A call inside the shape does not take the name of the input being declared.
  CHECK(output("X = matrix(f32, [sum([1, 2]), 3])\n:type X") == "f32 (3, 3)");
  CHECK(output("T = tensor(f32, [max(ones(i64, [1])), n])\n:type T") == "f32 (1, n)");
}

TEST_CASE("session shared variable names read back") {
  // A name printed in an expression must parse as the same variable.
  for (const char* name : {"b - 1", "", "1W", "W.1", "and", "nan", "a b", "f32", "sum", "none"}) {
    CAPTURE(name);
    auto e = error_of(fmt::format("c = shared(\"{}\", [5.0])", name));
    CHECK(e.thrown);
    CHECK(e.message.starts_with("the shared variable name '"));
    CHECK(e.column == 12);
  }
  CHECK(output("c = shared(\"_W1\", [5.0])\nx = vector(f32)\nx + c") == "x + _W1 : f32 (x_0,)");
}

TEST_CASE("session shared variables print their values") {
  CHECK(output("W = shared(\"W\", [[1.0, 2.0]])\nW\n:type W") ==
        "[[1., 2.]] : f32 (1, 2)\nf32 (1, 2)");
  CHECK(output("b = shared(\"b\", zeros(f64, [2]))\nb + 1") == "[1., 1.] : f64 (2,)");
  // An empty tensor prints as [] whatever its shape, not as a line per row.
  CHECK(output("zeros(f32, [100000000, 0])") == "[] : f32 (100000000, 0)");
  // A dtype call makes a literal typed, also when the literal has that dtype already.
  CHECK(output("c = shared(\"c\", f64([1.5, 2.0]))\n:type c") == "f64 (2,)");
  CHECK(output("x = vector(f32, [2])\n:type x + f64(1.0)\n:type x + 1.0") == "f64 (2,)\nf32 (2,)");
  CHECK(output("x = vector(i32, [2])\n:type x + i64(1)") == "i64 (2,)");
}

TEST_CASE("session lists with symbolic items stack") {
  // A list with an input or a shared variable among its items stacks them on a new first
  // axis, with the items' common dtype.
  CHECK(output("x = vector(f32)\n:type [x, 2 * x, x] * 1") == "f32 (3, x_0)");
  CHECK(output("x = vector(f32, [2])\nf = function([x], sum([x, [1, 2]], axis=0))\nf([3, 4])") ==
        "[4., 6.] : f32 (2,)");
  // A shared variable in a list is read when the function runs, not when it is defined.
  CHECK(output("W = shared(\"W\", [1.0])\ng = function([], [[W[0], 5.0]])\n"
               "up = function([], [], updates=[W: W + 1])\ng()\nup()\ng()") ==
        "[1., 5.] : f32 (2,)\n[2., 5.] : f32 (2,)");
  // Integer literals within i32 still meet i32 tensors.
  CHECK(output("i32([5]) < 2147483647") == "[true] : bool (1,)");
}

TEST_CASE("session inspecting commands run no updates") {
  // :type, :graph and the other inspecting commands never apply a call's updates; a call of
  // a function without updates still runs.
  std::string setup = "S = shared(\"S\", 0)\nf = function([], S, updates=[S: S + 1])\n";
  for (const char* command : {":type f()", ":graph f() * 2", ":opt f() + 1"}) {
    auto e = damo::testing::error_of(setup + command);
    CHECK(e.thrown);
    CHECK(e.message.find("shows an expression without running its updates") != std::string::npos);
  }
  Session session(damo::testing::reference_options());
  session.run(setup);
  CHECK_THROWS_AS(session.run(":type f()"), UserError);
  CHECK(session.compute("S").item() == 0);
  CHECK(output(setup + "g = function([], S * 2)\n:type g()") == "i64 ()");
}

TEST_CASE("session lists bound to names print as tensors") {
  CHECK(output("c = [1, 2]\nc") == "[1, 2] : i64 (2,)");
  CHECK(output("d = [[1, 2], [3, 4]]\nd\n:type d") == "[[1, 2],\n [3, 4]] : i64 (2, 2)\ni64 (2, 2)");
  // A list of shared variables or inputs prints as the tensor it stacks, as the literal does;
  // one of differently shaped values stays a list.
  CHECK(output("W = shared(\"W\", [1.0, 2.0])\ne = [W, W]\ne") == "[[1., 2.],\n [1., 2.]] : f32 (2, 2)");
  CHECK(output("x = vector(f32)\n:type [x, 2 * x]") == "f32 (2, x_0)");
  CHECK(output("e = []\ne\n:type e") == "[] : f64 (0,)\nf64 (0,)");
  CHECK(output("m = [[1, 2], 3]\n:type m") == "i64 (2,)\ni64 ()");
  // Literals beyond i32 are rejected in stacked lists and cast() too.
  CHECK(damo::testing::error_of("[i32([1, 2]), [3000000000, 1]]").message ==
        "the integer literal 3000000000 does not fit i32 (-2147483648 to 2147483647); use i64");
  CHECK(damo::testing::error_of("cast(3000000000, i32)").message ==
        "the integer literal 3000000000 does not fit i32 (-2147483648 to 2147483647); use i64");
}

TEST_CASE("session none leaves an argument at its default") {
  CHECK(output("slice([1, 2, 3, 4, 5], 0, 1, none, 2)") == "[2, 4] : i64 (2,)");
  CHECK(output("sum([[1, 2], [3, 4]], axis=none)") == "10 : i64 ()");
  CHECK(damo::testing::error_of("none = 3").message ==
        "cannot assign to 'none': it means a builtin argument left at its default; choose "
        "another name");
  CHECK(damo::testing::error_of("none + 1").message ==
        "none has no value: it is written only as a builtin's argument, which then keeps its "
        "default, as in slice(x, 0, 1, none, 2)");
}

TEST_CASE("session grad of shared variables") {
  // d/dW sum(W * W) = 2 W, evaluated right away since no input is involved.
  CHECK(output("W = shared(\"W\", [1.0, 2.0])\ngrad(sum(W * W), W)") == "[2., 4.] : f32 (2,)");
  CHECK(output("W = shared(\"W\", [1.0, 2.0])\nb = shared(\"b\", [3.0])\n"
               "grad(sum(W * b), [W, b])") == "[3., 3.] : f32 (2,)\n[3.] : f32 (1,)");
}

TEST_CASE("session stack, eye and linspace") {
  CHECK(output("stack([f32([1, 2]), f32([3, 4])], axis=1)") == "[[1., 3.],\n [2., 4.]] : f32 (2, 2)");
  CHECK(output("v = vector(f32, [n])\n:type stack([v, v * 2, v + 1], axis=-1)") == "f32 (n, 3)");
  CHECK(output("eye(2, 3, dtype=i32)") == "[[1, 0, 0],\n [0, 1, 0]] : i32 (2, 3)");
  CHECK(output("linspace(0, 1, 5)") == "[0.  , 0.25, 0.5 , 0.75, 1.  ] : f32 (5,)");
  CHECK(output("linspace(0, 10, 4, dtype=i32)") == "[ 0,  3,  6, 10] : i32 (4,)");
  // Integer values are rounded down, as NumPy's linspace does, also below zero.
  CHECK(output("linspace(-1, 0, 3, dtype=i32)") == "[-1, -1,  0] : i32 (3,)");
  CHECK(output("linspace(2.5, -2.5, 6, dtype=i64)") == "[ 2,  1,  0, -1, -2, -3] : i64 (6,)");
  CHECK(output(":type linspace(2, 3)") == "f32 (50,)");
  CHECK(error_of("stack([f32([1, 2]), f32([3])])").message ==
        "stack: part 1 has shape (1,) but part 0 has shape (2,); stacked parts must match");
  CHECK(error_of("stack([f32([1, 2])], axis=2)").message ==
        "stack: axis 2 is out of range for a new axis of tensors of rank 1; use -2 to 1");
  CHECK(error_of("eye(-1)").message == "eye(): the sizes must be 0 or more, not n = -1 and m = -1");
  CHECK(error_of("stack([])").message == "stack: the list of parts is empty; pass at least one tensor");
}

TEST_CASE("session norm and logaddexp") {
  CHECK(output("norm(f64([[3, 4], [0, 0]]), axis=1)") == "[5., 0.] : f64 (2,)");
  CHECK(output("logaddexp(f64([1000, 0]), f64([1000, 1]))") ==
        "[1000.6931471805599   ,    1.3132616875182228] : f64 (2,)");
}

TEST_CASE("session activations") {
  std::string x = "x = f64([-2, 0, 2])\n";
  CHECK(output(x + "leaky_relu(x, slope=0.5)") == "[-1.,  0.,  2.] : f64 (3,)");
  CHECK(output(x + "elu(x, alpha=2)") == "[-1.7293294335267746,  0.                ,  2.                ] : f64 (3,)");
  CHECK(output("log2(f32([8, 0.25]))") == "[ 3., -2.] : f32 (2,)");
  CHECK(output("log10(f64([1000]))") == "[3.] : f64 (1,)");
}

TEST_CASE("session cumsum") {
  std::string x = "x = f64([[1, 2, 3], [4, 5, 6]])\n";
  CHECK(output(x + "cumsum(x)") == "[ 1.,  3.,  6., 10., 15., 21.] : f64 (6,)");
  CHECK(output(x + "cumsum(x, axis=0)") == "[[1., 2., 3.],\n [5., 7., 9.]] : f64 (2, 3)");
  CHECK(output(x + "cumsum(x, axis=-1, reverse=true)") ==
        "[[ 6.,  5.,  3.],\n [15., 11.,  6.]] : f64 (2, 3)");
  CHECK(output("cumsum([true, false, true])") == "[1, 1, 2] : i64 (3,)");
  CHECK(output("v = vector(f32, [n])\n:type cumsum(v * 2, axis=0)") == "f32 (n,)");
  // Without an axis: an empty static shape flattens, one symbol flattens to a derived size,
  // and a product of two symbols cannot.
  CHECK(output("cumsum(zeros(f32, [3, 0]))") == "[] : f32 (0,)");
  CHECK(output("c = tensor(f32, [1, n, 1])\n:type cumsum(c)") == "f32 (n,)");
  CHECK(output("m = matrix(f32, [n, 3])\n:type cumsum(m)") == "f32 (n*3,)");
  CHECK(error_of("m = matrix(f32, [n, k])\ncumsum(m)").message ==
        "cumsum(): without an axis x is flattened, but its shape (n, k) would flatten to a "
        "product of two symbolic sizes, which Damo cannot represent; pass axis=");
  CHECK(output("v = vector(f32, [n])\ncumsum(v, axis=0, reverse=true)") ==
        "cumsum(v, axis=0, reverse=true) : f32 (n,)");
}

TEST_CASE("session sort and argsort") {
  std::string x = "x = f64([[3, nan, -1], [2, 2, 0]])\n";
  CHECK(output(x + "sort(x)") == "[[-1.,  3., nan],\n [ 0.,  2.,  2.]] : f64 (2, 3)");
  CHECK(output(x + "argsort(x)") == "[[2, 0, 1],\n [2, 0, 1]] : i64 (2, 3)");
  CHECK(output(x + "argsort(x, descending=true)") == "[[1, 0, 2],\n [0, 1, 2]] : i64 (2, 3)");
  CHECK(output(x + "sort(x, axis=0, descending=true)") == "[[ 3., nan,  0.],\n [ 2.,  2., -1.]] : f64 (2, 3)");
  CHECK(output("sort([true, false, true])") == "[false,  true,  true] : bool (3,)");
  CHECK(output("v = vector(f32, [n])\nsort(v)") ==
        "take_along_axis(v, argsort(v, axis=0), axis=0) : f32 (n,)");
  CHECK(error_of("sort([1, 2], axis=1)").message == "sort: axis 1 is out of range for rank 1; valid axes are -1 to 0");
  CHECK(error_of("sort(1.0)").message ==
        "sort: the operand is a scalar; it needs an axis to sort along, so give it rank 1 or more "
        "(reshape(x, [1]))");
}

TEST_CASE("session var and std") {
  std::string prelude = "x = f64([[1, 2, 4], [3, 5, 9]])\n";
  CHECK(output(prelude + "var(x, axis=1)") == "[1.5555555555555554, 6.222222222222221 ] : f64 (2,)");
  CHECK(output(prelude + "std(x, axis=0, ddof=1)") ==
        "[1.4142135623730951, 2.1213203435596424, 3.5355339059327378] : f64 (3,)");
  CHECK(error_of(prelude + "var(x, ddof=-1)").message ==
        "var: ddof -1 is negative; pass 0 for the population variance or 1 for the sample variance");
}

TEST_CASE("session jacobian, hessian, jvp and vjp") {
  // f(W) = W^3 elementwise: J = diag(3 W^2), the Hessian of sum(W^3) is diag(6 W).
  std::string prelude = "W = shared(\"W\", f64([1, 2]))\n";
  CHECK(output(prelude + "jacobian(W ** 3, W)") == "[[ 3.,  0.],\n [ 0., 12.]] : f64 (2, 2)");
  CHECK(output(prelude + "hessian(sum(W ** 3), W)") == "[[ 6.,  0.],\n [ 0., 12.]] : f64 (2, 2)");
  CHECK(output(prelude + "jvp(W ** 3, W, f64([1, -1]))") == "[  3., -12.] : f64 (2,)");
  CHECK(output(prelude + "vjp(W ** 3, f64([2, 1]), W)") == "[ 6., 12.] : f64 (2,)");
  CHECK(output(prelude + "vjp([W ** 3, W * 2], [f64([1, 0]), f64([0, 1])], [W])") ==
        "[3., 2.] : f64 (2,)");
  CHECK(output(prelude + "jvp([W ** 3, W * 2], [W], [f64([0, 1])])") ==
        "[ 0., 12.] : f64 (2,)\n[0., 2.] : f64 (2,)");

  CHECK(error_of(prelude + "jvp([W ** 3], [W], f64([1, 1]))").message ==
        "jvp() takes tangents as a list when wrt is a list, one per item");
  // A literal list is one cotangent or tangent when its partner is one tensor.
  CHECK(output(prelude + "vjp(W ** 3, [2., 1.], W)") == "[ 6., 12.] : f64 (2,)");
  CHECK(output(prelude + "jvp(W ** 3, W, [1., -1.])") == "[  3., -12.] : f64 (2,)");
  CHECK(error_of(prelude + "hessian(sum(W ** 3), [W])").message ==
        "hessian() takes one tensor as wrt, not a list; call it once per variable");
  CHECK(error_of(prelude + "jacobian(W * 2, [W])").message ==
        "jacobian() takes one tensor as wrt, not a list; call it once per variable");
  CHECK(error_of("x = vector(f64, [n])\nhessian(sum(x ** 2), x)").message ==
        "hessian: 'x' has the symbolic shape (n,); the Hessian needs static shapes");
  CHECK(error_of(prelude + "V = shared(\"V\", f64([1]))\njvp(W * 2, V, f64([1]))").message.find(
            "disconnected=\"zeros\" to jvp() in the expression language") != std::string::npos);
  CHECK(error_of(prelude + "hessian(W ** 3, W)").message ==
        "hessian: the cost must be a scalar but has shape (2,); reduce it first, for example "
        "with sum() or mean()");
  CHECK(error_of("x = vector(f64, [n])\njacobian(sin(x), x)").message ==
        "jacobian: 'sin(x)' has the symbolic shape (n,); the Jacobian needs static shapes");
}

TEST_CASE("session grad over an input stays symbolic") {
  std::string out = output("x = vector(f32)\ng = grad(sum(x * x), x)\n:type g");
  CHECK(out == "f32 (x_0,)");
}

TEST_CASE("session fused ops") {
  CHECK(output("fused{$0 * 2 + $1}([1.0, 2.0], [3.0, 4.0])") == "[5., 8.] : f64 (2,)");
  CHECK(output("fused_sum{$0 * $1}([1.0, 2.0], [3.0, 4.0])") == "11. : f64 ()");
  CHECK(output("fused_max{$0}([[1, 5], [7, 2]], axis=[1])") == "[5, 7] : i64 (2,)");
}

TEST_CASE("session fused_matmul literal bias") {
  // A literal bias takes the operands' dtype, as it does in a @ b + bias.
  const std::string w = "W = f32([[1, 2], [3, 4]])\n";
  CHECK(output(w + "fused_matmul(W, W, bias=[1.0, 2.0])") ==
        "[[ 8., 12.],\n [16., 24.]] : f32 (2, 2)");
  CHECK(output(w + "fused_matmul(W, W, bias=1)") == "[[ 8., 11.],\n [16., 23.]] : f32 (2, 2)");
  CHECK(error_of("I = i32([[1, 2], [3, 4]])\nfused_matmul(I, I, bias=0.5)").message ==
        "fused_matmul(): the bias must be i32 like the operands, not f64");
  CHECK(error_of(w + "fused_matmul(W, W, bias=f64([1, 2]))").message ==
        "fused_matmul(): the bias must be f32 like the operands, not f64");
  // An integer literal that the operands' dtype cannot hold is an error, not a wrapped value.
  CHECK(output("I = i32([[1, 2]])\nfused_matmul(I, I.T, bias=[3])") == "[[8]] : i32 (1, 1)");
  CHECK(error_of("I = i32([[1, 2]])\nfused_matmul(I, I.T, bias=[3000000000])").message ==
        "the integer literal 3000000000 does not fit i32, the dtype of the tensor it is combined "
        "with (i32 holds -2147483648 to 2147483647); cast that tensor to i64 first");
}

TEST_CASE("session placeholders print symbolically") {
  CHECK(output("param(0, f32) * 2") == "$0 * 2 : f32 ()");
}

TEST_CASE("session continuation lines") {
  CHECK(output("y = [[1, 2],\n     [3, 4]]\nsum(y,\n    axis=0)") == "[4, 6] : i64 (2,)");
}

TEST_CASE("session empty and comment-only input") {
  CHECK(output("").empty());
  CHECK(output("# nothing\n\n   \n").empty());
}

TEST_CASE("session values of other kinds") {
  CHECK(output("f32") == "f32");
  CHECK(output("\"hi\"") == "\"hi\"");
  CHECK(output("softmax") == "builtin softmax(x, axis=-1)");
}

TEST_CASE("session json output") {
  SessionOptions options = damo::testing::reference_options(true);
  CHECK(output("[[1.5, nan]]", options) ==
        R"({"dtype": "f64", "shape": [1, 2], "data": [[1.5, "nan"]]})");
  CHECK(output("x = vector(f32)\nx * 2", options) ==
        R"({"expr": "x * 2", "dtype": "f32", "shape": ["x_0"]})");
  CHECK(
      output("W = shared(\"W\", [1.0])\ngrad(sum(W), [W, W])", options) ==
      R"([{"dtype": "f32", "shape": [1], "data": [1]}, {"dtype": "f32", "shape": [1], "data": [1]}])");
}

TEST_CASE("session type command") {
  CHECK(output("X = matrix(f32, [n, 3])\n:type sum(X, axis=1) > 0") == "bool (n,)");
  CHECK(output(":type f32") == "a dtype");
}

TEST_CASE("session graph command") {
  CHECK(output("x = vector(f32)\n:graph x * 2") ==
        "%3 = mul f32 (x_0,)\n  %0 = input f32 (x_0,) x\n  %2 = constant f32 () weak 2");
}

TEST_CASE("session help command") {
  std::string help = output(":help");
  CHECK(help.find(":dot EXPR FILE") != std::string::npos);
  CHECK(help.find("softmax") != std::string::npos);
  CHECK(output(":help softmax") ==
        "softmax(x, axis=-1)\n  exp(x) normalized to sum to 1 along an axis");
  CHECK(output(":help :load") == ":load FILE\n  runs the statements of FILE in this session");
  CHECK(output(":help f32") == "f32(x)\n  x converted to f32, the same as cast(x, f32)");
  CHECK(output(":help bool") == "bool(x)\n  x converted to bool, the same as cast(x, bool)");
  // A comment after the topic is not part of it.
  CHECK(output(":help softmax  # normalizes") == output(":help softmax"));
}

TEST_CASE("session dot command writes a file") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/session_dot.dot";
  std::remove(path.c_str());
  CHECK(output("x = vector(f32)\n:dot exp(x) + 1 " + path) == "wrote " + path);
  std::ifstream file(path);
  std::string text((std::istreambuf_iterator<char>(file)), {});
  CHECK(text.starts_with("digraph"));
  CHECK(text.find("exp") != std::string::npos);
  // A path that also reads as a division (a / b / c) is still the file.
  std::string plain = std::string(DAMO_BINARY_DIR) + "/tests/session_dot_plain";
  std::remove(plain.c_str());
  CHECK(output("x = vector(f32)\n:dot x " + plain) == "wrote " + plain);
  // A comment after the file name is not part of it.
  CHECK(output("x = vector(f32)\n:dot x " + plain + " # the graph") == "wrote " + plain);
  CHECK(damo::testing::read_text(plain).starts_with("digraph"));
  std::remove(plain.c_str());
  // A quoted file name may hold spaces, in double or single quotes.
  std::string spaced = std::string(DAMO_BINARY_DIR) + "/tests/session dot spaced.dot";
  std::remove(spaced.c_str());
  CHECK(output("x = vector(f32)\n:dot x + 1 \"" + spaced + "\"") == "wrote " + spaced);
  CHECK(damo::testing::read_text(spaced).starts_with("digraph"));
  std::remove(spaced.c_str());
  CHECK(output("x = vector(f32)\n:dot x + 1 '" + spaced + "'") == "wrote " + spaced);
  std::remove(spaced.c_str());
  CHECK(error_of("x = vector(f32)\n:dot x + 1 \"\"").message ==
        ":dot needs a file name after the expression, as in :dot x + 1 graph.dot");
  CHECK(error_of("x = vector(f32)\n:dot x + 1 \"open.dot").message.starts_with(
      ":dot's file name \"open.dot has an unmatched quote"));
}

TEST_CASE("session load command") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/session_load.damo";
  {
    std::ofstream file(path);
    file << "a = 20\na + 1\n";
  }
  CHECK(output(":load " + path + "\na * 2") == "21 : i64 ()\n40 : i64 ()");
  // A comment after the file name is not part of it.
  CHECK(output(":load " + path + "  # the constants\na * 3") == "21 : i64 ()\n60 : i64 ()");
  CHECK(error_of(":load missing#part.damo").message.ends_with(
      "; a '#' starts a comment, so quote a file name that contains one, as in :load \"a#b.damo\""));
}

TEST_CASE("session load that loads itself stops") {
  std::string path = std::string(DAMO_BINARY_DIR) + "/tests/session_self_load.damo";
  {
    std::ofstream file(path);
    file << ":load " << path << "\n";
  }
  auto e = damo::testing::error_of(":load " + path);
  CHECK(e.message == ":load would open source 17, but at most 16 are open at once (the script and the "
                     "files that :load opened from it), as when a file loads itself; check the :load "
                     "lines; " + path + " was loaded at <test>:1");
  CHECK(e.what.starts_with(path + ":1:1: "));
}

TEST_CASE("session quit command stops") {
  Session session(damo::testing::reference_options());
  CHECK(session.run("1\n:quit\n2") == std::vector<std::string>{"1 : i64 ()"});
  CHECK(session.quit_requested());
}

TEST_CASE("session completions") {
  Session session(damo::testing::reference_options());
  session.run("softness = 1");
  std::vector<std::string> names = session.completions("soft");
  CHECK(names == std::vector<std::string>{"softmax", "softmax_crossentropy",
                                          "softmax_crossentropy_grad", "softness", "softplus",
                                          "softsign"});
  CHECK(session.completions(":g") == std::vector<std::string>{":graph"});
  CHECK(session.completions("tr") == std::vector<std::string>{"transpose", "true"});
}

TEST_CASE("session evaluate returns values") {
  Session session(damo::testing::reference_options());
  session.run("x = vector(f32)");
  Value v = session.evaluate("x + 1");
  REQUIRE(v.is(Value::Kind::Tensor));
  CHECK(v.expr().dtype() == DType::Float32);
  CHECK(session.evaluate("[x, x]").is(Value::Kind::List));
  CHECK_THROWS_AS(session.compute("x + 1"), UserError);
}

TEST_CASE("session simplify rewrites exactly") {
  CHECK(output("x = vector(f32)\nsimplify(x * 1 + -0.0)") == "x : f32 (x_0,)");
  CHECK(output("x = vector(f32)\nsimplify(x ** 2)") == "square(x) : f32 (x_0,)");
  CHECK(output("x = vector(f32)\nsimplify(log(1 + x))") == "log1p(x) : f32 (x_0,)");
  // x + 0 is not x for x = -0, so it stays.
  CHECK(output("x = vector(f32)\nsimplify(x + 0)") == "x + 0 : f32 (x_0,)");
  CHECK(output("simplify(2 * 3)") == "6 : i64 ()");
}

TEST_CASE("session opt command fuses") {
  std::string text = output("x = vector(f32)\n:opt sigmoid(x) * 2 + 1");
  CHECK(text.find("fused_elementwise") != std::string::npos);
  CHECK(text.find("sigmoid") != std::string::npos);
}

TEST_CASE("session prints values of unbound symbols as text") {
  // No input gives n a size, so these print in symbolic form rather than fail to evaluate.
  std::string x = "x = vector(f32, [n])\n";
  CHECK(output(x + "grad(sum(x), x)[0]") == "take(broadcast_to(expand_dims(1, 0), [n]), 0, axis=0) : f32 ()");
  CHECK(output(x + "dim_size(n)") == "dim_size(n) : i64 ()");
  CHECK(output(x + "sum(ones(f32, [3]))") == "3. : f32 ()");
}

TEST_CASE("session load_npy and save_npy") {
  std::string dir = std::string(DAMO_BINARY_DIR) + "/tests/session_npy_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  damo::save_npy(dir + "/in.npy", Tensor::from_list({{1.5, 2.0}, {-3.0, 4.0}}, DType::Float64));
  CHECK(output("a = load_npy('" + dir + "/in.npy')\na * 2") == "[[ 3.,  4.],\n [-6.,  8.]] : f64 (2, 2)");
  CHECK(output("save_npy('" + dir + "/out.npy', i32([[1, 2, 3]]) * 3)") == "");
  Tensor saved = damo::load_npy(dir + "/out.npy");
  CHECK(saved.dtype() == DType::Int32);
  CHECK(saved.shape() == Dims{1, 3});
  CHECK(saved.get_double(2) == 9.0);
  auto message = [](const std::string& code) { return damo::testing::error_of(code).message; };
  CHECK(message("load_npy('" + dir + "/missing.npy')").starts_with("cannot open '"));
  CHECK(message("x = vector(f32, [2])\nsave_npy('" + dir + "/x.npy', x)") ==
        "this needs a constant, but it depends on the input 'x', which has a value only when a "
        "compiled function runs; use a constant, or the result of calling a function([...], [...])");
  std::filesystem::remove_all(dir);
}

TEST_CASE("session paired index tensors pick one class per row") {
  // -log(p[arange(4), y]) is the cross-entropy of each row, on both backends, and so is its
  // gradient: softmax minus the one-hot targets.
  std::string code =
      "x = matrix(f64, [4, 3])\ny = vector(i64, [4])\n"
      "loss = -sum(log(softmax(x, axis=1))[arange(4), y])\n"
      "f = function([x, y], [loss, grad(loss, x)[3, 1]])\n"
      "f([[1, 2, 3], [0, 0, 0], [3, 1, 2], [-1, 5, 0]], [2, 0, 1, 1])";

  double expected_loss = 0;
  const double rows[4][3] = {{1, 2, 3}, {0, 0, 0}, {3, 1, 2}, {-1, 5, 0}};
  const int labels[4] = {2, 0, 1, 1};
  for (int r = 0; r < 4; ++r) {
    double total = std::exp(rows[r][0]) + std::exp(rows[r][1]) + std::exp(rows[r][2]);
    expected_loss -= std::log(std::exp(rows[r][labels[r]]) / total);
  }
  double total = std::exp(-1.0) + std::exp(5.0) + std::exp(0.0);
  double expected_gradient = std::exp(5.0) / total - 1.0;

  SessionOptions jit;
  jit.compile.backend = Backend::Jit;
  jit.compile.use_cache = false;
  for (const SessionOptions& options : {damo::testing::reference_options(), jit}) {
    Session session(options);
    std::vector<std::string> printed = session.run(code);
    REQUIRE(printed.size() == 1);
    CAPTURE(printed[0]);
    double loss = 0;
    double gradient = 0;
    REQUIRE(std::sscanf(printed[0].c_str(), "%lf : f64 ()\n%lf : f64 ()", &loss, &gradient) == 2);
    CHECK(loss == doctest::Approx(expected_loss).epsilon(1e-12));
    CHECK(gradient == doctest::Approx(expected_gradient).epsilon(1e-12));
  }
}

TEST_CASE("session hints for python spellings") {
  auto message = [](const std::string& code) { return damo::testing::error_of(code).message; };
  CHECK(message("True") == "unknown variable 'True'; this language writes 'true'");
  CHECK(message("x = None") == "unknown variable 'None'; this language writes 'none'");
  CHECK(message("zeros(float32, [2])") == "unknown variable 'float32'; this language writes 'f32'");
  CHECK(message("1 \"s\"") == "unexpected string after the end of the statement; write one statement per line");
  CHECK(message(":quit now") == ":quit takes no argument, but 'now' follows it; write :quit alone");
  CHECK(message("help") == "unknown variable 'help'; REPL commands start with a colon: type :help");
  CHECK(message("exit") == "unknown variable 'exit'; REPL commands start with a colon: type :quit");
}

TEST_CASE("session type of a list") {
  std::string prelude = "W = matrix(f32, [3, 4])\nx = vector(f64, [4])\n";
  CHECK(output(prelude + ":type grad(sum(W @ f32(x)), [W, x])") == "f32 (3, 4)\nf64 (4,)");
}

TEST_CASE("session list subscripts") {
  // Items of different shapes: an integer subscript picks one.
  std::string prelude = "a = vector(f32, [n])\nb = vector(f32, [m])\ng = grad(sum(a) + sum(b * b), [a, b])\n";
  CHECK(output(prelude + "g[-1]") == "broadcast_to(expand_dims(1, 0), [m]) * b + broadcast_to(expand_dims(1, 0), [m]) * b : f32 (m,)");
  CHECK(output(prelude + ":type g[0]") == "f32 (n,)");
  CHECK(damo::testing::error_of(prelude + "g[2]").message == "index 2 is out of range for a list of 2 items");
  // A list that forms a tensor is indexed as that tensor.
  CHECK(output("[[1, 2], [3, 4]][1]") == "[3, 4] : i64 (2,)");
  CHECK(output("[[1, 2], [3, 4]][1, 0]") == "3 : i64 ()");
  // A returned list picks items even when they share a shape: an i64 output stays i64.
  std::string call = "x = vector(f32, [3])\nf = function([x], [sort(x), argsort(x) + 16777217])\nr = f([3, 1, 2])\n";
  CHECK(output(call + "r[1]") == "[16777218, 16777219, 16777217] : i64 (3,)");
  CHECK(output(call + "r[-2]") == "[1., 2., 3.] : f32 (3,)");
  CHECK(damo::testing::error_of(call + "r[0, 1]").message ==
        "a list of 2 items from a builtin or a compiled function takes one integer subscript, which "
        "picks an item; index the item next, as in r[0][1:]");
  std::string same = "w = vector(f64, [2])\ng = grad(sum(w * w * w), [w, w])\n";
  CHECK(output(same + ":type g[1]") == "f64 (2,)");
}
