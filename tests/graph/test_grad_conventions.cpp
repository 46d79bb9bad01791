// Exact checks of the gradient conventions at kinks and singular points, as listed in
// docs/gradients.md.
#include <cmath>
#include <limits>

#include "grad_test_util.h"

using namespace damo;
using damo::test::GradFixture;
using damo::test::values_of;

namespace {

Tensor vector_of(const std::vector<double>& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
}

// The gradient of sum(op(x)) at the given points.
std::vector<double> unary_gradient(Expr (*op)(Expr), const std::vector<double>& points) {
  GradFixture f;
  Expr x = f.var("x", vector_of(points));
  return values_of(f.eval(grad(sum(op(x)), x)));
}

}  // namespace

TEST_CASE("abs and relu have derivative 0 at 0") {
  CHECK(unary_gradient(abs, {-2.0, 0.0, 3.0}) == std::vector<double>{-1, 0, 1});
  CHECK(unary_gradient(relu, {-2.0, 0.0, 3.0}) == std::vector<double>{0, 0, 1});
}

TEST_CASE("elu has derivative 1 for large inputs") {
  // exp(x) overflows from 710 in float64; the unused branch must not turn that into NaN.
  CHECK(unary_gradient([](Expr x) { return elu(x); }, {-1.0, 0.0, 1.0, 709.0, 710.0, 1e300}) ==
        std::vector<double>{std::exp(-1.0), 1, 1, 1, 1, 1});
}

TEST_CASE("sqrt has derivative +inf at 0") {
  std::vector<double> g = unary_gradient(sqrt, {0.0, 4.0, -0.0});
  CHECK(g[0] == std::numeric_limits<double>::infinity());
  CHECK(g[1] == 0.25);
  CHECK(g[2] == -std::numeric_limits<double>::infinity());
}

TEST_CASE("maximum and minimum split ties equally") {
  GradFixture f;
  Expr a = f.var("a", vector_of({1.0, 2.0, 3.0}));
  Expr b = f.var("b", vector_of({1.0, 5.0, -1.0}));
  std::vector<Expr> g_max = grad(sum(maximum(a, b)), {a, b});
  CHECK(values_of(f.eval(g_max[0])) == std::vector<double>{0.5, 0, 1});
  CHECK(values_of(f.eval(g_max[1])) == std::vector<double>{0.5, 1, 0});
  std::vector<Expr> g_min = grad(sum(minimum(a, b)), {a, b});
  CHECK(values_of(f.eval(g_min[0])) == std::vector<double>{0.5, 1, 0});
  CHECK(values_of(f.eval(g_min[1])) == std::vector<double>{0.5, 0, 1});
}

TEST_CASE("max and min reductions split ties equally") {
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({{1.0, 3.0, 3.0, 0.0}, {2.0, 2.0, 2.0, 5.0}},
                                        DType::Float64));
  CHECK(values_of(f.eval(grad(sum(max(x, 1)), x))) ==
        std::vector<double>{0, 0.5, 0.5, 0, 0, 0, 0, 1});
  std::vector<double> third(3, 1.0 / 3);
  std::vector<double> g_min = values_of(f.eval(grad(sum(min(x, 1)), x)));
  CHECK(g_min == std::vector<double>{0, 0, 0, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0});
  CHECK(values_of(f.eval(grad(max(x), x))) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 1});
}

TEST_CASE("maximum and minimum pass the gradient to NaN operands") {
  // Where a NaN makes both comparisons false, each operand gets the whole gradient.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  GradFixture f;
  Expr a = f.var("a", vector_of({1.0, 2.0, nan, nan}));
  Expr b = f.var("b", vector_of({1.0, nan, 3.0, nan}));
  for (bool is_max : {true, false}) {
    CAPTURE(is_max);
    std::vector<Expr> g = grad(sum(is_max ? maximum(a, b) : minimum(a, b)), {a, b});
    CHECK(values_of(f.eval(g[0])) == std::vector<double>{0.5, 1, 1, 1});
    CHECK(values_of(f.eval(g[1])) == std::vector<double>{0.5, 1, 1, 1});
  }
}

