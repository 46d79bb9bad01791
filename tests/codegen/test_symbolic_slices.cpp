// Slices of symbolic axes: x[1:] of an axis of size n has the derived size n-1, which each
// call computes from n. These tests check the shapes, the errors for slices whose size is
// not n less a constant, the values of both backends for sizes below, at and above the
// trimmed count, gradients, the slice-of-slice rewrite and the printers.
#include <algorithm>
#include <functional>
#include <limits>
#include <optional>

#include "damo/codegen/program.h"
#include "damo/graph/autodiff.h"
#include "damo/graph/printer.h"
#include "damo/optimizer/optimize.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

constexpr std::nullopt_t kOpen = std::nullopt;

// A float64 tensor of shape (rows, columns) whose elements are all distinct.
Tensor counting(std::int64_t rows, std::int64_t columns) {
  Tensor t = Tensor::empty(DType::Float64, {rows, columns});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(i + 1) * (i % 2 ? -1.5 : 1.0));
  return t;
}

}  // namespace

TEST_CASE("symbolic slice: shapes are n less a constant") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 3});
  CHECK(slice(x, 0, 1, kOpen).shape().to_string() == "(n-1, 3)");
  CHECK(slice(x, 0, kOpen, -1).shape().to_string() == "(n-1, 3)");
  CHECK(slice(x, 0, 2, -3).shape().to_string() == "(n-5, 3)");
  CHECK(slice(slice(x, 0, 1, kOpen), 0, 1, -2).shape().to_string() == "(n-4, 3)");
  CHECK(slice(x, 0, 0, kOpen).node() == x.node());
  CHECK(slice(x, 0, kOpen, 0).shape().to_string() == "(0, 3)");
  CHECK(slice(x, 0, 4, 2).shape().to_string() == "(0, 3)");
  CHECK(slice(x, 0, -1, -1).shape().to_string() == "(0, 3)");
  CHECK(slice(x, 0, -3, -5).shape().to_string() == "(0, 3)");
  CHECK(to_infix(slice(x, 0, 3, 3)) == "x[:0]");
  Dim derived = slice(x, 0, 1, kOpen).shape()[0];
  CHECK(derived.is_derived());
  CHECK(derived.base_symbol() == "n");
  CHECK(Dim("n").minus(2) == Dim::from_symbol("n-2"));
  CHECK(Dim(3).minus(5) == Dim(0));
  CHECK_FALSE(Dim("n").is_derived());
}

TEST_CASE("symbolic slice: sizes that are not n less a constant") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 3});
  const std::string rule =
      "would not be n less a constant; on a symbolic axis use a start of 0 or more, a stop that "
      "is empty or negative and step 1 (x[1:], x[:-1], x[2:-3]), or take() with indices";
  const std::string step_rule = "has the symbolic size n, and a slice of a symbolic axis takes step 1, so ";
  CHECK(user_error([&] { slice(x, 0, kOpen, kOpen, -1); }) ==
        "slice: axis 0 of f32 (n, 3) " + step_rule + "[::-1] is not supported; pick the elements with take() "
        "and indices instead");
  CHECK(user_error([&] { slice(x, 0, -3, kOpen); }) ==
        "slice: axis 0 of f32 (n, 3) has the symbolic size n, and the size of the slice [-3:] " + rule);
  CHECK(user_error([&] { slice(x, 0, 1, 5); }) ==
        "slice: axis 0 of f32 (n, 3) has the symbolic size n, and the size of the slice [1:5] " + rule);
  CHECK(user_error([&] { slice(x, 0, kOpen, kOpen, 2); }) ==
        "slice: axis 0 of f32 (n, 3) " + step_rule + "[::2] is not supported; pick the elements with take() "
        "and indices instead");
}

TEST_CASE("symbolic slice: reference values for small and large n") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 2});
  Expr tail = slice(x, 0, 1, kOpen);
  Expr inner = slice(x, 0, 2, -3);
  for (std::int64_t n : {0, 1, 2, 5, 6, 9}) {
    CAPTURE(n);
    Tensor value = counting(n, 2);
    std::vector<Tensor> out = evaluate({tail, inner}, {{"x", value}});
    REQUIRE(out[0].shape() == Dims{std::max<std::int64_t>(n - 1, 0), 2});
    REQUIRE(out[1].shape() == Dims{std::max<std::int64_t>(n - 5, 0), 2});
    for (std::int64_t i = 0; i < out[0].numel(); ++i) CHECK(out[0].get_double(i) == value.get_double(i + 2));
    for (std::int64_t i = 0; i < out[1].numel(); ++i) CHECK(out[1].get_double(i) == value.get_double(i + 4));
  }
}

