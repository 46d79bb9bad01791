// Matmul fusion: bias, activation and transposed operands fold into fused_matmul, a product
// used twice does not, and the values stay those of the unfused graph.
#include <doctest/doctest.h>

#include "damo/optimizer/fuse_matmul.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_close;
using testing::run_pass;

struct Layer {
  Graph g;
  Expr x = g.input("x", DType::Float32, {4, 3});
  Expr w = g.input("w", DType::Float32, {3, 5});
  Expr b = g.input("b", DType::Float32, {5});
  Expr d = g.input("d", DType::Float32, {4, 5});

  Feeds feeds() const {
    return {{"x", testing::random_tensor(DType::Float32, {4, 3}, 1)},
            {"w", testing::random_tensor(DType::Float32, {3, 5}, 2)},
            {"b", testing::random_tensor(DType::Float32, {5}, 3)},
            {"d", testing::random_tensor(DType::Float32, {4, 5}, 4)}};
  }
};

TEST_CASE("fuse matmul golden text") {
  Layer l;
  std::vector<std::pair<Expr, std::string>> cases = {
      {sigmoid(matmul(l.x, l.w) + l.b), "fused_matmul(x, w, b, activation=sigmoid)"},
      {tanh(l.b + matmul(l.x, l.w)), "fused_matmul(x, w, b, activation=tanh)"},
      {relu(matmul(l.x, l.w)), "fused_matmul(x, w, activation=relu)"},
      {matmul(l.x, l.w) + l.b, "fused_matmul(x, w, b)"},
      {matmul(transpose(l.x), l.d), "fused_matmul(x, d, transpose_a=true)"},
      {matmul(l.d, transpose(l.w)), "fused_matmul(d, w, transpose_b=true)"},
      {exp(matmul(l.x, l.w)), "exp(x @ w)"},
  };
  Feeds feeds = l.feeds();
  for (const auto& [input, expected] : cases) {
    Expr actual = run_pass(FuseMatmul(), input);
    INFO(to_infix(input) << " became " << to_infix(actual));
    CHECK(to_infix(actual) == expected);
    check_close(evaluate(actual, feeds), evaluate(input, feeds), 1e-6, expected);
  }
}

TEST_CASE("fuse matmul does not duplicate a shared product") {
  Layer l;
  Expr product = matmul(l.x, l.w);
  Expr pre = product + l.b;
  std::vector<Expr> roots = run_pass(FuseMatmul(), {sigmoid(pre), product});
  CHECK(to_infix(roots[0]) == "sigmoid(x @ w + b)");
  roots = run_pass(FuseMatmul(), {sigmoid(pre), pre});
  CHECK(to_infix(roots[0]) == "sigmoid(fused_matmul(x, w, b))");
}

TEST_CASE("fuse matmul leaves integer products alone") {
  Graph g;
  Expr a = g.input("a", DType::Int32, {2, 2});
  Expr e = matmul(transpose(a), a);
  CHECK(run_pass(FuseMatmul(), e).node() == e.node());
}

}  // namespace
}  // namespace damo
