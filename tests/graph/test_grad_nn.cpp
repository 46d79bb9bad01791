// Gradient checks of softmax, log_softmax, the cross-entropies and the fused ops, and the
// gradient of a small classifier against the hand-derived backpropagation formulas.
#include <cmath>

#include "grad_test_util.h"

using namespace damo;
using damo::test::check_gradient;
using damo::test::check_second_order;
using damo::test::GradFixture;

TEST_CASE("softmax and log_softmax gradients") {
  GradFixture f;
  Expr x = f.var("x", {3, 4}, -2, 2);
  check_second_order(f, softmax(x), {x});
  check_second_order(f, softmax(x, 0), {x});
  check_second_order(f, log_softmax(x), {x});
  check_second_order(f, log_softmax(x, 0), {x});
}

TEST_CASE("cumsum gradients") {
  GradFixture f;
  Expr x = f.var("x", {3, 4, 5}, -2, 2);
  for (int axis : {0, 1, -1})
    for (bool reverse : {false, true}) {
      INFO("axis " << axis << ", reverse " << reverse);
      check_second_order(f, cumsum(x, axis, reverse), {x});
    }
}

TEST_CASE("sort gradients") {
  // Distinct random values, so a small step keeps the order and the derivative exists.
  GradFixture f;
  Expr x = f.var("x", {3, 4, 5}, -2, 2);
  for (int axis : {0, 1, -1})
    for (bool descending : {false, true}) {
      INFO("axis " << axis << ", descending " << descending);
      check_second_order(f, sort(x, axis, descending), {x});
    }
}

TEST_CASE("categorical cross-entropy gradients") {
  GradFixture f;
  Expr p = f.var("p", {3, 4}, 0.1, 0.9);
  Expr t = f.var("t", {3, 4}, 0, 1);
  check_second_order(f, categorical_crossentropy(p, t), {p, t});
  Expr labels = f.indices({2, 0, 3}, {3});
  check_second_order(f, categorical_crossentropy(p, labels), {p});
}

TEST_CASE("binary cross-entropy gradients with broadcasting") {
  GradFixture f;
  Expr p = f.var("p", {3, 4}, 0.1, 0.9);
  Expr t = f.var("t", {4}, 0, 1);
  check_second_order(f, binary_crossentropy(p, t), {p, t});
}

TEST_CASE("binary cross-entropy of a sigmoid differentiates to the logits") {
  // Finite differences in float64 with broadcast targets, through both operands and to
  // second order.
  GradFixture f;
  Expr z = f.var("z", {4}, -3, 3);
  Expr t = f.var("t", {2, 4}, 0, 1);
  check_second_order(f, binary_crossentropy(sigmoid(z), t), {z, t});

  // float32 logits whose sigmoid rounds to 0 or 1: g * (s - t) for z and -g * z for t.
  Graph g;
  Expr logits = g.input("z", DType::Float32, {4});
  Expr targets = g.input("t", DType::Float32, {2, 4});
  Expr wide = g.input("w", DType::Float64, {4});
  Expr loss = sum(binary_crossentropy(sigmoid(logits), targets));
  std::vector<Expr> gradients = grad(loss, {logits, targets});
  Expr wide_loss = sum(binary_crossentropy(sigmoid(logits), wide));
  Feeds feeds = {{"z", Tensor::from_list({20, 50, -100, 1}, DType::Float32)},
                 {"t", Tensor::from_list({{0, 0.5, 1, 0.25}, {1, 1, 0, 0}}, DType::Float32)},
                 {"w", Tensor::from_list({0, 0.5, 1, 0.25}, DType::Float64)}};
  std::vector<double> zs = {20, 50, -100, 1};
  std::vector<std::vector<double>> ts = {{0, 0.5, 1, 0.25}, {1, 1, 0, 0}};
  Tensor dz = evaluate(gradients[0], feeds);
  Tensor dt = evaluate(gradients[1], feeds);
  Tensor dz_wide = evaluate(grad(wide_loss, logits), feeds);
  for (std::size_t j = 0; j < 4; ++j) {
    double s = 1 / (1 + std::exp(-zs[j]));
    auto at = static_cast<std::int64_t>(j);
    CHECK(dz.get_double(at) == doctest::Approx(2 * s - ts[0][j] - ts[1][j]).epsilon(1e-6));
    CHECK(dz_wide.get_double(at) == doctest::Approx(s - ts[0][j]).epsilon(1e-6));
    CHECK(dt.get_double(at) == doctest::Approx(-zs[j]));
    CHECK(dt.get_double(4 + at) == doctest::Approx(-zs[j]));
  }

  // A sigmoid that is itself a variable gets its own gradient.
  Expr p = sigmoid(logits);
  Tensor dp = evaluate(grad(sum(binary_crossentropy(p, targets)), p), feeds);
  double s1 = 1 / (1 + std::exp(-1.0));
  CHECK(dp.get_double(3) == doctest::Approx((s1 - 0.25) / (s1 * (1 - s1)) + s1 / (s1 * (1 - s1))).epsilon(1e-5));
}

