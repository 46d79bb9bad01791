// Dead-node removal: identity ops disappear and the tracked set drops unreachable nodes.
#include <doctest/doctest.h>

#include "damo/optimizer/dead_node_removal.h"
#include "damo/optimizer/simplify.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::run_pass;

TEST_CASE("dead node removal drops stop_gradient") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr y = g.input("y", DType::Float32, {3});
  Expr e = stop_gradient(x) * y;
  CHECK(to_infix(e) == "stop_gradient(x) * y");
  Expr removed = run_pass(DeadNodeRemoval(), e);
  CHECK(to_infix(removed) == "x * y");
  auto [a, b] = testing::special_pairs(DType::Float32);
  Graph g2;
  Feeds feeds = {{"x", a.reshape({48, 3})}, {"y", b.reshape({48, 3})}};
  Expr x2 = g2.input("x", DType::Float32, {48, 3});
  Expr y2 = g2.input("y", DType::Float32, {48, 3});
  Expr e2 = stop_gradient(x2) * y2;
  testing::check_same_values(evaluate(run_pass(DeadNodeRemoval(), e2), feeds), evaluate(e2, feeds),
                             "without stop_gradient");
  CHECK(to_infix(run_pass(DeadNodeRemoval(DeadNodeRemovalOptions{false, {}}), e)) ==
        "stop_gradient(x) * y");
}

TEST_CASE("dead node removal drops identity ops") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {2, 2});
  // Factories never build identity ops, so these are interned directly.
  auto identity = [&](OpKind op, Attrs attrs) {
    NodeSpec spec;
    spec.op = op;
    spec.dtype = x.dtype();
    spec.shape = x.shape();
    spec.inputs = {x.node()};
    spec.attrs = std::move(attrs);
    return Expr(g.intern(std::move(spec)));
  };

  Attrs cast_attrs;
  cast_attrs.dtype = DType::Float32;
  Attrs perm;
  perm.ints = {0, 1};
  Attrs swap;
  swap.ints = {1, 0};
  Attrs reverse;
  reverse.ints = {0, 1, -1, -1};

  CHECK(run_pass(DeadNodeRemoval(), identity(OpKind::Cast, cast_attrs)).node() == x.node());
  CHECK(run_pass(DeadNodeRemoval(), identity(OpKind::Reshape, {})).node() == x.node());
  CHECK(run_pass(DeadNodeRemoval(), identity(OpKind::BroadcastTo, {})).node() == x.node());
  CHECK(run_pass(DeadNodeRemoval(), identity(OpKind::Transpose, perm)).node() == x.node());

  // A transpose of a square matrix keeps the shape but moves elements.
  Expr swapped = identity(OpKind::Transpose, swap);
  CHECK(run_pass(DeadNodeRemoval(), swapped).node() == swapped.node());
  // So does a reversing slice.
  Expr reversed = identity(OpKind::Slice, reverse);
  CHECK(run_pass(DeadNodeRemoval(), reversed).node() == reversed.node());
}

TEST_CASE("dead node removal counts dropped nodes") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr e = exp(-(-(x * 1.0)));
  GraphState state;
  state.roots = {e};
  state.tracked = topo_order(state.roots);
  REQUIRE(state.tracked.size() == 6);
  Simplify().run(state);
  CHECK(state.tracked.size() == 6);
  CHECK_FALSE(DeadNodeRemoval().run(state));
  // exp(x) remains; the constant, the product, both negations and the old exp are dropped.
  CHECK(state.tracked.size() == 2);
  CHECK(state.removed_nodes == 5);
}

}  // namespace
}  // namespace damo
