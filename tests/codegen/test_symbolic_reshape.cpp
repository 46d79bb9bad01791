// Reshapes that merge a symbolic axis with static ones: (n, 2, 3) to (-1,) has the derived
// size n*6, which each call computes from n. These tests check both backends for sizes 0,
// 1, odd and large n, gradients through such reshapes, and that the rows of a program with
// a derived size are not split into blocks.
#include <algorithm>
#include <optional>

#include "damo/codegen/program.h"
#include "damo/graph/autodiff.h"
#include "damo/graph/printer.h"
#include "damo/optimizer/optimize.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

TEST_CASE("symbolic reshape: compiled values match the reference") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 2, 3});
  Expr w = g.input("w", DType::Float64, {3, 4});
  Expr rows = reshape(x, {-1, 3});                       // (n*2, 3)
  Expr flat = reshape(x, {-1});                          // (n*6,)
  Expr tail = reshape(slice(x, 0, 1, std::nullopt), {-1});  // (n*6-6,)
  std::vector<Expr> outputs = {
      flat * 2.0,
      exp(rows) - rows,
      matmul(rows, w),                                   // a product over n*2 rows
      reshape(matmul(rows, w), {"n", 2, 4}),             // split back into n
      sum(rows, Axes(0)),
      mean(flat, Axes(0)),                               // its divisor is n*6 at run time
      cumsum(flat, 0),
      tail + 1.0,
      slice(flat, 0, 1, -1),                             // n*6-2
      softmax(reshape(x, {"n", -1}), -1),
      dim_size(g, "n*6") + 0,
  };
  std::mt19937_64 rng(17);
  Tensor weights = random_tensor(DType::Float64, {3, 4}, rng);
  for (std::int64_t n : {0, 1, 2, 7, 64}) {
    std::vector<Tensor> arguments = {random_tensor(DType::Float64, {n, 2, 3}, rng), weights};
    check_jit_matches_reference({x, w}, outputs, arguments, fmt::format("n = {}", n));
    Function optimized = compile({x, w}, outputs);
    std::vector<Tensor> actual = optimized(arguments);
    std::vector<Tensor> expected = evaluate(outputs, {{"x", arguments[0]}, {"w", arguments[1]}});
    REQUIRE(actual[0].shape() == Dims{n * 6});
    REQUIRE(actual[7].shape() == Dims{std::max<std::int64_t>(n * 6 - 6, 0)});
    REQUIRE(actual[8].shape() == Dims{std::max<std::int64_t>(n * 6 - 2, 0)});
    CHECK(actual[10].get_double(0) == static_cast<double>(n * 6));
    for (std::size_t i = 0; i < outputs.size(); ++i)
      check_close(actual[i], expected[i], 1e-12, fmt::format("optimized, n = {}, output {}", n, i));
    // The flattened values are x's in row-major order.
    for (std::int64_t i = 0; i < n * 6; ++i) CHECK(expected[0].get_double(i) == 2.0 * arguments[0].get_double(i));
  }
}

TEST_CASE("symbolic reshape: gradients against finite differences") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 3});
  Expr w = g.input("w", DType::Float64, {2, 5});
  Expr flat = reshape(x, {-1});
  Expr pairs = reshape(concatenate({x, x * 0.5}, 1), {-1, 2});  // (n*3, 2)
  Expr cost = sum(sin(flat) * flat) + sum(tanh(matmul(pairs, w))) +
              sum(reshape(slice(x, 0, 1, std::nullopt), {-1}) * 3.0);
  std::mt19937_64 rng(23);
  for (std::int64_t n : {1, 2, 5}) {
    CAPTURE(n);
    Feeds feeds = {{"x", random_tensor(DType::Float64, {n, 3}, rng)},
                   {"w", random_tensor(DType::Float64, {2, 5}, rng)}};
    GradCheckResult result = verify_grad(cost, {x, w}, feeds);
    CHECK(result.max_abs_error < 1e-6);
    std::vector<Expr> gradients = grad(cost, {x, w});
    CHECK(gradients[0].shape().to_string() == "(n, 3)");
    check_jit_matches_reference({x, w}, gradients, {feeds.at("x"), feeds.at("w")},
                                fmt::format("gradients, n = {}", n));
  }
}

TEST_CASE("symbolic reshape: rows with a derived size are not split into blocks") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 4});
  Expr out = tanh(reshape(x, {-1, 2})) * 3.0;
  Program program = lower_to_program({x}, {out}, {});
  CHECK(program.spec.row_block_symbol == -1);
  CHECK(std::find(program.spec.symbols.begin(), program.spec.symbols.end(), "n*2") !=
        program.spec.symbols.end());
  std::mt19937_64 rng(29);
  ForcedRowBlocks blocks(2);
  for (std::int64_t n : {0, 3, 9})
    check_jit_matches_reference({x}, {out}, {random_tensor(DType::Float64, {n, 4}, rng)},
                                fmt::format("n = {}", n));
}

TEST_CASE("symbolic concatenate: parts of one symbolic size") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 2});
  Expr y = g.input("y", DType::Float64, {"n", 2});
  Expr rows = concatenate({x, y * 2.0, x}, 0);
  CHECK(rows.shape().to_string() == "(n*3, 2)");
  Expr columns = concatenate({x, y}, 1);
  CHECK(columns.shape().to_string() == "(n, 4)");
  Expr tails = concatenate({slice(x, 0, 1, std::nullopt), slice(y, 0, std::nullopt, -1)}, -2);
  CHECK(tails.shape().to_string() == "(n*2-2, 2)");

  std::vector<Expr> outputs = {rows, tails, sum(rows * rows, Axes(0))};
  std::mt19937_64 rng(31);
  for (std::int64_t n : {0, 1, 2, 5}) {
    std::vector<Tensor> arguments = {random_tensor(DType::Float64, {n, 2}, rng),
                                     random_tensor(DType::Float64, {n, 2}, rng)};
    check_jit_matches_reference({x, y}, outputs, arguments, fmt::format("n = {}", n));
    // Rows in order: x, then 2 y, then x again.
    Tensor joined = evaluate(rows, {{"x", arguments[0]}, {"y", arguments[1]}});
    REQUIRE(joined.shape() == Dims{3 * n, 2});
    for (std::int64_t i = 0; i < n * 2; ++i) {
      CHECK(joined.get_double(i) == arguments[0].get_double(i));
      CHECK(joined.get_double(n * 2 + i) == 2.0 * arguments[1].get_double(i));
      CHECK(joined.get_double(n * 4 + i) == arguments[0].get_double(i));
    }
  }

  Expr cost = sum(sin(rows) * rows) + sum(tails * tails);
  for (std::int64_t n : {1, 3}) {
    Feeds feeds = {{"x", random_tensor(DType::Float64, {n, 2}, rng)},
                   {"y", random_tensor(DType::Float64, {n, 2}, rng)}};
    CHECK(verify_grad(cost, {x, y}, feeds).max_abs_error < 1e-6);
    std::vector<Expr> gradients = grad(cost, {x, y});
    check_jit_matches_reference({x, y}, gradients, {feeds.at("x"), feeds.at("y")},
                                fmt::format("gradients, n = {}", n));
  }
}

TEST_CASE("symbolic reshape: printers show the derived size") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 3});
  Expr flat = reshape(x, {-1});
  CHECK(dump({flat}).find("(n*3,)") != std::string::npos);
  CHECK(reshape(flat, {-1, 3}).shape().to_string() == "(n, 3)");
}
