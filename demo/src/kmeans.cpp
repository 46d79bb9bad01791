// k-means: the compiled assignment and update steps, k-means++ seeding and restarts.
#include "segment/kmeans.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "damo/graph/ops.h"
#include "damo/runtime/error.h"
#include "segment/random.h"
#include "segment/usage_error.h"

namespace segment {

using damo::DType;
using damo::Expr;
using damo::Tensor;

KMeansSteps::KMeansSteps(std::int64_t features, std::int64_t k)
    : graph_(std::make_unique<damo::Graph>()) {
  Expr points = graph_->input("points", DType::Float32, {"n", features});

  // Assignment: squared distances to m centres through one matmul, then argmin and min.
  Expr centres = graph_->input("centres", DType::Float32, {"m", features});
  Expr point_norms = damo::sum(damo::square(points), 1, true);
  Expr centre_norms = damo::sum(damo::square(centres), 1);
  Expr cross = damo::matmul(points, damo::transpose(centres));
  Expr expanded = point_norms - 2.0 * cross + centre_norms;
  // Rounding can make the expansion slightly negative for a point on its centre.
  Expr distances = damo::maximum(expanded, damo::literal_like(expanded, 0.0));
  assign_ = damo::compile({points, centres}, {damo::argmin(distances, 1), damo::min(distances, 1)});

  // Update: per-cluster sums and counts from the one-hot assignment matrix. Sums and means
  // are float64, so a cluster of equal rows gets exactly that row as its mean. The centres
  // are then rounded to float32.
  Expr assignment = graph_->input("assignment", DType::Int64, {"n"});
  Expr old_centres = graph_->input("old_centres", DType::Float32, {k, features});
  Expr membership = damo::one_hot(assignment, k, DType::Float64);
  Expr sums = damo::matmul(damo::transpose(membership), damo::cast(points, DType::Float64));
  Expr counts = damo::expand_dims(damo::sum(membership, 0), 1);
  Expr means = damo::cast(sums / damo::maximum(counts, damo::literal_like(counts, 1.0)), DType::Float32);
  update_ = damo::compile({points, assignment, old_centres},
                          {damo::where(counts > 0.0, means, old_centres)});
}

KMeansSteps::~KMeansSteps() = default;

std::pair<Tensor, Tensor> KMeansSteps::assign(const Tensor& points, const Tensor& centres) const {
  std::vector<Tensor> outputs = assign_({points, centres});
  return {outputs.at(0), outputs.at(1)};
}

Tensor KMeansSteps::update(const Tensor& points, const Tensor& assignment,
                           const Tensor& centres) const {
  return update_({points, assignment, centres}).at(0);
}

double KMeansSteps::compile_ms() const {
  return assign_.stats().total_ms + update_.stats().total_ms;
}

namespace {

Tensor rows_of(const Tensor& points, const std::vector<std::size_t>& indices) {
  std::int64_t width = points.dim(1);
  Tensor rows(DType::Float32, {static_cast<std::int64_t>(indices.size()), width});
  for (std::size_t i = 0; i < indices.size(); ++i)
    std::memcpy(rows.data<float>() + static_cast<std::int64_t>(i) * width,
                points.data<float>() + static_cast<std::int64_t>(indices[i]) * width,
                static_cast<std::size_t>(width) * sizeof(float));
  return rows;
}

// k-means++: each next centre is a point drawn with probability proportional to its
// squared distance from the nearest centre chosen so far. Those distances are kept and
// lowered with each new centre, so seeding takes k passes over the points, not k^2 / 2.
Tensor seed_centres(const KMeansSteps& steps, const Tensor& points, int k, Rng& rng) {
  auto n = static_cast<std::uint64_t>(points.dim(0));
  std::vector<std::size_t> chosen;
  std::vector<float> nearest(n, std::numeric_limits<float>::infinity());
  auto add_centre = [&](std::size_t index) {
    chosen.push_back(index);
    Tensor distances = steps.assign(points, rows_of(points, {index})).second;
    const float* d = distances.data<float>();
    for (std::size_t i = 0; i < n; ++i) nearest[i] = std::min(nearest[i], d[i]);
  };
  add_centre(static_cast<std::size_t>(rng.below(n)));
  while (chosen.size() < static_cast<std::size_t>(k)) {
    double sum = 0;
    for (float d : nearest) sum += d;
    if (sum <= 0) {
      // Every point coincides with a centre, so any point will do.
      add_centre(static_cast<std::size_t>(rng.below(n)));
      continue;
    }
    double target = rng.uniform() * sum;
    std::size_t pick = 0;
    for (double running = 0; pick + 1 < n; ++pick) {
      running += nearest[pick];
      if (running > target) break;
    }
    add_centre(pick);
  }
  return rows_of(points, chosen);
}

double largest_shift(const Tensor& before, const Tensor& after) {
  std::int64_t k = before.dim(0), width = before.dim(1);
  double largest = 0;
  for (std::int64_t c = 0; c < k; ++c) {
    double shift = 0;
    for (std::int64_t j = 0; j < width; ++j) {
      double d = after.get_double(c * width + j) - before.get_double(c * width + j);
      shift += d * d;
    }
    largest = std::max(largest, shift);
  }
  return largest;
}

struct Run {
  Tensor centres;
  Tensor assignment;
  double inertia = 0;
  int iterations = 0;
  bool converged = false;
};

// Sum of squared distances from each point to the centre of its assigned cluster, in float64.
double assigned_inertia(const Tensor& points, const Tensor& assignment, const Tensor& centres) {
  std::int64_t width = points.dim(1);
  const float* point = points.data<float>();
  const float* centre = centres.data<float>();
  double sum = 0;
  for (std::int64_t i = 0; i < points.dim(0); ++i) {
    std::int64_t cluster = assignment.get_int64(i);
    for (std::int64_t j = 0; j < width; ++j) {
      double d = static_cast<double>(point[i * width + j]) - centre[cluster * width + j];
      sum += d * d;
    }
  }
  return sum;
}

Run run_once(const KMeansSteps& steps, const Tensor& points, const KMeansOptions& options,
             Rng& rng) {
  Run run;
  run.centres = seed_centres(steps, points, options.k, rng);
  for (run.iterations = 1; run.iterations <= options.max_iterations; ++run.iterations) {
    Tensor assignment = steps.assign(points, run.centres).first;
    Tensor next = steps.update(points, assignment, run.centres);
    double shift = largest_shift(run.centres, next);
    run.centres = next;
    if (shift <= options.tolerance) {
      run.converged = true;
      break;
    }
  }
  run.iterations = std::min(run.iterations, options.max_iterations);

  // The final assignment is the one written out, so the centres become the means of its
  // clusters and the inertia is measured against them. After convergence this changes
  // nothing. A run stopped by max_iterations may leave points closer to another mean.
  run.assignment = steps.assign(points, run.centres).first;
  run.centres = steps.update(points, run.assignment, run.centres);
  run.inertia = assigned_inertia(points, run.assignment, run.centres);
  return run;
}

// Renumbers clusters by decreasing size (ties by old number) and fills the result.
KMeansResult ordered_result(const Run& run, int k) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(k), 0);
  for (std::int64_t i = 0; i < run.assignment.numel(); ++i)
    ++sizes[static_cast<std::size_t>(run.assignment.get_int64(i))];
  std::vector<std::size_t> order(static_cast<std::size_t>(k));
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
  std::vector<int> new_number(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < order.size(); ++i) new_number[order[i]] = static_cast<int>(i);

