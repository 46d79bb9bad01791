// k-means clustering with its two steps as compiled Damo functions.
//
// The assignment step computes all squared distances at once as
// |x|^2 - 2 x.c + |c|^2 (one matmul), then argmin and min per point. The update step
// turns the assignment into a one-hot matrix A (n, k) and computes the new centres as
// (A^T X) / column sums of A, keeping the old centre of a cluster that lost every point.
// Centres start with k-means++ seeding; several seeded restarts keep the lowest inertia.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/graph/graph.h"
#include "damo/runtime/tensor.h"

namespace segment {

struct KMeansOptions {
  int k = 3;
  int restarts = 10;
  int max_iterations = 100;
  /// Stops a run when no centre moves by more than this (squared distance) in a step.
  double tolerance = 1e-8;
  std::uint64_t seed = 42;
  /// Called after each restart with the restarts done, their count and the lowest inertia
  /// so far; may be empty.
  std::function<void(int done, int restarts, double best_inertia)> on_restart;
};

struct KMeansResult {
  /// Cluster of each point, 0-based, ordered by cluster size (cluster 0 is the largest).
  std::vector<int> assignment;
  /// Centres (k, features), float32, in the same order: the means of the assigned points,
  /// or for an empty cluster its last centre.
  damo::Tensor centres;
  /// Cluster sizes in the same order.
  std::vector<std::int64_t> sizes;
  /// Sum of squared distances from each point to the mean of its assigned cluster.
  double inertia = 0;
  /// Iterations of the best run.
  int iterations = 0;
  /// False when the best run stopped at max_iterations while its centres still moved.
  bool converged = false;
  /// Compile time of the two step functions, in milliseconds.
  double compile_ms = 0;
};

/// The compiled steps for one feature width and cluster count.
class KMeansSteps {
 public:
  KMeansSteps(std::int64_t features, std::int64_t k);
  ~KMeansSteps();

  /// Nearest centre (int64) and squared distance to it (float32) for each point of
  /// points (n, features), given centres (m, features) for any m >= 1.
  std::pair<damo::Tensor, damo::Tensor> assign(const damo::Tensor& points,
                                               const damo::Tensor& centres) const;
  /// New centres (k, features) from the assignment; a cluster with no point keeps its
  /// old centre.
  damo::Tensor update(const damo::Tensor& points, const damo::Tensor& assignment,
                      const damo::Tensor& centres) const;

  double compile_ms() const;

 private:
  std::unique_ptr<damo::Graph> graph_;
  damo::Function assign_;
  damo::Function update_;
};

/// Throws UserError when k, the restart count or the iteration count is below 1.
void validate_kmeans_options(const KMeansOptions& options);

/// Clusters points (n, features) float32. Throws UserError unless 1 <= k <= n and the
/// restart and iteration counts are positive.
KMeansResult kmeans(const damo::Tensor& points, const KMeansOptions& options);

}  // namespace segment
