// Helpers shared by the gradient tests: seeded random float64 points, a fixture that
// declares inputs with their feeds, and a doctest check around verify_grad.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "damo/graph/autodiff.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"

namespace damo::test {

/// Uniform values in [low, high]. Values of magnitude below min_magnitude move away from 0
/// by min_magnitude, so that points stay clear of kinks at 0.
inline Tensor random_tensor(const Dims& dims, std::uint64_t seed, double low, double high,
                            double min_magnitude = 0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Tensor t(DType::Float64, dims);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    double v = uniform(rng);
    if (std::fabs(v) < min_magnitude) v = v < 0 ? v - min_magnitude : v + min_magnitude;
    t.set_double(i, v);
  }
  return t;
}

/// A graph with float64 inputs fed at random points.
struct GradFixture {
  Graph graph;
  Feeds feeds;
  std::uint64_t seed = 1;

  Expr var(const std::string& name, const Dims& dims, double low = -1, double high = 1,
           double min_magnitude = 0) {
    feeds[name] = random_tensor(dims, seed++, low, high, min_magnitude);
    return graph.input(name, DType::Float64, Shape::from_dims(dims));
  }

  /// Declares an input fed with the given values.
  Expr var(const std::string& name, const Tensor& value) {
    feeds[name] = value;
    return graph.input(name, value.dtype(), Shape::from_dims(value.shape()));
  }

  Expr indices(const std::vector<std::int64_t>& values, const Dims& dims) {
    return graph.constant(Tensor::from_vector(values, dims));
  }

  Tensor eval(Expr e) const { return evaluate(e, feeds); }
};

inline std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(t.get_double(i));
  return out;
}

/// Checks output's gradients with respect to wrt against finite differences.
inline void check_gradient(const GradFixture& f, Expr output, const std::vector<Expr>& wrt,
                           GradCheckOptions options = {}) {
  GradCheckResult result = verify_grad(output, wrt, f.feeds, options);
  INFO(output.to_string());
  INFO(result.message);
  CHECK(result.passed);
}

/// Checks the first and the second derivatives: the gradients of sum(output * w) for a
/// fixed random w are checked in turn, as outputs of their own.
inline void check_second_order(GradFixture& f, Expr output, const std::vector<Expr>& wrt,
                               GradCheckOptions options = {}) {
  check_gradient(f, output, wrt, options);
  Expr weights = f.graph.constant(random_tensor(output.shape().static_dims(), 99, -1, 1));
  std::vector<Expr> first = grad(sum(output * weights), wrt);
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO("second derivative through variable " << i);
    check_gradient(f, first[i], wrt, options);
  }
}

}  // namespace damo::test