TEST_CASE("log of sigmoid or softmax gradients") {
  GradFixture f;
  Expr z = f.var("z", {3, 4}, -3, 3);
  Expr t = f.var("t", {3, 4}, 0, 1);
  Expr labels = f.indices({2, 0, 3}, {3});
  for (Expr e : {log(sigmoid(z)), log(1.0 - sigmoid(z)), log1p(-sigmoid(z)), log(softmax(z)),
                 log(softmax(z, 0)), categorical_crossentropy(softmax(z), t)})
    check_second_order(f, e, {z});
  check_second_order(f, categorical_crossentropy(softmax(z), t), {t});
  check_second_order(f, categorical_crossentropy(softmax(z), labels), {z});

  // float32 logits whose sigmoid or softmax rounds to 0 or 1. Through the chain rule each
  // of these gradients is (1 / 0) * 0 = NaN. The stable forms give sigmoid(-z), -sigmoid(z)
  // and g - softmax(z) * sum(g), computed here in float64.
  Graph g;
  Expr x = g.input("x", DType::Float32, {4});
  Expr rows = g.input("rows", DType::Float32, {2, 3});
  std::vector<double> xs = {-200, -30, 30, 200};
  Feeds feeds = {{"x", Tensor::from_list({-200, -30, 30, 200}, DType::Float32)},
                 {"rows", Tensor::from_list({{-200, 0, 200}, {1, 2, 3}}, DType::Float32)}};
  auto sigmoid64 = [](double v) { return 1 / (1 + std::exp(-v)); };
  Tensor up = evaluate(grad(sum(log(sigmoid(x))), x), feeds);
  Tensor down = evaluate(grad(sum(log(1.0 - sigmoid(x))), x), feeds);
  Tensor down1p = evaluate(grad(sum(log1p(-sigmoid(x))), x), feeds);
  for (std::int64_t i = 0; i < 4; ++i) {
    double v = xs[static_cast<std::size_t>(i)];
    INFO("x = " << v);
    CHECK(up.get_double(i) == doctest::Approx(sigmoid64(-v)).epsilon(1e-6));
    CHECK(down.get_double(i) == doctest::Approx(-sigmoid64(v)).epsilon(1e-6));
    CHECK(down1p.get_double(i) == doctest::Approx(-sigmoid64(v)).epsilon(1e-6));
  }

  // Row 0 of rows has the float32 softmax (0, 0, 1). In the log sum every class weight is 1.
  Tensor weights = Tensor::from_list({{1, 0, 0}, {0, 0, 1}}, DType::Float32);
  Tensor dense = evaluate(grad(sum(categorical_crossentropy(softmax(rows), g.constant(weights))),
                               rows),
                          feeds);
  Tensor logs = evaluate(grad(sum(log(softmax(rows))), rows), feeds);
  std::vector<std::vector<double>> values = {{-200, 0, 200}, {1, 2, 3}};
  for (std::size_t r = 0; r < 2; ++r) {
    double total = 0;
    for (double v : values[r]) total += std::exp(v - values[r][2]);
    for (std::size_t c = 0; c < 3; ++c) {
      double softmax = std::exp(values[r][c] - values[r][2]) / total;
      auto at = static_cast<std::int64_t>(r * 3 + c);
      INFO("row " << r << ", class " << c);
      CHECK(dense.get_double(at) ==
            doctest::Approx(softmax - weights.get_double(at)).epsilon(1e-6).scale(1e-6));
      CHECK(logs.get_double(at) == doctest::Approx(1 - 3 * softmax).epsilon(1e-6).scale(1e-6));
    }
  }

  // The same forms with a float64 cast under the log, and a float64 finite-difference check
  // of each through a float32 cast.
  auto wide = [](Expr e) { return cast(e, DType::Float64); };
  Tensor cast_up = evaluate(grad(sum(log(wide(sigmoid(x)))), x), feeds);
  Tensor cast_down = evaluate(grad(sum(log(1.0 - wide(sigmoid(x)))), x), feeds);
  Tensor cast_down1p = evaluate(grad(sum(log1p(-wide(sigmoid(x)))), x), feeds);
  for (std::int64_t i = 0; i < 4; ++i) {
    double v = xs[static_cast<std::size_t>(i)];
    INFO("x = " << v << " through a cast");
    CHECK(cast_up.get_double(i) == doctest::Approx(sigmoid64(-v)).epsilon(1e-6));
    CHECK(cast_down.get_double(i) == doctest::Approx(-sigmoid64(v)).epsilon(1e-6));
    CHECK(cast_down1p.get_double(i) == doctest::Approx(-sigmoid64(v)).epsilon(1e-6));
  }
  Tensor cast_logs = evaluate(grad(sum(log(wide(softmax(rows)))), rows), feeds);
  CHECK(cast_logs.get_double(0) == doctest::Approx(1.0));
  CHECK(cast_logs.get_double(2) == doctest::Approx(-2.0));
  Expr narrow_z = cast(z, DType::Float32);
  for (Expr e : {log(wide(sigmoid(narrow_z))), log(wide(softmax(narrow_z))), log1p(wide(exp(narrow_z))),
                 log(sum(wide(exp(narrow_z)), Axes(1)))})
    check_gradient(f, e, {z}, GradCheckOptions{1e-3, 1e-3, 1e-3});

  // A sigmoid or softmax that is itself a variable keeps the chain rule and gets its own
  // gradient: 1 / s for the sigmoid, 1 / p for the softmax.
  Expr s = sigmoid(x);
  std::vector<Expr> both = grad(sum(log(s)), {x, s});
  Tensor ds = evaluate(both[1], feeds);
  CHECK(ds.get_double(1) == doctest::Approx(1 / sigmoid64(-30)).epsilon(1e-5));
  CHECK(std::isnan(evaluate(both[0], feeds).get_double(0)));
  Expr p = softmax(rows);
  Tensor dp = evaluate(grad(sum(log(p)), p), feeds);
  CHECK(dp.get_double(5) == doctest::Approx(1 / 0.66524096).epsilon(1e-5));
}

