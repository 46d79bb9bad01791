// Tests of Graph: interning, leaves (inputs, constants, shared variables), the op table,
// topo_order() and rebuild().
#include <doctest/doctest.h>

#include <cmath>
#include <thread>

#include "damo/graph/ops.h"
#include "damo/graph/traversal.h"
#include "graph/graph_test_util.h"

using namespace damo;
using damo::testing::user_error;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;

}  // namespace

TEST_CASE("interning same op is one node") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  Expr y = g.input("y", F32, {"n", 3});
  CHECK((x + y).node() == (x + y).node());
  CHECK(exp(x).node() == exp(x).node());
  CHECK(sum(x, 1).node() == sum(x, -1).node());
  CHECK(sum(x, 1).node() != sum(x, 1, true).node());
  CHECK(sum(x, 1).node() != sum(x, 0).node());
  CHECK((x + y).node() != (y + x).node());
  CHECK((x + y).node() != (x - y).node());

  std::size_t before = g.node_count();
  Expr again = (x + y) * exp(x);
  Expr repeat = (x + y) * exp(x);
  CHECK(again.node() == repeat.node());
  CHECK(g.node_count() == before + 1);
}

TEST_CASE("interning constants by value and dtype") {
  Graph g;
  Expr a = g.constant(Tensor::from_list({1, 2, 3}));
  Expr b = g.constant(Tensor::from_list({1, 2, 3}));
  CHECK(a.node() == b.node());
  CHECK(a.node() != g.constant(Tensor::from_list({1, 2, 4})).node());
  CHECK(a.node() != g.constant(Tensor::from_list({1, 2, 3}, F64)).node());
  CHECK(a.node() != g.constant(Tensor::from_list({{1, 2, 3}})).node());
  CHECK(g.scalar(2, F32).node() == g.scalar(2, F32).node());
  CHECK(g.scalar(2, F32).node() != g.scalar(2, I32).node());

  // Constants compare bit for bit: +0 and -0 differ, and the same NaN is one node.
  CHECK(g.scalar(0.0, F64).node() != g.scalar(-0.0, F64).node());
  CHECK(g.scalar(NAN, F64).node() == g.scalar(NAN, F64).node());

  // A weak literal is a different node from a typed constant of the same value.
  CHECK(g.literal(2).node() != g.scalar(2, F64).node());
  CHECK(g.literal(2).node() == g.literal(2).node());
  CHECK(g.literal(2, true).node() != g.literal(2).node());
  CHECK(g.literal(2, true)->dtype() == I64);
  CHECK(g.literal(2)->dtype() == F64);
  CHECK(g.literal(2)->weak());
  CHECK_FALSE(g.scalar(2, F64)->weak());
}

TEST_CASE("interning keeps constant values") {
  Graph g;
  Tensor value = Tensor::from_list({1, 2});
  Expr c = g.constant(value);
  value.set_double(0, 9);
  CHECK(c->value().get_double(0) == 1);
  CHECK(c->shape() == Shape{2});
  CHECK(c->dtype() == F32);
  CHECK(c->is_constant());
  CHECK(c->is_leaf());
  CHECK(g.constant(Tensor::full(F32, {2, 2}, 3))->is_constant_value(3));
  CHECK_FALSE(c->is_constant_value(1));
  CHECK_FALSE(g.constant(Tensor::zeros(F32, {0}))->is_constant_value(0));
  CHECK_FALSE(g.input("x", F32, {})->is_constant_value(0));
}

TEST_CASE("node ids follow creation order") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr y = g.input("y", F32, {});
  Expr s = x + y;
  CHECK(x->id() == 0);
  CHECK(y->id() == 1);
  CHECK(s->id() == 2);
  CHECK(g.node_count() == 3);
  CHECK(&s->graph() == &g);
  CHECK(&s.graph() == &g);
}

TEST_CASE("input redeclared") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  CHECK(g.input("x", F32, {"n", 3}).node() == x.node());
  CHECK(g.find_input("x") == x.node());
  CHECK(g.find_input("y") == nullptr);
  CHECK(x->name() == "x");
  CHECK(x->op() == OpKind::Input);
  CHECK(user_error([&] { g.input("x", F64, {"n", 3}); }) ==
        "input 'x' is already declared as f32 (n, 3); it cannot also be f64 (n, 3); choose "
        "another name");
  CHECK(user_error([&] { g.input("x", F32, {"m", 3}); }) ==
        "input 'x' is already declared as f32 (n, 3); it cannot also be f32 (m, 3); choose "
        "another name");
  CHECK(user_error([&] { g.input("x", F32, {3}); }) ==
        "input 'x' is already declared as f32 (n, 3); it cannot also be f32 (3,); choose "
        "another name");
}