  KMeansResult result;
  result.centres = rows_of(run.centres, order);
  for (std::size_t old : order) result.sizes.push_back(sizes[old]);
  for (std::int64_t i = 0; i < run.assignment.numel(); ++i)
    result.assignment.push_back(new_number[static_cast<std::size_t>(run.assignment.get_int64(i))]);
  result.inertia = run.inertia;
  result.iterations = run.iterations;
  result.converged = run.converged;
  return result;
}

}  // namespace

void validate_kmeans_options(const KMeansOptions& options) {
  if (options.k < 1)
    throw UsageError(fmt::format("-k {} is invalid; use 1 or more", options.k));
  if (options.restarts < 1)
    throw UsageError(fmt::format("--restarts {} is invalid; use 1 or more", options.restarts));
  if (options.max_iterations < 1)
    throw UsageError(
        fmt::format("--max-iterations {} is invalid; use 1 or more", options.max_iterations));
}

KMeansResult kmeans(const Tensor& points, const KMeansOptions& options) {
  validate_kmeans_options(options);
  std::int64_t n = points.dim(0);
  if (options.k > n)
    throw UsageError(
        fmt::format("-k {} is invalid; use a cluster count from 1 to the number "
                    "of rows ({})",
                    options.k, n));

  KMeansSteps steps(points.dim(1), options.k);
  Rng rng(options.seed);
  Run best;
  for (int restart = 0; restart < options.restarts; ++restart) {
    Run run = run_once(steps, points, options, rng);
    if (restart == 0 || run.inertia < best.inertia) best = run;
    if (options.on_restart) options.on_restart(restart + 1, options.restarts, best.inertia);
  }
  KMeansResult result = ordered_result(best, options.k);
  result.compile_ms = steps.compile_ms();
  return result;
}

}  // namespace segment
