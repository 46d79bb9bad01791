// k-means: the compiled steps against hand-computed values, clustering of separated blobs
// and the cluster command on a small table.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "demo/test_util.h"
#include "segment/cluster_command.h"
#include "segment/csv_table.h"
#include "segment/kmeans.h"

using namespace segment;
using namespace segment_test;
using damo::Tensor;

TEST_CASE("kmeans assignment step by hand") {
  KMeansSteps steps(2, 2);
  Tensor points = Tensor::from_list({{0, 0}, {1, 0}, {4, 4}, {3, 5}});
  Tensor centres = Tensor::from_list({{0, 1}, {4, 5}, {10, 10}});
  auto [nearest, distances] = steps.assign(points, centres);
  REQUIRE(nearest.numel() == 4);
  CHECK(nearest.get_int64(0) == 0);
  CHECK(nearest.get_int64(1) == 0);
  CHECK(nearest.get_int64(2) == 1);
  CHECK(nearest.get_int64(3) == 1);
  // Squared distances: (0,0)-(0,1) = 1, (1,0)-(0,1) = 2, (4,4)-(4,5) = 1, (3,5)-(4,5) = 1.
  CHECK(distances.get_double(0) == doctest::Approx(1));
  CHECK(distances.get_double(1) == doctest::Approx(2));
  CHECK(distances.get_double(2) == doctest::Approx(1));
  CHECK(distances.get_double(3) == doctest::Approx(1));
}

TEST_CASE("kmeans update step keeps empty clusters") {
  KMeansSteps steps(2, 3);
  Tensor points = Tensor::from_list({{0, 0}, {2, 0}, {4, 4}, {6, 8}});
  Tensor assignment = Tensor::from_vector(std::vector<std::int64_t>{0, 0, 2, 2}, {4});
  Tensor old_centres = Tensor::from_list({{9, 9}, {-7, 3}, {9, 9}});
  Tensor centres = steps.update(points, assignment, old_centres);
  REQUIRE(centres.shape() == damo::Dims{3, 2});
  CHECK(centres.get_double(0) == doctest::Approx(1));
  CHECK(centres.get_double(1) == doctest::Approx(0));
  CHECK(centres.get_double(2) == -7.0);
  CHECK(centres.get_double(3) == 3.0);
  CHECK(centres.get_double(4) == doctest::Approx(5));
  CHECK(centres.get_double(5) == doctest::Approx(6));
}

TEST_CASE("kmeans equal rows give their own mean") {
  // In float32, (5.7f + 5.7f + 5.7f) / 3 is not 5.7f, so a float32 sum would move the mean
  // of three equal rows off the row. The update sums in float64, and the inertia is 0.
  Tensor points = Tensor::from_list({{0.1, 2.3}, {0.1, 2.3}, {0.1, 2.3}, {5.7, 0.3}, {5.7, 0.3}, {5.7, 0.3}});
  KMeansSteps steps(2, 2);
  Tensor assignment = Tensor::from_vector(std::vector<std::int64_t>{0, 0, 0, 1, 1, 1}, {6});
  Tensor centres = steps.update(points, assignment, Tensor::from_list({{0, 0}, {0, 0}}));
  for (std::int64_t i = 0; i < 4; ++i) CHECK(centres.get_double(i) == points.get_double(i < 2 ? i : i + 4));
  KMeansOptions options;
  options.k = 2;
  CHECK(kmeans(points, options).inertia == 0.0);
}

namespace {

// Three blobs of 12, 8 and 5 points around (0, 0), (10, 0) and (0, 10).
Tensor three_blobs(std::vector<int>& truth) {
  std::vector<float> values;
  int sizes[] = {12, 8, 5};
  float centres[][2] = {{0, 0}, {10, 0}, {0, 10}};
  for (int blob = 0; blob < 3; ++blob)
    for (int i = 0; i < sizes[blob]; ++i) {
      values.push_back(centres[blob][0] + 0.1f * static_cast<float>(i % 4) - 0.15f);
      values.push_back(centres[blob][1] + 0.1f * static_cast<float>(i % 3) - 0.1f);
      truth.push_back(blob);
    }
  return Tensor::from_vector(values, {static_cast<std::int64_t>(truth.size()), 2});
}

}  // namespace