TEST_CASE("exp forms differentiate without overflow") {
  GradFixture f;
  Expr z = f.var("z", {3, 4}, -3, 3);
  Expr v = f.var("v", {5}, -3, 3);
  Expr e = exp(z);
  for (Expr form : {log(exp(z)), log1p(exp(z)), log(1.0 + exp(z)), log(exp(z) + 1.0), log(sum(exp(z), Axes(1))),
                    log(sum(exp(z))), e / sum(e, Axes(1), true), e / expand_dims(sum(e, Axes(0)), 0)})
    check_second_order(f, form, {z});
  check_second_order(f, exp(v) / sum(exp(v)), {v});

  // exp(1000) overflows float32. Through the chain rule these gradients are inf / inf = NaN.
  // Stable, they are sigmoid(x) for softplus and softmax(x) for logsumexp.
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Feeds feeds = {{"x", Tensor::from_list({1000, 0, -5}, DType::Float32)}};
  Tensor weights = Tensor::from_list({1, 2, 3}, DType::Float32);
  Expr w = g.constant(weights);
  Tensor softplus_slope = evaluate(grad(sum(log1p(exp(x))), x), feeds);
  Tensor added_slope = evaluate(grad(sum(log(1.0 + exp(x))), x), feeds);
  Tensor lse_slope = evaluate(grad(log(sum(exp(x))), x), feeds);
  Tensor softmax_slope = evaluate(grad(sum(exp(x) / sum(exp(x)) * w), x), feeds);
  Tensor identity_slope = evaluate(grad(sum(log(exp(x)) * w), x), feeds);
  std::vector<double> sigmoid_values = {1, 0.5, 1 / (1 + std::exp(5.0))};
  for (std::int64_t i = 0; i < 3; ++i) {
    auto at = static_cast<std::size_t>(i);
    INFO("element " << i);
    CHECK(softplus_slope.get_double(i) == doctest::Approx(sigmoid_values[at]).epsilon(1e-6));
    CHECK(added_slope.get_double(i) == doctest::Approx(sigmoid_values[at]).epsilon(1e-6));
    // softmax(x) is (1, 0, 0) in float32, so its gradient for weights w, p * (w - sum(w p)), is 0.
    CHECK(lse_slope.get_double(i) == doctest::Approx(i == 0 ? 1.0 : 0.0));
    CHECK(softmax_slope.get_double(i) == doctest::Approx(0.0));
    CHECK(identity_slope.get_double(i) == weights.get_double(i));
  }

  // A cast on the 1 or on the exp does not hide the form: f64(1) is a cast node until
  // constant folding, and the stable slope is still sigmoid(x).
  Expr cast_one = cast(g.literal(1.0), DType::Float32);
  Tensor cast_one_slope = evaluate(grad(sum(log(cast_one + exp(x))), x), feeds);
  Tensor cast_exp_slope = evaluate(grad(sum(log(1.0 + cast(exp(x), DType::Float64))), x), feeds);
  Tensor minus_slope = evaluate(grad(sum(log(cast_one - sigmoid(x))), x), feeds);
  for (std::int64_t i = 0; i < 3; ++i) {
    auto at = static_cast<std::size_t>(i);
    INFO("element " << i);
    CHECK(cast_one_slope.get_double(i) == doctest::Approx(sigmoid_values[at]).epsilon(1e-6));
    CHECK(cast_exp_slope.get_double(i) == doctest::Approx(sigmoid_values[at]).epsilon(1e-6));
    CHECK(minus_slope.get_double(i) == doctest::Approx(-sigmoid_values[at]).epsilon(1e-6));
  }

  // An exp that is itself a variable keeps the chain rule: d/de log(1 + e) = 1 / (1 + e).
  Expr ex = exp(x);
  Tensor de = evaluate(grad(sum(log1p(ex)), ex), feeds);
  CHECK(de.get_double(1) == doctest::Approx(0.5));
}

