// Tests of evaluate()'s feed validation and its messages, of evaluate_node()'s operand
// checks, and of the driver: memoization, deep graphs, shared variables and outputs that
// do not alias the caller's tensors.
#include <doctest/doctest.h>

#include <string>

#include "damo/graph/autodiff.h"
#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;
using damo::test::values_of;

namespace {

// The message of the UserError that fn throws, or "" when it throws none.
template <class Fn>
std::string user_error_of(Fn fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("eval feed errors name the input and shapes") {
  Graph g;
  Expr x = g.input("X", DType::Float32, Shape{"n", 6});
  Expr y = g.input("Y", DType::Float32, Shape{"n"});
  Expr e = sum(x, Axes{1}) + y;
  Tensor good_x = Tensor::zeros(DType::Float32, {440, 6});
  Tensor good_y = Tensor::zeros(DType::Float32, {440});

  std::string wrong_dim = user_error_of([&] {
    evaluate(e, {{"X", Tensor::zeros(DType::Float32, {440, 5})}, {"Y", good_y}});
  });
  CHECK(contains(wrong_dim,
                 "input 'X' expects f32 (n, 6) but the value is f32 (440, 5): axis 1 must be 6"));

  std::string missing = user_error_of([&] { evaluate(e, {{"Y", good_y}}); });
  CHECK(contains(missing, "input 'X'"));
  CHECK(contains(missing, "f32 (n, 6)"));
  CHECK(contains(missing, "has no value"));

  std::string misspelled = user_error_of([&] { evaluate(e, {{"x", good_x}, {"Y", good_y}}); });
  CHECK(contains(misspelled, "input 'X'"));
  CHECK(contains(misspelled, "'x'"));

  std::string dtype = user_error_of([&] {
    evaluate(e, {{"X", Tensor::zeros(DType::Float64, {440, 6})}, {"Y", good_y}});
  });
  CHECK(contains(dtype, "input 'X' expects f32 (n, 6) but the value is f64 (440, 6)"));
  CHECK(contains(dtype, "dtype must be f32"));

  std::string rank = user_error_of([&] {
    evaluate(e, {{"X", Tensor::zeros(DType::Float32, {440})}, {"Y", good_y}});
  });
  CHECK(contains(rank, "input 'X' expects f32 (n, 6) but the value is f32 (440,)"));
  CHECK(contains(rank, "rank must be 2"));

  std::string symbolic = user_error_of([&] {
    evaluate(e, {{"X", good_x}, {"Y", Tensor::zeros(DType::Float32, {3})}});
  });
  CHECK(contains(symbolic, "input 'Y' expects f32 (n,) but the value is f32 (3,)"));
  CHECK(contains(symbolic, "axis 0 must be 440"));
  CHECK(contains(symbolic, "'n'"));
  CHECK(contains(symbolic, "input 'X'"));

  std::string extra = user_error_of([&] {
    evaluate(e, {{"X", good_x}, {"Y", good_y}, {"Z", good_y}, {"W", good_y}});
  });
  CHECK(contains(extra, "feeds 'W', 'Z' do not name an input"));
  CHECK(contains(extra, "'X', 'Y'"));

  std::string undefined = user_error_of([&] { evaluate(e, {{"X", Tensor()}, {"Y", good_y}}); });
  CHECK(contains(undefined, "input 'X'"));
  CHECK(contains(undefined, "undefined tensor"));

  CHECK(evaluate(e, {{"X", good_x}, {"Y", good_y}}).shape() == Dims{440});
}

TEST_CASE("eval symbolic dims bind within one input") {
  Graph g;
  Expr x = g.input("X", DType::Float64, Shape{"n", "n"});
  std::string message = user_error_of([&] {
    evaluate(x * 2.0, {{"X", Tensor::zeros(DType::Float64, {3, 4})}});
  });
  CHECK(contains(message, "axis 1 must be 3"));
  // Size 0 and 1 are valid sizes for a symbol.
  CHECK(evaluate(x * 2.0, {{"X", Tensor::zeros(DType::Float64, {0, 0})}}).shape() == Dims{0, 0});
  CHECK(evaluate(x * 2.0, {{"X", Tensor::full(DType::Float64, {1, 1}, 1)}}).numel() == 1);
}

TEST_CASE("eval accepts a feed for an unreachable input") {
  Graph g;
  Expr x = g.input("X", DType::Float32, Shape{2});
  g.input("unused", DType::Float32, Shape{2});
  Tensor value = Tensor::full(DType::Float32, {2}, 3);
  check_values(evaluate(x + 1.0, {{"X", value}, {"unused", value}}), DType::Float32, {2}, {4, 4});
}

TEST_CASE("eval binds sizes from an unreachable feed") {
  // grad(sum(x), x) is broadcast_to(1, (n,)), which reads no input: n comes from x's feed.
  Graph g;
  Expr x = g.input("x", DType::Float32, Shape{"n"});
  Tensor three = Tensor::full(DType::Float32, {3}, 5);
  check_values(evaluate(grad(sum(x), x), {{"x", three}}), DType::Float32, {3}, {1, 1, 1});
  check_values(evaluate(dim_size(g, "n"), {{"x", three}}), DType::Int64, {}, {3});
  // The feed is checked like any other.
  Expr y = g.input("y", DType::Float32, Shape{"n", 2});
  CHECK_THROWS_AS(evaluate(y * 2.0, {{"y", Tensor::full(DType::Float32, {3, 2}, 1)},
                                     {"x", Tensor::full(DType::Float32, {4}, 1)}}),
                  UserError);
}

TEST_CASE("eval memoizes shared subexpressions") {
  // 60 doublings of a diamond: without memoization this would take 2**60 evaluations.
  Graph g;
  Expr x = g.input("x", DType::Float64, Shape{});
  Expr y = x;
  for (int i = 0; i < 60; ++i) y = y + y;
  CHECK(evaluate(y, {{"x", Tensor::scalar(DType::Float64, 1)}}).item() == std::ldexp(1.0, 60));
}

TEST_CASE("eval handles a graph 100000 nodes deep") {
  Graph g;
  Expr x = g.input("x", DType::Int64, Shape{2});
  Expr y = x;
  for (int i = 0; i < 100000; ++i) y = y + std::int64_t{1};
  Tensor start = Tensor::from_vector(std::vector<std::int64_t>{0, 5}, {2});
  check_values(evaluate(y, {{"x", start}}), DType::Int64, {2}, {100000, 100005});
}

TEST_CASE("eval reads shared variables and evaluates several outputs") {
  Graph g;
  Expr w = g.shared("w", Tensor::from_list({1, 2, 3}, DType::Float32));
  Expr x = g.input("x", DType::Float32, Shape{3});
  Expr product = w * x;
  Feeds feeds = {{"x", Tensor::from_list({2, 2, 2}, DType::Float32)}};
  std::vector<Tensor> results = evaluate({product, sum(product), w}, feeds);
  REQUIRE(results.size() == 3);
  check_values(results[0], DType::Float32, {3}, {2, 4, 6});
  check_values(results[1], DType::Float32, {}, {12});
  check_values(results[2], DType::Float32, {3}, {1, 2, 3});

  g.find_shared("w")->set_value(Tensor::from_list({0, 1, 0}, DType::Float32));
  check_values(evaluate(sum(product), feeds), DType::Float32, {}, {2});
}

TEST_CASE("eval outputs do not alias feeds or constants") {
  Graph g;
  Tensor feed = Tensor::from_list({1, 2}, DType::Float64);
  Expr x = g.input("x", DType::Float64, Shape{2});
  Expr c = g.constant(Tensor::from_list({5, 6}, DType::Float64));
  std::vector<Tensor> results = evaluate({x, c, reshape(c, {1, 2})}, {{"x", feed}});
  results[0].set_double(0, 100);
  results[1].set_double(0, 100);
  results[2].set_double(0, 100);
  CHECK(feed.get_double(0) == 1);
  CHECK(c->value().get_double(0) == 5);
}

TEST_CASE("eval undefined output is a user error") { CHECK_THROWS_AS(evaluate(Expr()), UserError); }

TEST_CASE("eval_node checks operands and resolves symbols") {
  Graph g;
  Expr x = g.input("x", DType::Float32, Shape{"n", 6});
  Expr r = reshape(x, {"n", 2, 3});
  Tensor value = test::random_tensor(DType::Float32, {4, 6}, 81);
  check_values(evaluate_node(*r.node(), {value}), DType::Float32, {4, 2, 3}, values_of(value));

  Expr a = x + g.input("b", DType::Float32, Shape{1, 6});
  std::string count = user_error_of([&] { evaluate_node(*a.node(), {value}); });
  CHECK(contains(count, "add takes 2 operands, got 1"));
  std::string dtype = user_error_of([&] {
    evaluate_node(*a.node(), {value, Tensor::zeros(DType::Float64, {1, 6})});
  });
  CHECK(contains(dtype, "operand 1 of add expects f32 (1, 6) but the value is f64 (1, 6)"));
  std::string input = user_error_of([&] { evaluate_node(*x.node(), {}); });
  CHECK(contains(input, "input 'x'"));

  Expr c = g.constant(Tensor::from_list({7, 8}, DType::Int32));
  check_values(evaluate_node(*c.node(), {}), DType::Int32, {2}, {7, 8});
  // broadcast_to a symbol that no operand has cannot be resolved from the operands alone.
  Expr b = broadcast_to(g.constant(Tensor::from_list({1}, DType::Float32)), Shape{"m"});
  std::string unresolved =
      user_error_of([&] { evaluate_node(*b.node(), {Tensor::from_list({1}, DType::Float32)}); });
  CHECK(contains(unresolved, "'m'"));
}