TEST_CASE("symbolic slice: compiled values match the reference") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 3});
  Expr w = g.input("w", DType::Float64, {3, 2});
  Expr v = g.input("v", DType::Float64, {"n"});
  std::vector<Expr> outputs = {
      slice(x, 0, 1, kOpen) - slice(x, 0, kOpen, -1),         // neighbour differences, in place
      sum(slice(x, 0, 1, -1), Axes(0)),                       // a reduction over n-2 rows
      mean(slice(x, 0, 2, kOpen), Axes(0)),                   // its divisor is n-2 at run time
      matmul(slice(x, 0, kOpen, -2), w),                      // a product of n-2 rows
      slice(slice(x, 0, 1, kOpen), 0, 1, kOpen) * 2.0,        // a slice of a derived axis
      exp(slice(v, 0, 3, kOpen)) * slice(v, 0, 1, -2),        // two slices with one size
      cumsum(slice(v, 0, kOpen, -1), 0),
      dim_size(g, "n-2") + 0,
  };
  std::mt19937_64 rng(5);
  Tensor weights = random_tensor(DType::Float64, {3, 2}, rng);
  for (std::int64_t n : {0, 1, 2, 3, 4, 11, 64}) {
    std::vector<Tensor> arguments = {random_tensor(DType::Float64, {n, 3}, rng), weights,
                                     random_tensor(DType::Float64, {n}, rng)};
    check_jit_matches_reference({x, w, v}, outputs, arguments, fmt::format("n = {}", n));
    // The optimizer (fusion, the slice-of-slice rewrite) must keep the values.
    Function optimized = compile({x, w, v}, outputs);
    std::vector<Tensor> actual = optimized(arguments);
    Feeds feeds = {{"x", arguments[0]}, {"w", arguments[1]}, {"v", arguments[2]}};
    std::vector<Tensor> expected = evaluate(outputs, feeds);
    for (std::size_t i = 0; i < outputs.size(); ++i)
      check_close(actual[i], expected[i], 1e-12, fmt::format("optimized, n = {}, output {}", n, i));
  }
}

TEST_CASE("symbolic slice: a reduction alone over a sliced axis") {
  // The reduction reads the slice in place, so no buffer has the size n-1; each function
  // has that one output, so nothing else brings n-1 into the program.
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 3});
  std::vector<Expr> cases = {
      sum(slice(x, 0, 1, kOpen)),
      sum(slice(x, 0, kOpen, -1), Axes(0)),
      mean(slice(x, 0, 2, -3), Axes(0), true),
      max(slice(slice(x, 0, 1, kOpen), 0, kOpen, -1), Axes(0)),
      argmin(slice(x, 0, 1, kOpen), 0),
      logsumexp(slice(x, 0, 1, kOpen), Axes(0)),
      sum(exp(slice(x, 0, 1, kOpen)) * 2.0, Axes(0)),
      sum(slice(x, 0, 1, kOpen) * slice(x, 0, kOpen, -1)),
  };
  std::mt19937_64 rng(11);
  for (std::size_t i = 0; i < cases.size(); ++i)
    for (std::int64_t n : {0, 1, 3, 9}) {
      Tensor value = random_tensor(DType::Float64, {n, 3}, rng);
      check_jit_matches_reference({x}, {cases[i]}, {value}, fmt::format("case {}, n = {}", i, n));
      Function optimized = compile({x}, {cases[i]});
      check_close(optimized({value})[0], evaluate(cases[i], {{"x", value}}), 1e-12,
                  fmt::format("optimized case {}, n = {}", i, n));
    }
}

TEST_CASE("symbolic slice: gradients against finite differences") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 2});
  Expr d = slice(x, 0, 1, kOpen) - slice(x, 0, kOpen, -1);
  Expr cost = sum(d * d) + sum(sin(slice(x, 0, 2, -1)));
  std::mt19937_64 rng(7);
  for (std::int64_t n : {1, 2, 4, 9}) {
    CAPTURE(n);
    Feeds feeds = {{"x", random_tensor(DType::Float64, {n, 2}, rng)}};
    GradCheckResult result = verify_grad(cost, {x}, feeds);
    CHECK(result.max_abs_error < 1e-6);
    // The compiled gradient agrees with the reference one, slice_scatter included.
    Expr gradient = grad(cost, {x})[0];
    CHECK(gradient.shape().to_string() == "(n, 2)");
    check_jit_matches_reference({x}, {gradient}, {feeds.at("x")}, fmt::format("gradient, n = {}", n));
  }
}