TEST_CASE("max and min reductions pass a NaN extreme to the NaN elements") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  GradFixture f;
  Expr x = f.var("x", Tensor::from_list({{3.0, 1.0, 3.0, nan, 2.0}, {nan, 0.0, nan, 1.0, 1.0}},
                                        DType::Float64));
  CHECK(values_of(f.eval(grad(sum(max(x, 1)), x))) ==
        std::vector<double>{0, 0, 0, 1, 0, 0.5, 0, 0.5, 0, 0});
  CHECK(values_of(f.eval(grad(sum(min(x, 1)), x))) ==
        std::vector<double>{0, 0, 0, 1, 0, 0.5, 0, 0.5, 0, 0});
  CHECK(values_of(f.eval(grad(max(x), x))) ==
        std::vector<double>{0, 0, 0, 1.0 / 3, 0, 1.0 / 3, 0, 1.0 / 3, 0, 0});
  // Without a NaN the extreme's elements share it as before.
  Expr y = f.var("y", vector_of({3.0, 1.0, 3.0}));
  CHECK(values_of(f.eval(grad(max(y), y))) == std::vector<double>{0.5, 0, 0.5});
}

TEST_CASE("clip passes the gradient at and inside the bounds") {
  GradFixture f;
  Expr x = f.var("x", vector_of({-2.0, -1.0, 0.0, 1.0, 2.0}));
  Expr lo = f.var("lo", Tensor::scalar(DType::Float64, -1.0));
  Expr hi = f.var("hi", Tensor::scalar(DType::Float64, 1.0));
  std::vector<Expr> g = grad(sum(clip(x, lo, hi)), {x, lo, hi});
  CHECK(values_of(f.eval(g[0])) == std::vector<double>{0, 1, 1, 1, 0});
  CHECK(f.eval(g[1]).item() == 1.0);
  CHECK(f.eval(g[2]).item() == 1.0);
}

TEST_CASE("where gives the unselected branch exactly 0") {
  // The upstream gradient 1 / where(...) is +inf at the first element; the branch that
  // where() did not select still gets 0 there, not inf * 0 = NaN.
  GradFixture f;
  Expr x = f.var("x", vector_of({0.0, 2.0, 3.0}));
  Expr y = f.var("y", vector_of({5.0, 0.0, 4.0}));
  Expr condition = f.graph.constant(Tensor::from_list({1, 1, 0}, DType::Bool));
  std::vector<Expr> g = grad(sum(log(where(condition, x, y))), {x, y});
  std::vector<double> dx = values_of(f.eval(g[0]));
  std::vector<double> dy = values_of(f.eval(g[1]));
  CHECK(dx[0] == std::numeric_limits<double>::infinity());
  CHECK(dx[1] == 0.5);
  CHECK(dx[2] == 0.0);
  CHECK(dy == std::vector<double>{0, 0, 0.25});
}

TEST_CASE("where gives a NaN branch exactly 0") {
  GradFixture f;
  Expr x = f.var("x", vector_of({-1.0, 4.0}));
  Expr root = sqrt(x);  // NaN at -1
  Expr cost = sum(where(x > 0.0, root, x * 2.0));
  CHECK(values_of(f.eval(grad(cost, root))) == std::vector<double>{0, 1});

  // sqrt's own rule still gives 0 * NaN = NaN at -1, so the input of the unselected branch
  // is made safe with a second where.
  CHECK(std::isnan(f.eval(grad(cost, x)).get_double(0)));
  Expr safe_root = sqrt(where(x > 0.0, x, literal_like(x, 1.0)));
  Expr safe_cost = sum(where(x > 0.0, safe_root, x * 2.0));
  CHECK(values_of(f.eval(grad(safe_cost, x))) == std::vector<double>{2, 0.25});
}

TEST_CASE("stop_gradient and piecewise constant ops block the gradient") {
  GradFixture f;
  Expr x = f.var("x", vector_of({1.5, -2.0}));
  CHECK(values_of(f.eval(grad(sum(x * stop_gradient(x)), x))) == std::vector<double>{1.5, -2});
  GradOptions zeros{DisconnectedPolicy::Zeros};
  for (Expr (*op)(Expr) : {floor, ceil, round, sign}) {
    Expr cost = sum(op(x) * 3.0);
    CHECK_THROWS_AS(grad(cost, x), UserError);
    CHECK(values_of(f.eval(grad(cost, x, zeros))) == std::vector<double>{0, 0});
  }
  Expr through_int = sum(cast(cast(x, DType::Int64), DType::Float64));
  CHECK(values_of(f.eval(grad(through_int, x, zeros))) == std::vector<double>{0, 0});
}