TEST_CASE("kmeans recovers separated blobs") {
  std::vector<int> truth;
  Tensor points = three_blobs(truth);
  KMeansOptions options;
  options.k = 3;
  options.restarts = 3;
  KMeansResult result = kmeans(points, options);

  // Segments are ordered by size, so blob i becomes cluster i.
  CHECK(result.assignment == truth);
  CHECK(result.sizes == std::vector<std::int64_t>{12, 8, 5});
  // Blob 1 x offsets 0.1 * (i % 4) - 0.15 over i = 0..7 average to 0.
  CHECK(result.centres.get_double(2) == doctest::Approx(10.0).epsilon(1e-5));

  double inertia = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    for (int j = 0; j < 2; ++j) {
      double d = points.get_double(static_cast<std::int64_t>(i) * 2 + j) -
                 result.centres.get_double(truth[i] * 2 + j);
      inertia += d * d;
    }
  CHECK(result.inertia == doctest::Approx(inertia).epsilon(1e-4));
}

TEST_CASE("kmeans is seeded") {
  std::vector<int> truth;
  Tensor points = three_blobs(truth);
  KMeansOptions options;
  options.k = 4;
  options.restarts = 2;
  KMeansResult a = kmeans(points, options), b = kmeans(points, options);
  CHECK(a.assignment == b.assignment);
  CHECK(a.inertia == b.inertia);
}

namespace {

// 200 points spread evenly over the unit square by a fixed linear congruential sequence, so
// that k-means needs several iterations to settle.
Tensor scattered_points() {
  std::vector<float> values;
  std::uint32_t state = 12345;
  for (int i = 0; i < 400; ++i) {
    state = state * 1664525u + 1013904223u;
    values.push_back(static_cast<float>(state >> 8) / static_cast<float>(1u << 24));
  }
  return Tensor::from_vector(values, {200, 2});
}

// Sum of squared distances from each point to the mean of the points assigned with it.
double inertia_of(const Tensor& points, const std::vector<int>& assignment, int k) {
  std::vector<double> sums(static_cast<std::size_t>(2 * k), 0.0), counts(static_cast<std::size_t>(k), 0.0);
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    auto c = static_cast<std::size_t>(assignment[i]);
    sums[2 * c] += points.get_double(static_cast<std::int64_t>(2 * i));
    sums[2 * c + 1] += points.get_double(static_cast<std::int64_t>(2 * i + 1));
    counts[c] += 1;
  }
  double inertia = 0;
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    auto c = static_cast<std::size_t>(assignment[i]);
    for (std::size_t j = 0; j < 2; ++j) {
      double d = points.get_double(static_cast<std::int64_t>(2 * i + j)) - sums[2 * c + j] / counts[c];
      inertia += d * d;
    }
  }
  return inertia;
}

}  // namespace

TEST_CASE("kmeans inertia is that of the returned assignment") {
  Tensor points = scattered_points();
  KMeansOptions options;
  options.k = 5;
  options.restarts = 1;
  options.max_iterations = 1;
  KMeansResult stopped = kmeans(points, options);
  CHECK_FALSE(stopped.converged);
  CHECK(stopped.iterations == 1);
  CHECK(stopped.inertia == doctest::Approx(inertia_of(points, stopped.assignment, 5)).epsilon(1e-5));

  options.max_iterations = 100;
  KMeansResult settled = kmeans(points, options);
  CHECK(settled.converged);
  CHECK(settled.iterations > 1);
  CHECK(settled.inertia == doctest::Approx(inertia_of(points, settled.assignment, 5)).epsilon(1e-5));
}

TEST_CASE("cluster command notes k-means stopped before converging") {
  std::string dir = temp_dir("cluster_unconverged");
  Tensor points = scattered_points();
  std::string text = "x,y\n";
  for (std::int64_t i = 0; i < 200; ++i)
    text += fmt::format("{},{}\n", points.get_double(2 * i), points.get_double(2 * i + 1));
  write_text(dir + "/square.csv", text);
  ClusterRequest request;
  request.data = dir + "/square.csv";
  request.kmeans.k = 5;
  request.kmeans.restarts = 1;
  request.kmeans.max_iterations = 1;
  ClusterOutcome outcome = cluster_table(request);
  REQUIRE(outcome.notes.size() == 1);
  CHECK(outcome.notes[0] ==
        "k-means stopped at --max-iterations 1 before converging: the centres still moved in "
        "iteration 1, so the segments may change with more iterations; raise --max-iterations, "
        "for example to 100");

  request.kmeans.max_iterations = 100;
  CHECK(cluster_table(request).notes.empty());
}

