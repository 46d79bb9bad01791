// Softmax cross-entropy fusion: the forward forms users write, the gradient subgraphs that
// the chain rule builds for them, and the stability the fused ops give in float32.
//
// grad() differentiates a cross-entropy or log of a softmax straight to the logits. The
// gradient tests therefore also request the gradient of the softmax itself, which keeps the
// chain rule through the softmax and so builds the subgraphs that the gradient rules fuse.
#include <doctest/doctest.h>

#include "damo/frontend/function.h"
#include "damo/graph/autodiff.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_close;

// The training pipeline without matmul and elementwise fusion, so that the printed result
// stays readable.
std::vector<Expr> fused(const std::vector<Expr>& roots) {
  OptimizeOptions options = testing::test_options(PipelineKind::Training);
  options.pipeline_options.disabled_passes = {"fuse_matmul", "fuse_elementwise"};
  return optimize(roots, options).roots;
}

struct Logits {
  Graph g;
  Expr z = g.input("z", DType::Float64, {4, 3});
  Expr t = g.input("t", DType::Float64, {4, 3});
  Expr y = g.input("y", DType::Int64, {4});

  Feeds feeds() const {
    Tensor t_value = testing::random_tensor(DType::Float64, {4, 3}, 2, 0, 1);
    return {{"z", testing::random_tensor(DType::Float64, {4, 3}, 1)},
            {"t", t_value},
            {"y", Tensor::from_list({0, 2, 1, 2}, DType::Int64)}};
  }

  // Every way of writing the mean loss that the pass fuses, with the text it fuses to.
  std::vector<std::pair<Expr, std::string>> losses() const {
    Expr log_p = log(softmax(z));
    return {
        {mean(categorical_crossentropy(softmax(z), t)), "mean(softmax_crossentropy(z, t))"},
        {mean(categorical_crossentropy(softmax(z), y)), "mean(sparse_softmax_crossentropy(z, y))"},
        // mean(-x) is not -mean(x) when the mean is zero (+0 against -0), so the negations stay.
        {-mean(sum(t * log_p, Axes(-1))), "-mean(-softmax_crossentropy(z, t))"},
        {mean(-sum(one_hot(y, 3, DType::Float64) * log_p, Axes(-1))),
         "mean(softmax_crossentropy(z, one_hot(y, 3, f64)))"},
        {-mean(take_along_axis(log_p, expand_dims(y, -1), -1)),
         "-mean(expand_dims(-sparse_softmax_crossentropy(z, clip(where(y < 0, y + 3, y), 0, 2)), "
         "1))"},
    };
  }
};

TEST_CASE("fuse crossentropy forward forms") {
  Logits l;
  Feeds feeds = l.feeds();
  for (const auto& [loss, expected] : l.losses()) {
    Expr actual = fused({loss})[0];
    INFO(to_infix(loss) << " became " << to_infix(actual));
    CHECK(to_infix(actual) == expected);
    check_close(evaluate(actual, feeds), evaluate(loss, feeds), 1e-12, expected);
  }
}

TEST_CASE("fuse crossentropy gradient forms") {
  Logits l;
  Feeds feeds = l.feeds();
  std::vector<std::string> expected = {
      "softmax_crossentropy_grad(z, t, broadcast_to(0.25, [4]))",
      "sparse_softmax_crossentropy_grad(z, y, broadcast_to(0.25, [4]))",
      "softmax_crossentropy_grad(z, t, broadcast_to(0.25, [4]))",
      "softmax_crossentropy_grad(z, one_hot(y, 3, f64), broadcast_to(0.25, [4]))",
      "sparse_softmax_crossentropy_grad(z, clip(where(y < 0, y + 3, y), 0, 2), "
      "broadcast_to(0.25, [4]))",
  };
  auto losses = l.losses();
  for (std::size_t i = 0; i < losses.size(); ++i) {
    Expr gradient = grad(losses[i].first, {l.z, softmax(l.z)})[0];
    Expr actual = fused({gradient})[0];
    INFO(losses[i].second << ": gradient became " << to_infix(actual));
    CHECK(to_infix(actual) == expected[i]);
    check_close(evaluate(actual, feeds), evaluate(gradient, feeds), 1e-12, expected[i]);
  }
}

TEST_CASE("fuse crossentropy keeps the index rule of take_along_axis") {
  // take_along_axis counts -1 as the last class and clamps 5 to it, where the sparse
  // cross-entropy gives NaN, so the fused forms wrap the labels first.
  Logits l;
  Feeds feeds = l.feeds();
  feeds["y"] = Tensor::from_list({-1, 5, 1, -4}, DType::Int64);
  Expr picked = sum(take_along_axis(log_softmax(l.z), expand_dims(l.y, -1), -1));
  for (Expr e : {picked, grad(picked, l.z)}) {
    Expr actual = fused({e})[0];
    INFO(to_infix(e) << " became " << to_infix(actual));
    CHECK((testing::count_op({actual}, OpKind::SparseSoftmaxCrossEntropy) +
           testing::count_op({actual}, OpKind::SparseSoftmaxCrossEntropyGrad)) == 1);
    Tensor expected = evaluate(e, feeds);
    for (std::int64_t i = 0; i < expected.numel(); ++i) REQUIRE(std::isfinite(expected.get_double(i)));
    check_close(evaluate(actual, feeds), expected, 1e-12, to_infix(e));
  }
}

