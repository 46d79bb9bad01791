// The bottom-up rewriter: fixed points per node, deep graphs, the work budget, use counts
// and fit_like().
#include <doctest/doctest.h>

#include "damo/optimizer/simplify.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

// x * 1 -> x, written by hand to count how often it fires.
RewriteRule drop_mul_one() {
  return {"drop_mul_one", OpKind::Mul, [](const Node& node, const RuleContext&) {
            return node.input(1)->is_constant_value(1.0) ? Expr(node.input(0)) : Expr();
          }};
}

TEST_CASE("rewriter reaches a fixed point at each node") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  // Three different ones, so that each product rebuilds to a new node.
  Expr e = exp(((x * 1.0) * g.scalar(1, DType::Float32)) *
               g.constant(Tensor::full(DType::Float32, {3}, 1)));
  RewriteResult result = Rewriter("test", {drop_mul_one()}).run({e});
  CHECK(to_infix(result.roots[0]) == "exp(x)");
  CHECK(result.rewrites == 3);

  // With equal ones the middle product rebuilds to the inner one, already rewritten.
  RewriteResult shared = Rewriter("test", {drop_mul_one()}).run({exp(((x * 1.0) * 1.0) * 1.0)});
  CHECK(to_infix(shared.roots[0]) == "exp(x)");
  CHECK(shared.rewrites == 1);
  CHECK(result.changed);
  CHECK_FALSE(result.budget_exhausted);

  RewriteResult again = Rewriter("test", {drop_mul_one()}).run(result.roots);
  CHECK_FALSE(again.changed);
  CHECK(again.rewrites == 0);
}

TEST_CASE("rewriter rewrites the replacement it built") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  // neg(neg(x * 1)) -> x * 1 by neg_neg; the rewriter must then see the product again.
  RewriteRule neg_neg{"neg_neg", OpKind::Neg, [](const Node& node, const RuleContext&) {
                        const Node* inner = node.input(0);
                        return inner->op() == OpKind::Neg ? Expr(inner->input(0)) : Expr();
                      }};
  RewriteRule square_of_sum{"square_of_sum", OpKind::Square,
                            [](const Node& node, const RuleContext&) {
                              Expr a(node.input(0));
                              return a->op() == OpKind::Add ? (a * 1.0) * a : Expr();
                            }};
  Expr e = square(x + x);
  RewriteResult result =
      Rewriter("test", {neg_neg, square_of_sum, drop_mul_one()}).run({e, -(-(x * 1.0))});
  CHECK(to_infix(result.roots[0]) == "(x + x) * (x + x)");
  CHECK(to_infix(result.roots[1]) == "x");
}

TEST_CASE("rewriter handles a graph 100,000 nodes deep") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {2});
  Expr e = x * 1.0;
  for (int i = 0; i < 100000; ++i) e = -e;
  RewriteResult result = Rewriter("test", {drop_mul_one()}).run({e});
  CHECK(result.rewrites == 1);
  // The product at the bottom went away, so every negation above it was rebuilt.
  const Node* bottom = result.roots[0].node();
  int depth = 0;
  while (bottom->op() == OpKind::Neg) {
    bottom = bottom->input(0);
    ++depth;
  }
  CHECK(depth == 100000);
  CHECK(bottom == x.node());

  // The simplifier removes the negations in pairs.
  CHECK(testing::run_pass(Simplify(), e).node() == x.node());
}

TEST_CASE("rewriter budget stops rules that undo each other") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr y = g.input("y", DType::Float32, {3});
  RewriteRule swap{"swap", OpKind::Add, [](const Node& node, const RuleContext&) {
                     return Expr(node.input(1)) + Expr(node.input(0));
                   }};
  RewriteLimits limits;
  limits.max_rewrites_per_node = 1000000;
  limits.max_rewrites_per_graph_node = 1;
  RewriteResult result = Rewriter("test", {swap}, limits).run({x + y});
  CHECK(result.budget_exhausted);
  CHECK(result.rewrites == 1000);

  RewriteResult per_node = Rewriter("test", {swap}).run({x + y});
  CHECK_FALSE(per_node.budget_exhausted);
  CHECK(per_node.rewrites == 32);
}

TEST_CASE("rewriter counts uses") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr shared = exp(x);
  Expr once = sin(x);
  std::vector<std::size_t> seen;
  RewriteRule record{"record", OpKind::Add,
                     [&](const Node& node, const RuleContext& context) {
                       seen.push_back(context.use_count(node.input(0)));
                       seen.push_back(context.use_count(node.input(1)));
                       return Expr();
                     },
                     true};
  // shared: two adds use it and it is a root; once: one add; x: exp, sin and an add.
  Rewriter("test", {record}).run({shared + once, shared + x, shared});
  REQUIRE(seen.size() == 4);
  CHECK(seen[0] == 3);
  CHECK(seen[1] == 1);
  CHECK(seen[2] == 3);
  CHECK(seen[3] == 3);
}

TEST_CASE("fit_like adapts shape and weakness") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {2, 3});
  Expr row = g.input("r", DType::Float32, {3});
  Expr sum_node = x + row;
  CHECK(to_infix(fit_like(row, *sum_node.node())) == "broadcast_to(r, [2, 3])");
  CHECK(fit_like(x, *sum_node.node()).node() == x.node());
  CHECK_FALSE(fit_like(cast(x, DType::Float64), *sum_node.node()).defined());
  CHECK_FALSE(fit_like(g.input("w", DType::Float32, {4}), *sum_node.node()).defined());

  Expr weak = g.weak_constant(Tensor::full(DType::Float32, {2}, 1.0)) *
              g.weak_constant(Tensor::scalar(DType::Float32, 2.0));
  REQUIRE(weak->weak());
  REQUIRE(weak.dtype() == DType::Float32);
  Expr typed = g.constant(Tensor::full(DType::Float32, {2}, 2.0));
  Expr fitted = fit_like(typed, *weak.node());
  REQUIRE(fitted.defined());
  CHECK(fitted->weak());
  CHECK(fitted->is_constant_value(2.0));
  CHECK_FALSE(fit_like(exp(typed), *weak.node()).defined());
}

}  // namespace
}  // namespace damo