TEST_CASE("kmeans rejects bad settings") {
  Tensor points = Tensor::from_list({{0, 0}, {1, 1}});
  KMeansOptions options;
  options.k = 3;
  CHECK(contains(error_message([&] { kmeans(points, options); }), "-k 3 is invalid"));
  options.k = 1;
  options.restarts = 0;
  CHECK(contains(error_message([&] { kmeans(points, options); }), "--restarts 0"));
}

TEST_CASE("cluster command labels a small table") {
  std::string dir = temp_dir("cluster_small");
  std::string text = "customer_id,income,score,channel\n";
  for (int i = 0; i < 30; ++i) {
    bool rich = i % 3 == 0;
    text += fmt::format("{},{},{},{}\n", 100 + i, rich ? 90 + i % 4 : 20 + i % 5,
                        rich ? 80 - i % 3 : 30 + i % 4, i % 2 ? "web" : "store");
  }
  write_text(dir + "/customers.csv", text);

  ClusterRequest request;
  request.data = dir + "/customers.csv";
  request.features.features = {"income", "score"};
  request.kmeans.k = 2;
  ClusterOutcome outcome = cluster_table(request);
  CHECK(outcome.result.sizes == std::vector<std::int64_t>{20, 10});
  CHECK(contains(outcome.profile, "segment 2"));
  CHECK(contains(outcome.profile, "income (mean)"));

  Table labelled = parse_csv(outcome.csv, "out.csv");
  REQUIRE(labelled.column_count() == 5);
  CHECK(labelled.columns[4].name == "segment");
  for (std::size_t row = 0; row < labelled.row_count(); ++row) {
    CAPTURE(row);
    CHECK(labelled.columns[4].cells[row] == (row % 3 == 0 ? "2" : "1"));
    CHECK(labelled.columns[0].cells[row] == std::to_string(100 + row));
  }

  write_text(dir + "/labelled.csv", outcome.csv);
  request.data = dir + "/labelled.csv";
  CHECK(contains(error_message([&] { cluster_table(request); }), "already has a column 'segment'"));
}

TEST_CASE("cluster command notes empty segments") {
  // Two distinct customers cannot fill three segments.
  std::string dir = temp_dir("cluster_empty");
  write_text(dir + "/two.csv", "a,b\n1,2\n1,2\n1,2\n1,2\n3,4\n");
  ClusterRequest request;
  request.data = dir + "/two.csv";
  request.kmeans.k = 3;
  ClusterOutcome outcome = cluster_table(request);
  CHECK(outcome.result.sizes == std::vector<std::int64_t>{4, 1, 0});
  REQUIRE_FALSE(outcome.notes.empty());
  CHECK(outcome.notes.back() ==
        "1 of the 3 segments is empty because the rows have only 2 distinct feature vectors; "
        "use -k 2 or less");
}

TEST_CASE("cluster values near the float64 limit") {
  std::string dir = temp_dir("cluster_huge");
  write_text(dir + "/huge.csv",
             "a,b\n1.7e308,1\n1.7e308,2\n1.7e308,3\n1.7e308,4\n-1.7e308,5\n-1.7e308,6\n");
  ClusterRequest request;
  request.data = dir + "/huge.csv";
  request.kmeans.k = 2;
  ClusterOutcome outcome = cluster_table(request);
  CHECK(std::isfinite(outcome.result.inertia));
  CHECK(outcome.result.sizes == std::vector<std::int64_t>{4, 2});
  CHECK(outcome.notes.empty());
  // The profile shows the column means with an exponent.
  CHECK(contains(outcome.profile, "5.667e+307"));
  CHECK(contains(outcome.profile, "-1.7e+308"));
}

TEST_CASE("cluster mall table when present") {
  std::string path = mall_customers_path();
  if (!file_exists(path)) {
    MESSAGE("skipped: " << path << " is not present");
    return;
  }
  ClusterRequest request;
  request.data = path;
  request.features.features = {"Annual Income (k$)", "Spending Score (1-100)"};
  request.kmeans.k = 5;
  ClusterOutcome outcome = cluster_table(request);
  std::int64_t total = 0;
  for (std::int64_t size : outcome.result.sizes) total += size;
  CHECK(total == 200);
  CHECK(outcome.result.sizes.size() == 5);
  // The five income x score groups of this table are well known; the largest is the
  // middle group of about 80 customers.
  CHECK(outcome.result.sizes[0] >= 75);
  CHECK(outcome.result.sizes[0] <= 85);
}
