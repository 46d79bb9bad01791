// Elementwise fusion: which ops form a group, what the body and operands look like, and
// that fused graphs compute bit for bit what the unfused ones do, in the reference
// evaluator and in compiled code.
#include <doctest/doctest.h>

#include "damo/frontend/function.h"
#include "damo/optimizer/fuse_elementwise.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_same_values;
using testing::run_pass;

struct Operands {
  Graph g;
  Expr x = g.input("x", DType::Float32, {4, 3});
  Expr y = g.input("y", DType::Float32, {4, 3});
  Expr z = g.input("z", DType::Float32, {4, 3});
  Expr b = g.input("b", DType::Float32, {3});
  Expr c = g.input("c", DType::Bool, {4, 3});

  Feeds feeds() const {
    std::vector<double> special = testing::special_values();
    Tensor x_value = Tensor::empty(DType::Float32, {4, 3});
    for (std::int64_t i = 0; i < 12; ++i)
      x_value.set_double(i, special[static_cast<std::size_t>(i)]);
    Tensor c_value = Tensor::empty(DType::Bool, {4, 3});
    for (std::int64_t i = 0; i < 12; ++i) c_value.set_double(i, i % 3 == 0);
    return {{"x", x_value},
            {"y", testing::random_tensor(DType::Float32, {4, 3}, 1)},
            {"z", testing::random_tensor(DType::Float32, {4, 3}, 2)},
            {"b", testing::random_tensor(DType::Float32, {3}, 3)},
            {"c", c_value}};
  }
};

void check_fused(const Operands& o, Expr input, const std::string& expected) {
  Expr actual = run_pass(FuseElementwise(), input);
  INFO(to_infix(input) << " became " << to_infix(actual));
  CHECK(to_infix(actual) == expected);
  check_same_values(evaluate(actual, o.feeds()), evaluate(input, o.feeds()), expected);
}

TEST_CASE("fuse elementwise golden text") {
  Operands o;
  Expr x = o.x, y = o.y, z = o.z, b = o.b;
  check_fused(o, exp(x) * y + z, "fused{exp($0) * $1 + $2}(x, y, z)");
  check_fused(o, where(o.c, x * 2.0, -y), "fused{where($0, $1 * 2, -$2)}(c, x, y)");
  check_fused(o, x * b + 1.0, "fused{$0 * $1 + 1}(x, b)");
  check_fused(o, square(x - y) / (x + y), "fused{square($0 - $1) / ($0 + $1)}(x, y)");
  check_fused(o, x * broadcast_to(b, Shape{4, 3}) - y, "fused{$0 * $1 - $2}(x, b, y)");
  check_fused(o, exp(x), "exp(x)");
}

TEST_CASE("fuse elementwise into reductions") {
  Operands o;
  Expr x = o.x, y = o.y;
  check_fused(o, sum(x * y, Axes(1)), "fused_sum{$0 * $1}(x, y, axis=[1])");
  check_fused(o, max(abs(x), Axes(0), true), "fused_max{abs($0)}(x, axis=[0], keepdims=true)");
  // A mean divides the fused sum by the count, and the values stay those of mean(x * y).
  check_fused(o, mean(x * y), "fused_mean{$0 * $1}(x, y)");
  check_fused(o, mean(square(x - y), Axes(0)), "fused_mean{square($0 - $1)}(x, y, axis=[0])");
  // A sum of a lone input has nothing to absorb.
  check_fused(o, sum(x), "sum(x)");
}

TEST_CASE("fuse elementwise ends groups at shared nodes") {
  Operands o;
  Expr shared = o.x * o.y;
  std::vector<Expr> roots =
      run_pass(FuseElementwise(), {exp(shared) + o.z, shared - o.z, sum(shared)});
  CHECK(to_infix(roots[0]) == "fused{exp($0) + $1}(x * y, z)");
  CHECK(to_infix(roots[1]) == "x * y - z");
  CHECK(to_infix(roots[2]) == "sum(x * y)");
  // The product is computed once, as one node.
  CHECK(roots[0]->input(0) == roots[1]->input(0));
}

TEST_CASE("fuse elementwise keeps broadcast transcendentals separate") {
  Operands o;
  check_fused(o, o.x * exp(o.b) + o.y, "fused{$0 * $1 + $2}(x, exp(b), y)");
  check_fused(o, o.x * (o.b * 2.0) + o.y, "fused{$0 * ($1 * 2) + $2}(x, b, y)");
}

TEST_CASE("fuse elementwise splits large groups") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {5});
  Expr e = x;
  for (int i = 0; i < 100; ++i) e = e * 1.5 + x;
  Expr fused = run_pass(FuseElementwise(FuseElementwiseOptions{64, true}), e);
  CHECK(testing::count_op({fused}, OpKind::FusedElementwise) == 4);
  Feeds feeds = {{"x", testing::random_tensor(DType::Float32, {5}, 9, -1, 1)}};
  check_same_values(evaluate(fused, feeds), evaluate(e, feeds), "split chain");
}

TEST_CASE("fused elementwise compiles to the same values") {
  Operands o;
  Expr x = o.x, y = o.y, z = o.z, b = o.b;
  std::vector<Expr> outputs = {exp(x) * y + z, sum(x * y + b, Axes(1)), where(o.c, x * 2.0, -y),
                               max(abs(x) - b, Axes(0), true)};
  Function compiled = compile({o.x, o.y, o.z, o.b, o.c}, outputs);
  CHECK(compiled.optimized_graph().find("fused_elementwise") != std::string::npos);
  CHECK(compiled.optimized_graph().find("fused_reduction") != std::string::npos);
  Feeds feeds = o.feeds();
  std::vector<Tensor> actual =
      compiled({feeds.at("x"), feeds.at("y"), feeds.at("z"), feeds.at("b"), feeds.at("c")});
  std::vector<Tensor> expected = evaluate(outputs, feeds);
  // Compiled exp may differ from the evaluator's in the last bit.
  testing::check_close(actual[0], expected[0], 1e-6, "fused elementwise");
  testing::check_close(actual[1], expected[1], 1e-6, "fused sum");
  check_same_values(actual[2], expected[2], "fused where");
  check_same_values(actual[3], expected[3], "fused max");
}

}  // namespace
}  // namespace damo
