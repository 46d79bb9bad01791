// Gradient checks of the reductions against finite differences over several axis sets,
// and exact checks of prod at zeros.
#include "grad_test_util.h"

using namespace damo;
using damo::test::check_gradient;
using damo::test::check_second_order;
using damo::test::GradFixture;
using damo::test::values_of;

namespace {

struct AxesCase {
  Axes axes;
  bool keepdims;
  const char* text;
};

const AxesCase kAxesCases[] = {
    {Axes(), false, "all"},         {Axes(), true, "all, keepdims"},
    {Axes(1), false, "(1)"},        {Axes(-1), true, "(-1), keepdims"},
    {Axes{0, 2}, false, "(0, 2)"},  {Axes{0, 2}, true, "(0, 2), keepdims"},
};

const OpKind kDifferentiableReductions[] = {OpKind::Sum, OpKind::Mean,      OpKind::Prod,
                                            OpKind::Max, OpKind::Min, OpKind::LogSumExp};

}  // namespace

TEST_CASE("reduction gradients over axis sets") {
  for (OpKind op : kDifferentiableReductions) {
    for (const AxesCase& c : kAxesCases) {
      INFO(op_name(op) << " over " << c.text);
      GradFixture f;
      Expr x = f.var("x", {2, 3, 4}, -1.5, 1.5, 0.2);
      Expr y = reduce(op, x, c.axes, c.keepdims);
      // max and min are piecewise linear, so only their first derivative is checked.
      if (op == OpKind::Max || op == OpKind::Min) check_gradient(f, y, {x});
      else check_second_order(f, y, {x});
    }
  }
}

TEST_CASE("var and std gradients over axis sets") {
  for (const AxesCase& c : kAxesCases) {
    for (std::int64_t ddof : {0, 1}) {
      INFO("over " << c.text << ", ddof " << ddof);
      GradFixture f;
      Expr x = f.var("x", {2, 3, 4}, -1.5, 1.5);
      check_second_order(f, var(x, c.axes, c.keepdims, ddof), {x});
      check_second_order(f, stddev(x, c.axes, c.keepdims, ddof), {x});
    }
  }
}

TEST_CASE("norm gradients and the zero norm") {
  for (const AxesCase& c : kAxesCases) {
    INFO("over " << c.text);
    GradFixture f;
    Expr x = f.var("x", {2, 3, 4}, -1.5, 1.5);
    check_second_order(f, norm(x, c.axes, c.keepdims), {x});
  }
  // At x = 0 the gradient is 0, not 0 * sqrt'(0) = NaN.
  GradFixture f;
  Expr zero = f.var("z", Tensor::zeros(DType::Float64, {3}));
  for (double v : values_of(f.eval(grad(norm(zero), zero)))) CHECK(v == 0.0);
  // So is the gradient of stddev where every element is equal, as PyTorch's is.
  Expr equal = f.var("e", Tensor::full(DType::Float64, {4}, 2.5));
  for (double v : values_of(f.eval(grad(stddev(equal), equal)))) CHECK(v == 0.0);
}

TEST_CASE("mean gradient over a symbolic axis") {
  GradFixture f;
  Expr x = f.graph.input("x", DType::Float64, Shape{"n", 3});
  f.feeds["x"] = test::random_tensor({5, 3}, 3, -1, 1);
  Expr g = grad(sum(mean(x, 0) * Expr(f.graph.constant(Tensor::from_list({1.0, 2.0, 3.0},
                                                                         DType::Float64)))),
                x);
  // The gradient does not read x, so x is evaluated with it to bind n.
  Tensor value = evaluate({g, x}, f.feeds)[0];
  CHECK(value.get_double(0) == doctest::Approx(1.0 / 5));
  CHECK(value.get_double(4) == doctest::Approx(2.0 / 5));
  CHECK(value.get_double(14) == doctest::Approx(3.0 / 5));
}

TEST_CASE("prod gradient with zeros is exact") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({{2.0, 4.0, 3.0}, {2.0, 0.0, 3.0}, {0.0, 5.0, 0.0}},
                                        DType::Float64));
  Tensor g = f.eval(grad(sum(prod(x, 1)), x));
  CHECK(values_of(g) == std::vector<double>{12, 6, 8, 0, 6, 0, 0, 0, 0});
}

TEST_CASE("prod gradient at a zero matches finite differences") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({{1.5, 0.0, -0.5, 2.0}, {0.7, 1.2, -1.1, 0.9}},
                                        DType::Float64));
  check_gradient(f, prod(x, 1), {x});
}

namespace {

// d^2 prod(x) / dx_j dx_k: the product of every element except j and k, 0 when j = k.
std::vector<double> prod_hessian(const std::vector<double>& x) {
  std::size_t n = x.size();
  std::vector<double> h(n * n, 0.0);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t k = 0; k < n; ++k) {
      if (j == k) continue;
      double p = 1;
      for (std::size_t l = 0; l < n; ++l)
        if (l != j && l != k) p *= x[l];
      h[j * n + k] = p;
    }
  return h;
}

}  // namespace

TEST_CASE("prod hessian with zeros is exact") {
  const std::vector<double> points[] = {
      {2, 4, 3, 5}, {2, 0, 3, 5}, {2, 0, 0, 5}, {0, 0, 0, 5}, {0, 3, 0, 0}};
  for (const std::vector<double>& point : points) {
    Tensor value = Tensor::from_vector(point, {4});
    INFO("point " << value.to_string());
    GradFixture f;
    Expr x = f.var("x", value);
    std::vector<double> actual = values_of(f.eval(hessian(prod(x), x)));
    std::vector<double> expected = prod_hessian(point);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("element " << i);
      CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("logsumexp gradient keeps its digits for large values") {
  // Shifting x by 1e4 leaves the softmax weights unchanged. float32 logsumexp(x) near 1e4
  // is rounded to 0.001, and exp(x - logsumexp(x)) would carry that into every weight.
  Graph g;
  Expr x = g.input("x", DType::Float32, {1, 3});
  Tensor value = Tensor::from_list({{1e4, 1e4, 1e4 - 1}}, DType::Float32);
  double top = 1 / (2 + std::exp(-1.0));
  std::vector<double> expected = {top, top, top * std::exp(-1.0)};
  for (const Axes& axes : {Axes(1), Axes()}) {
    Tensor weights = evaluate(grad(sum(logsumexp(x, axes)), x), {{"x", value}});
    for (std::int64_t i = 0; i < 3; ++i)
      CHECK(weights.get_double(i) == doctest::Approx(expected[static_cast<std::size_t>(i)]).epsilon(1e-6));
  }
}