TEST_CASE("log of a written-out softmax differentiates stably") {
  GradFixture f;
  Expr z = f.var("z", {3, 4}, -3, 3);
  Expr e = exp(z);
  check_second_order(f, log(e / sum(e, Axes(1), true)), {z});
  check_second_order(f, log(e / expand_dims(sum(e, Axes(0)), 0)), {z});

  // Rows (1000, 0, -1000) and (50, 0, -50) in float32: exp overflows or the smallest
  // probability rounds to 0, so the chain rule gives NaN or -inf. The gradient of
  // sum(log_softmax) over a row of 3 is 1 - 3 softmax, (-2, 1, 1) here.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {2, 3});
    Feeds feeds = {{"x", Tensor::from_list({{1000, 0, -1000}, {50, 0, -50}}, dtype)}};
    Expr ex = exp(x);
    Tensor keepdims_slope = evaluate(grad(sum(log(ex / sum(ex, Axes(1), true))), x), feeds);
    Tensor expanded_slope = evaluate(grad(sum(log(ex / expand_dims(sum(ex, Axes(1)), 1))), x), feeds);
    Tensor labels = Tensor::from_list({2, 2}, DType::Int64);
    Expr t = g.constant(labels);
    Tensor crossentropy_slope = evaluate(grad(sum(categorical_crossentropy(ex / sum(ex, Axes(1), true), t)), x), feeds);
    for (std::int64_t i = 0; i < 6; ++i) {
      INFO(dtype_name(dtype) << " element " << i);
      double expected = i % 3 == 0 ? -2.0 : 1.0;
      CHECK(keepdims_slope.get_double(i) == doctest::Approx(expected));
      CHECK(expanded_slope.get_double(i) == doctest::Approx(expected));
      // For label 2 the cross-entropy gradient is softmax - one_hot: (1, 0, -1) here.
      CHECK(crossentropy_slope.get_double(i) == doctest::Approx(1.0 - static_cast<double>(i % 3)));
    }
  }
}