TEST_CASE("symbolic slice: slice of a slice becomes one slice") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Expr twice = slice(slice(x, 0, 1, -1), 0, 2, -3);
  Expr once = optimize_exprs({twice})[0];
  CHECK(once->op() == OpKind::Slice);
  CHECK(once->input(0) == x.node());
  CHECK(once.node()->attrs().ints == std::vector<std::int64_t>{0, 3, -4, 1, 1});
  CHECK(once.shape() == twice.shape());
  std::mt19937_64 rng(3);
  for (std::int64_t n : {0, 6, 7, 8, 15}) {
    Feeds feeds = {{"x", random_tensor(DType::Float64, {n}, rng)}};
    check_close(evaluate(once, feeds), evaluate(twice, feeds), 0, fmt::format("n = {}", n));
  }
}

TEST_CASE("symbolic slice: printers show the bounds from the end") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  CHECK(to_infix(slice(x, 0, 1, -1)) == "x[1:-1]");
  CHECK(to_infix(slice(x, 0, 2, kOpen)) == "x[2:]");
  CHECK(to_infix(slice(x, 0, kOpen, -1)) == "x[:-1]");
  std::string dumped = dump({slice(x, 0, 1, -2)});
  CHECK(dumped.find("axis=0 start=1 stop=end-2 step=1") != std::string::npos);
  Expr scatter = grad(sum(slice(x, 0, 1, kOpen)), {x})[0];
  CHECK(dump({scatter}).find("stop=end step=1") != std::string::npos);
}

TEST_CASE("symbolic slice: rows are not split into blocks") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 4});
  Program program = lower_to_program({x}, {tanh(slice(x, 0, 1, kOpen)) * 3.0}, {});
  CHECK(program.spec.row_block_symbol == -1);
  CHECK(std::find(program.spec.symbols.begin(), program.spec.symbols.end(), "n-1") !=
        program.spec.symbols.end());
  std::mt19937_64 rng(9);
  ForcedRowBlocks blocks(2);
  check_jit_matches_reference({x}, {tanh(slice(x, 0, 1, kOpen)) * 3.0},
                              {random_tensor(DType::Float64, {9, 4}, rng)}, "forced blocks of 2");
}

TEST_CASE("symbolic slice: an input with a derived size is rejected") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Dim derived = slice(x, 0, 1, kOpen).shape()[0];
  CHECK(user_error([&] { g.input("y", DType::Float64, Shape({derived})); }) ==
        "input 'y': the size n-1 in shape (n-1,) is derived from the symbol n; declare the input "
        "with a symbol of its own");
  CHECK(user_error([&] { Dim("n").minus(-1); }) ==
        "Dim::minus: the amount -1 is negative; a size can only shrink");
}

TEST_CASE("symbolic slice: derived names parse exactly") {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  Dim far = Dim("n").minus(kMax - 3);
  CHECK(far.is_derived());
  CHECK(far.to_string() == "n-9223372036854775804");
  CHECK(Dim::from_symbol(far.to_string()) == far);
  CHECK(Dim("n").minus(kMax).base_symbol() == "n");
  CHECK(user_error([&] { Dim("n").minus(kMax).minus(1); }) ==
        "the size n-9223372036854775807 less 1 does not fit in 64 bits");
  // Leading zeros, a double minus and a second minus are not derived names.
  for (const char* text : {"n-01", "n--1", "n-1-1", "1n-1", "-1"})
    CHECK(user_error([&] { Dim::from_symbol(text); }) ==
          fmt::format("invalid symbolic dimension name '{}': use letters, digits and underscores, "
                      "starting with a letter",
                      text));
}

TEST_CASE("symbolic slice: mixing n and n-1 names the fix") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  CHECK(user_error([&] { slice(x, 0, 1, kOpen) + x; }) ==
        "add: shapes (n-1,) and (n,) do not broadcast: each axis, aligned from the last, must have "
        "equal sizes or size 1. The sizes n-1 and n differ by a constant in every call; slice the "
        "operands to one size, as in x[1:] - x[:-1]");
}