TEST_CASE("fuse crossentropy gradient of a one-row batch") {
  // A mean over a static batch of one row has the factor 1, which simplification removes,
  // and constant targets fold: the upstream gradient is then -t or a constant, not a*t.
  Graph g;
  Expr z = g.input("z", DType::Float64, {1, 3});
  Expr t = g.input("t", DType::Float64, {1, 3});
  Tensor constant_targets = Tensor::from_list({{0.0, 0.5, 0.5}}, DType::Float64);
  std::vector<std::pair<Expr, std::string>> cases = {
      {grad(mean(categorical_crossentropy(softmax(z), t)), {z, softmax(z)})[0],
       "softmax_crossentropy_grad(z, t, broadcast_to(1, [1]))"},
      {grad(sum(categorical_crossentropy(softmax(z), g.constant(constant_targets))),
            {z, softmax(z)})[0],
       "softmax_crossentropy_grad(z, [[-0, -0.5, -0.5]], broadcast_to(-1, [1]))"},
  };
  Feeds moderate = {{"z", Tensor::from_list({{0.5, -1.0, 2.0}}, DType::Float64)},
                    {"t", Tensor::from_list({{0.0, 0.0, 1.0}}, DType::Float64)}};
  for (const auto& [gradient, expected] : cases) {
    Expr actual = fused({gradient})[0];
    INFO(to_infix(gradient) << " became " << to_infix(actual));
    CHECK(to_infix(actual) == expected);
    CHECK(testing::count_op({actual}, OpKind::Div) == 0);
    check_close(evaluate(actual, moderate), evaluate(gradient, moderate), 1e-12, expected);
  }

  // Logits 800 apart: the unfused gradient divides 0 by an underflowed softmax, while the
  // fused one is softmax(z) - t.
  Feeds extreme = {{"z", Tensor::from_list({{800.0, 0.0, -800.0}}, DType::Float64)},
                   {"t", Tensor::from_list({{0.0, 0.0, 1.0}}, DType::Float64)}};
  Tensor unfused = evaluate(cases[0].first, extreme);
  CHECK_FALSE(std::isfinite(unfused.get_double(0)));
  Tensor value = evaluate(fused({cases[0].first})[0], extreme);
  CHECK(value.get_double(0) == 1.0);
  CHECK(value.get_double(1) == 0.0);
  CHECK(value.get_double(2) == -1.0);
}

TEST_CASE("fuse crossentropy leaves other axes and shapes alone") {
  Logits l;
  Expr over_rows = categorical_crossentropy(transpose(softmax(l.z, 0)), transpose(l.t));
  CHECK(testing::count_op(fused({over_rows}), OpKind::SoftmaxCrossEntropy) == 0);
  Expr broadcast_targets = -sum(log_softmax(l.z) * l.g.input("w", DType::Float64, {3}), Axes(-1));
  CHECK(testing::count_op(fused({broadcast_targets}), OpKind::SoftmaxCrossEntropy) == 0);
}

// The float64 reference of softmax cross-entropy and its gradient for one row.
void reference_row(const std::vector<double>& z, int label, double& loss, std::vector<double>& dz,
                   double scale) {
  double max = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (double v : z) sum += std::exp(v - max);
  double lse = max + std::log(sum);
  loss = lse - z[static_cast<std::size_t>(label)];
  dz.clear();
  for (std::size_t j = 0; j < z.size(); ++j)
    dz.push_back(scale * (std::exp(z[j] - lse) - (static_cast<int>(j) == label ? 1.0 : 0.0)));
}

TEST_CASE("fused crossentropy is stable in float32") {
  Graph g;
  Expr z = g.input("z", DType::Float32, {3, 3});
  Expr t = g.input("t", DType::Float32, {3, 3});
  Expr loss = mean(categorical_crossentropy(softmax(z), t));
  Expr gradient = grad(loss, z);
  std::vector<std::vector<double>> rows = {{1000, 0, -1000}, {-1000, 0, 1000}, {0.5, -0.25, 2}};
  std::vector<int> labels = {2, 0, 1};
  Tensor z_value = Tensor::empty(DType::Float32, {3, 3});
  Tensor t_value = Tensor::zeros(DType::Float32, {3, 3});
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) z_value.set_double(i * 3 + j, rows[i][j]);
    t_value.set_double(i * 3 + labels[i], 1.0);
  }
  Feeds feeds = {{"z", z_value}, {"t", t_value}};

  // Unfused, softmax underflows to 0 and the loss takes log(0).
  CHECK_FALSE(std::isfinite(evaluate(loss, feeds).item()));

  double expected_loss = 0;
  Tensor expected_gradient = Tensor::empty(DType::Float64, {3, 3});
  for (int i = 0; i < 3; ++i) {
    double row_loss = 0;
    std::vector<double> dz;
    reference_row(rows[i], labels[i], row_loss, dz, 1.0 / 3);
    expected_loss += row_loss / 3;
    for (int j = 0; j < 3; ++j) expected_gradient.set_double(i * 3 + j, dz[j]);
  }

  std::vector<Expr> optimized =
      optimize({loss, gradient}, testing::test_options(PipelineKind::Training)).roots;
  std::vector<Tensor> values = evaluate(optimized, feeds);
  CHECK(std::isfinite(values[0].item()));
  CHECK(values[0].item() == doctest::Approx(expected_loss).epsilon(1e-6));
  check_close(values[1].cast(DType::Float64), expected_gradient, 1e-6, "reference gradient");

  Function compiled = compile({z, t}, {loss, gradient});
  std::vector<Tensor> jit = compiled({z_value, t_value});
  CHECK(jit[0].item() == doctest::Approx(expected_loss).epsilon(1e-6));
  check_close(jit[1].cast(DType::Float64), expected_gradient, 1e-6, "compiled gradient");
}

}  // namespace
}  // namespace damo