TEST_CASE("softmax cross-entropy gradients") {
  GradFixture f;
  Expr z = f.var("z", {3, 4}, -2, 2);
  Expr t = f.var("t", {3, 4}, 0, 1);
  check_second_order(f, softmax_crossentropy(z, t), {z, t});
  Expr labels = f.indices({1, 3, 0}, {3});
  check_second_order(f, softmax_crossentropy(z, labels), {z});
}

TEST_CASE("sparse cross-entropy gradients over symbolic classes") {
  // The same losses over a static and a symbolic class axis give the same first and second
  // derivatives. Label 5 is out of range, and its row gets no target class in either.
  Tensor probabilities = Tensor::from_list({{0.1, 0.2, 0.3, 0.4}, {0.4, 0.3, 0.2, 0.1}, {0.25, 0.25, 0.25, 0.25}},
                                           DType::Float64);
  Tensor logits = Tensor::from_list({{1.0, -2.0, 0.5, 3.0}, {0.0, 0.0, 0.0, 0.0}, {-1.0, 2.0, 1.0, 0.5}},
                                    DType::Float64);
  Tensor labels = Tensor::from_list({3, 0, 5}, DType::Int64);
  Tensor weights = Tensor::from_list({{0.5, -1.0, 2.0, 1.5}, {1.0, 0.25, -0.5, 2.0}, {-2.0, 1.0, 0.5, 1.0}},
                                     DType::Float64);

  auto derivatives = [&](const Shape& dims) {
    Graph g;
    Expr p = g.input("p", DType::Float64, dims);
    Expr z = g.input("z", DType::Float64, dims);
    Expr t = g.input("t", DType::Int64, {dims[0]});
    Expr w = g.input("w", DType::Float64, dims);
    Expr dp = grad(sum(categorical_crossentropy(p, t)), p);
    Expr dz = grad(sum(softmax_crossentropy(z, t)), z);
    Expr dzz = grad(sum(dz * w), z);
    return evaluate({dp, dz, dzz}, {{"p", probabilities}, {"z", logits}, {"t", labels}, {"w", weights}});
  };
  std::vector<Tensor> fixed = derivatives(Shape{3, 4});
  std::vector<Tensor> symbolic = derivatives(Shape{"n", "c"});

  // -1 / p at each row's label, and nothing on the row whose label is out of range.
  CHECK(fixed[0].get_double(3) == doctest::Approx(-2.5));
  CHECK(fixed[0].get_double(4) == doctest::Approx(-2.5));
  CHECK(fixed[0].get_double(8) == 0.0);

  for (std::size_t k = 0; k < fixed.size(); ++k) {
    REQUIRE(symbolic[k].shape() == fixed[k].shape());
    for (std::int64_t i = 0; i < fixed[k].numel(); ++i) {
      INFO("derivative " << k << ", element " << i);
      // The fused gradient of a row with an out-of-range label is NaN in both.
      double expected = fixed[k].get_double(i);
      if (std::isnan(expected))
        CHECK(std::isnan(symbolic[k].get_double(i)));
      else
        CHECK(symbolic[k].get_double(i) == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}

TEST_CASE("softmax cross-entropy uses its gradient op") {
  GradFixture f;
  Expr z = f.var("z", {3, 4});
  Expr g = grad(sum(softmax_crossentropy(z, f.indices({1, 3, 0}, {3}))), z);
  CHECK(g->op() == OpKind::SparseSoftmaxCrossEntropyGrad);
}

TEST_CASE("softmax cross-entropy gradient op gradients") {
  GradFixture f;
  Expr z = f.var("z", {3, 4}, -2, 2);
  Expr t = f.var("t", {3, 4}, 0, 1);
  Expr g = f.var("g", {3}, -1, 1);
  check_second_order(f, softmax_crossentropy_grad(z, t, g), {z, t, g});
  Expr labels = f.indices({1, 3, 0}, {3});
  check_second_order(f, softmax_crossentropy_grad(z, labels, g), {z, g});
}

TEST_CASE("fused_matmul gradients") {
  GradFixture f;
  Expr a = f.var("a", {2, 3});
  Expr b = f.var("b", {4, 3});
  Expr bias = f.var("bias", {4});
  check_second_order(f, fused_matmul(a, b, bias, OpKind::Sigmoid, false, true), {a, b, bias});
  Expr at = f.var("at", {5, 3, 2});
  Expr c = f.var("c", {3, 4});
  check_second_order(f, fused_matmul(at, c, Expr(), OpKind::Param, true, false), {at, c});
  Expr v = f.var("v", {3});
  check_second_order(f, fused_matmul(v, c, bias, OpKind::Tanh), {v, c, bias});
}

TEST_CASE("fused_elementwise gradients stay fused") {
  GradFixture f;
  Expr a = f.var("a", {2, 3}, 0.2, 2);
  Expr b = f.var("b", {3});
  Expr p0 = param(f.graph, 0, DType::Float64);
  Expr p1 = param(f.graph, 1, DType::Float64);
  Expr body = p0 * sin(p1) + log(p0) * p1;
  Expr y = fused_elementwise(body, {a, b});
  check_second_order(f, y, {a, b});

  std::vector<Expr> g = grad(sum(y), {a, b});
  CHECK(g[0]->op() == OpKind::FusedElementwise);
  CHECK(g[1]->op() == OpKind::Sum);
  CHECK(g[1]->input(0)->op() == OpKind::FusedElementwise);
}

TEST_CASE("fused_reduction gradients") {
  GradFixture f;
  Expr a = f.var("a", {2, 3}, 0.2, 2);
  Expr b = f.var("b", {3});
  Expr p0 = param(f.graph, 0, DType::Float64);
  Expr p1 = param(f.graph, 1, DType::Float64);
  Expr body = exp(p0 * p1);
  check_second_order(f, fused_reduction(OpKind::Sum, body, {a, b}, Axes(1), false), {a, b});
  check_second_order(f, fused_reduction(OpKind::Prod, body, {a, b}, Axes(0), true), {a, b});
  check_gradient(f, fused_reduction(OpKind::Max, body, {a, b}, Axes(), false), {a, b});
}

namespace {

// Row-major matrix product of an (n, k) and a (k, m) matrix.
std::vector<double> product(const std::vector<double>& a, const std::vector<double>& b, int n,
                            int k, int m) {
  std::vector<double> c(static_cast<std::size_t>(n * m), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      for (int l = 0; l < k; ++l) c[i * m + j] += a[i * k + l] * b[l * m + j];
  return c;
}

std::vector<double> transposed(const std::vector<double>& a, int n, int m) {
  std::vector<double> t(a.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) t[j * n + i] = a[i * m + j];
  return t;
}

void check_close(const Tensor& actual, const std::vector<double>& expected) {
  REQUIRE(actual.numel() == static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(actual.get_double(static_cast<std::int64_t>(i)) ==
          doctest::Approx(expected[i]).epsilon(1e-12));
  }
}

}  // namespace

// X (n, d) -> H = sigmoid(X W1 + b1) -> P = softmax(H W2 + b2) -> mean cross-entropy
// against one-hot Y. The reference is the textbook backward pass written out in loops.
TEST_CASE("classifier gradient matches hand derivation") {
  const int n = 5, d = 4, h = 3, c = 3;
  GradFixture f;
  Expr X = f.var("X", {n, d}, -1, 1);
  Expr W1 = f.var("W1", {d, h}, -1, 1);
  Expr b1 = f.var("b1", {h}, -0.5, 0.5);
  Expr W2 = f.var("W2", {h, c}, -1, 1);
  Expr b2 = f.var("b2", {c}, -0.5, 0.5);
  std::vector<std::int64_t> labels = {0, 2, 1, 1, 0};
  Tensor y_value(DType::Float64, {n, c});
  for (int i = 0; i < n; ++i) y_value.set_double(i * c + labels[i], 1.0);
  Expr Y = f.graph.constant(y_value);

  Expr H = sigmoid(matmul(X, W1) + b1);
  Expr P = softmax(matmul(H, W2) + b2);
  Expr cost = mean(categorical_crossentropy(P, Y));
  std::vector<Expr> g = grad(cost, {W1, b1, W2, b2});
  std::vector<Tensor> values = evaluate({g[0], g[1], g[2], g[3], H, P}, f.feeds);

  std::vector<double> x = test::values_of(f.feeds["X"]);
  std::vector<double> w2 = test::values_of(f.feeds["W2"]);
  std::vector<double> hv = test::values_of(values[4]);
  std::vector<double> pv = test::values_of(values[5]);

  std::vector<double> dz2(n * c);
  for (int i = 0; i < n * c; ++i) dz2[i] = (pv[i] - y_value.get_double(i)) / n;
  std::vector<double> dw2 = product(transposed(hv, n, h), dz2, h, n, c);
  std::vector<double> db2(c, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < c; ++j) db2[j] += dz2[i * c + j];
  std::vector<double> dh = product(dz2, transposed(w2, h, c), n, c, h);
  std::vector<double> dz1(n * h);
  for (int i = 0; i < n * h; ++i) dz1[i] = dh[i] * hv[i] * (1 - hv[i]);
  std::vector<double> dw1 = product(transposed(x, n, d), dz1, d, n, h);
  std::vector<double> db1(h, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < h; ++j) db1[j] += dz1[i * h + j];

  check_close(values[0], dw1);
  check_close(values[1], db1);
  check_close(values[2], dw2);
  check_close(values[3], db2);

  // The same network with the fused cross-entropy on logits, as the optimizer writes it.
  Expr fused_cost = mean(softmax_crossentropy(matmul(H, W2) + b2, Y));
  std::vector<Expr> fused = grad(fused_cost, {W1, b1, W2, b2});
  std::vector<Tensor> fused_values = evaluate(fused, f.feeds);
  check_close(fused_values[0], dw1);
  check_close(fused_values[1], db1);
  check_close(fused_values[2], dw2);
  check_close(fused_values[3], db2);
}