TEST_CASE("input and constant errors") {
  Graph g;
  CHECK(user_error([&] { g.input("", F32, {}); }) ==
        "Graph::input: an input needs a non-empty name");
  CHECK(user_error([&] { g.input("x", F32, {2, -1}); }) ==
        "input 'x': dimension -1 in shape (2, -1) is negative");
  CHECK(user_error([&] { g.constant(Tensor()); }) == "Graph::constant: the tensor is undefined");
  CHECK(user_error([&] { g.weak_constant(Tensor()); }) ==
        "Graph::weak_constant: the tensor is undefined");
  CHECK(user_error([] { Dim("2n"); }) ==
        "invalid symbolic dimension name '2n': use letters, digits and underscores, starting "
        "with a letter");
  CHECK(user_error([] { Dim(""); }) ==
        "invalid symbolic dimension name '': use letters, digits and underscores, starting with "
        "a letter");
  CHECK(user_error([] { Dim("n-1"); }) ==
        "invalid symbolic dimension name 'n-1': use letters, digits and underscores, starting "
        "with a letter");
  CHECK(user_error([] { Dim("_n2"); }) == "<no error>");
}

TEST_CASE("shared variables") {
  Graph g;
  Expr w = g.shared("w", Tensor::from_list({1, 2, 3}));
  CHECK(w->op() == OpKind::Shared);
  CHECK(w->name() == "w");
  CHECK(w->shape() == Shape{3});
  CHECK(w->dtype() == F32);
  std::shared_ptr<SharedVariable> variable = g.find_shared("w");
  REQUIRE(variable != nullptr);
  CHECK(variable == w->shared());
  CHECK(g.shared(variable).node() == w.node());
  CHECK(g.find_shared("v") == nullptr);

  CHECK(user_error([&] { g.shared("w", Tensor::zeros(F32, {3})); }) ==
        "a shared variable named 'w' already exists in this graph; choose another name or reuse "
        "the existing variable");
  auto other = std::make_shared<SharedVariable>("w", Tensor::zeros(F32, {3}));
  CHECK(user_error([&] { g.shared(other); }) ==
        "another shared variable named 'w' already exists in this graph");
  // Inputs and shared variables print by name alone, so they cannot share one.
  CHECK(user_error([&] { g.input("w", F32, {3}); }) ==
        "a shared variable named 'w' already exists in this graph; give the input another name");
  g.input("x", F32, {3});
  CHECK(user_error([&] { g.shared("x", Tensor::zeros(F32, {3})); }) ==
        "an input named 'x' already exists in this graph; give the shared variable another name");
  CHECK(user_error([&] { g.shared("", Tensor::zeros(F32, {3})); }) ==
        "Graph::shared: a shared variable needs a non-empty name");
  CHECK(user_error([&] { g.shared(std::shared_ptr<SharedVariable>()); }) ==
        "Graph::shared: the variable is null");
  CHECK(user_error([&] { g.shared("u", Tensor()); }) ==
        "shared variable 'u': the initial value is undefined");
}

TEST_CASE("operands from another graph") {
  Graph g;
  Graph h;
  Expr x = g.input("x", F32, {});
  Expr y = h.input("y", F32, {});
  CHECK(user_error([&] { x + y; }) ==
        "add: operand 2 belongs to another graph; build all operands of an expression in one "
        "Graph");
  CHECK(user_error([&] { exp(Expr()); }) == "exp: operand 1 is undefined");
  CHECK(user_error([&] { x * Expr(); }) == "mul: operand 2 is undefined");
}

TEST_CASE("interning from several threads") {
  Graph g;
  Expr x = g.input("x", F32, {"n"});
  std::vector<const Node*> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] {
      Expr e = x;
      for (int i = 0; i < 200; ++i) e = exp(e) + 1;
      results[t] = e.node();
    });
  for (std::thread& thread : threads) thread.join();
  for (const Node* node : results) CHECK(node == results[0]);
  // x, the weak f64 literal 1, its f32 copy, and an exp and an add per step.
  CHECK(g.node_count() == 3 + 2 * 200);
}

TEST_CASE("op table names and categories") {
  for (int i = 0; i < kOpKindCount; ++i) {
    auto op = static_cast<OpKind>(i);
    CHECK(op_from_name(op_name(op)) == op);
  }
  CHECK(op_name(OpKind::FloorDiv) == "floor_div");
  CHECK(op_category(OpKind::Exp) == OpCategory::Unary);
  CHECK(op_category(OpKind::Where) == OpCategory::Ternary);
  CHECK(op_category(OpKind::ArgMax) == OpCategory::Reduction);
  CHECK(op_from_name("no_such_op") == std::nullopt);
  CHECK(is_elementwise(OpKind::Clip));
  CHECK_FALSE(is_elementwise(OpKind::Sum));
  CHECK(is_commutative(OpKind::Add));
  CHECK(is_commutative(OpKind::Or));
  CHECK_FALSE(is_commutative(OpKind::Sub));
  CHECK_FALSE(is_commutative(OpKind::MatMul));
}

