// Gradient checks of the layout ops, matmul in its 1-D, 2-D and batched forms, and the
// scatter ops that autodiff introduces.
#include "grad_test_util.h"

using namespace damo;
using damo::test::check_gradient;
using damo::test::check_second_order;
using damo::test::GradFixture;
using damo::test::values_of;

TEST_CASE("transpose reshape and axis gradients") {
  GradFixture f;
  Expr x = f.var("x", {2, 3, 4});
  check_gradient(f, transpose(x, {2, 0, 1}), {x});
  check_gradient(f, reshape(x, {4, -1}), {x});
  check_gradient(f, expand_dims(x, 1), {x});
  Expr y = f.var("y", {3, 1, 4, 1});
  check_gradient(f, squeeze(y), {y});
  check_gradient(f, squeeze(y, Axes(-1)), {y});
  check_second_order(f, sin(transpose(x)) * reshape(x, {4, 3, 2}), {x});
}

TEST_CASE("broadcast_to gradient") {
  GradFixture f;
  Expr x = f.var("x", {3, 1});
  check_second_order(f, square(broadcast_to(x, Shape{2, 3, 4})), {x});
}

TEST_CASE("concatenate gradient") {
  GradFixture f;
  Expr a = f.var("a", {2, 3});
  Expr b = f.var("b", {2, 1});
  Expr c = f.var("c", {2, 2});
  check_second_order(f, square(concatenate({a, b, c}, 1)), {a, b, c});
  check_gradient(f, concatenate({a, a}, 0), {a});
}

TEST_CASE("slice gradient with steps") {
  GradFixture f;
  Expr x = f.var("x", {7, 3});
  check_gradient(f, slice(x, 0, 1, 6, 2), {x});
  check_gradient(f, slice(x, 0, 5, std::nullopt, -2), {x});
  check_gradient(f, slice(x, 0, std::nullopt, std::nullopt, -1), {x});
  check_gradient(f, slice(x, 1, -2, std::nullopt, 1), {x});
  check_second_order(f, square(slice(x, 0, 6, 0, -3)), {x});
}

TEST_CASE("take gradient with repeated indices") {
  GradFixture f;
  Expr x = f.var("x", {4, 3});
  Expr indices = f.indices({0, 2, 2, -1, 3, 0}, {2, 3});
  check_second_order(f, square(take(x, indices, 0)), {x});
  check_gradient(f, take(x, f.indices({2, 2, 1}, {3}), 1), {x});
  Tensor g = f.eval(grad(sum(take(x, f.indices({1, 1, 3}, {3}), 0)), x));
  CHECK(values_of(g) == std::vector<double>{0, 0, 0, 2, 2, 2, 0, 0, 0, 1, 1, 1});
}

TEST_CASE("take_along_axis gradient with broadcasting") {
  GradFixture f;
  Expr x = f.var("x", {3, 4});
  check_second_order(f, square(take_along_axis(x, f.indices({0, 3, 3, 1, 2, 2}, {3, 2}), 1)),
                     {x});
  Expr column = f.var("column", {3, 1});
  check_gradient(f, take_along_axis(column, f.indices({0, 0, 0, 0}, {1, 4}), 0), {column});
  Expr row = f.var("row", {1, 5});
  check_gradient(f, take_along_axis(row, f.indices({4, 0, 0, 1, 2, 1}, {3, 2}), 1), {row});
}

TEST_CASE("matmul gradients in every form") {
  const std::pair<Dims, Dims> shapes[] = {
      {{3}, {3}},          {{2, 3}, {3}},       {{3}, {3, 4}},       {{2, 3}, {3, 4}},
      {{5, 2, 3}, {3, 4}}, {{2, 3}, {5, 3, 4}}, {{1, 2, 3}, {5, 3, 4}}, {{5, 2, 3}, {5, 3, 4}},
      {{3}, {5, 3, 4}},    {{5, 2, 3}, {3}},    {{2, 1, 2, 3}, {5, 3, 1}}};
  for (const auto& [a_dims, b_dims] : shapes) {
    INFO(dims_to_string(a_dims) << " @ " << dims_to_string(b_dims));
    GradFixture f;
    Expr a = f.var("a", a_dims);
    Expr b = f.var("b", b_dims);
    check_second_order(f, matmul(a, b), {a, b});
  }
}

TEST_CASE("matmul gradient of a product with itself") {
  GradFixture f;
  Expr a = f.var("a", {3, 3});
  check_second_order(f, matmul(a, transpose(a)), {a});
}

TEST_CASE("scatter op gradients") {
  GradFixture f;
  Expr src = f.var("src", {2, 3});
  check_second_order(f, square(slice_scatter(src, Shape{5, 3}, 0, 4, 0, -2)), {src});
  check_second_order(f, square(index_add(src, f.indices({1, 1}, {2}), Shape{3, 3}, 0)), {src});
  Expr indices = f.indices({0, 2, 2, 1, 1, 0}, {2, 3});
  check_second_order(f, square(scatter_add_along_axis(src, indices, Shape{2, 4}, 1)), {src});
}

TEST_CASE("one_hot and take indices carry no gradient") {
  GradFixture f;
  Expr x = f.var("x", {3});
  Expr labels = f.graph.input("labels", DType::Int64, Shape{3});
  CHECK_THROWS_AS(grad(sum(take(x, labels)), labels), UserError);
  Expr g = grad(sum(one_hot(labels, 4, DType::Float64) * expand_dims(x, 1)), x);
  f.feeds["labels"] = Tensor::from_vector(std::vector<std::int64_t>{0, 5, 3}, {3});
  CHECK(values_of(f.eval(g)) == std::vector<double>{1, 0, 1});
}