TEST_CASE("topo order puts inputs first") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr y = g.input("y", F32, {});
  Expr s = x * y;
  Expr t = s + exp(s);
  std::vector<const Node*> order = topo_order({t});
  REQUIRE(order.size() == 5);
  auto position = [&](const Expr& e) {
    return std::find(order.begin(), order.end(), e.node()) - order.begin();
  };
  CHECK(position(x) < position(s));
  CHECK(position(y) < position(s));
  CHECK(position(s) < position(exp(s)));
  CHECK(position(exp(s)) < position(t));
  CHECK(order.back() == t.node());
  CHECK(topo_order({t, s}).size() == 5);
  CHECK(topo_order(std::vector<Expr>{Expr()}).empty());

  // Fused bodies are not entered.
  Expr p0 = param(g, 0, F32);
  Expr f = fused_elementwise(exp(p0), {x});
  std::vector<const Node*> fused_order = topo_order({f});
  CHECK(fused_order.size() == 2);
}

TEST_CASE("topo order of a deep chain") {
  Graph g;
  Expr x = g.input("x", F32, {});
  Expr e = x;
  for (int i = 0; i < 100000; ++i) e = exp(e);
  std::vector<const Node*> order = topo_order({e});
  REQUIRE(order.size() == 100001);
  CHECK(order.front() == x.node());
  CHECK(order.back() == e.node());
}

TEST_CASE("rebuild returns the same node") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  Expr y = g.input("y", F32, {"n", 3});
  Expr m = g.input("m", F32, {4, 6});
  Expr v = g.input("v", F32, {6});
  Expr i = g.input("i", I64, {2});
  Expr idx = g.input("idx", I64, {"n", 2});
  Expr labels = g.input("labels", I64, {"n"});
  Expr p = g.input("p", DType::Bool, {"n", 3});
  Expr p0 = param(g, 0, F32);
  Expr p1 = param(g, 1, F32);
  using std::nullopt;

  std::vector<Expr> nodes = {
      exp(x),
      cast(x, I32),
      -x,
      x + y,
      x / y,
      pow(x, y),
      maximum(x, y),
      x < y,
      p & p,
      where(p, x, y),
      clip(x, y, x),
      sum(x, 1, true),
      argmax(x),
      logsumexp(x, 0),
      matmul(m, v),
      transpose(m),
      reshape(m, {3, 8}),
      reshape(x, {"n", 1, 3}),
      expand_dims(x, 1),
      squeeze(expand_dims(x, 1), 1),
      broadcast_to(v, {4, 6}),
      concatenate({x, y}, 1),
      slice(m, 1, 1, 5, 2),
      slice(v, 0, nullopt, nullopt, -1),
      slice(v, 0, -10, nullopt, -1),
      slice(v, 0, 4, 1, -2),
      take(m, i, 1),
      take_along_axis(x, idx, 1),
      one_hot(labels, 3, F64),
      softmax(x, 0),
      log_softmax(x),
      categorical_crossentropy(x, y),
      categorical_crossentropy(x, labels),
      binary_crossentropy(x, y),
      slice_scatter(x, {"n", 9}, 1, 2, 8, 2),
      index_add(take(m, i, 1), i, {4, 8}, 1),
      scatter_add_along_axis(take_along_axis(x, idx, 1), idx, {"n", 5}, 1),
      softmax_crossentropy(x, y),
      softmax_crossentropy(x, labels),
      softmax_crossentropy_grad(x, y, sum(x, 1)),
      softmax_crossentropy_grad(x, labels, sum(x, 1)),
      fused_matmul(m, m, v, OpKind::Relu, true),
      fused_matmul(m, m, Expr(), OpKind::Param, false, true),
      fused_elementwise(p0 * p1, {x, y}),
      fused_reduction(OpKind::Max, exp(p0), {x}, 1, true),
      p0,
      x,
  };
  for (const Expr& e : nodes) {
    std::vector<Expr> inputs(e->inputs().begin(), e->inputs().end());
    CHECK_MESSAGE(rebuild(*e.node(), inputs).node() == e.node(), op_name(e->op()));
  }

  // Rebuilding with other inputs re-infers the shape.
  Expr z = g.input("z", F32, {"k", 3});
  Expr rebuilt = rebuild(*exp(x).node(), {z});
  CHECK(rebuilt.node() == exp(z).node());
  CHECK(unary(OpKind::Sqrt, x).node() == sqrt(x).node());
  CHECK(binary(OpKind::Mod, x, y).node() == mod(x, y).node());
}
