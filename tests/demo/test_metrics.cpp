// Metrics against hand-computed confusion matrices.
#include <doctest/doctest.h>

#include "segment/metrics.h"

using namespace segment;

TEST_CASE("metrics three classes by hand") {
  std::vector<int> truth{0, 0, 0, 1, 1, 2, 2, 2, 2, 0};
  std::vector<int> predicted{0, 1, 0, 1, 2, 2, 2, 0, 2, 2};
  Metrics m = compute_metrics(truth, predicted, 3);

  CHECK(m.confusion == std::vector<std::vector<std::int64_t>>{{2, 1, 1}, {0, 1, 1}, {1, 0, 3}});
  CHECK(m.count == 10);
  CHECK(m.accuracy == doctest::Approx(0.6));
  // Class 0: 2 hits of 3 predicted and 4 true.
  CHECK(m.per_class[0].precision == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[0].recall == doctest::Approx(0.5));
  CHECK(m.per_class[0].f1 == doctest::Approx(4.0 / 7));
  CHECK(m.per_class[0].support == 4);
  CHECK(m.per_class[0].predicted == 3);
  // Class 1: 1 hit of 2 predicted and 2 true.
  CHECK(m.per_class[1].precision == doctest::Approx(0.5));
  CHECK(m.per_class[1].recall == doctest::Approx(0.5));
  CHECK(m.per_class[1].f1 == doctest::Approx(0.5));
  // Class 2: 3 hits of 5 predicted and 4 true.
  CHECK(m.per_class[2].precision == doctest::Approx(0.6));
  CHECK(m.per_class[2].recall == doctest::Approx(0.75));
  CHECK(m.per_class[2].f1 == doctest::Approx(2.0 / 3));
  CHECK(m.macro_f1 == doctest::Approx((4.0 / 7 + 0.5 + 2.0 / 3) / 3));
}

TEST_CASE("metrics never-predicted class scores zero") {
  // The majority baseline: everything predicted as class 0.
  Metrics m = compute_metrics({0, 0, 0, 1}, {0, 0, 0, 0}, 2);
  CHECK(m.accuracy == doctest::Approx(0.75));
  CHECK(m.per_class[0].precision == doctest::Approx(0.75));
  CHECK(m.per_class[0].recall == 1.0);
  CHECK(m.per_class[0].f1 == doctest::Approx(1.5 / 1.75));
  CHECK(m.per_class[1].precision == 0.0);
  CHECK(m.per_class[1].recall == 0.0);
  CHECK(m.per_class[1].f1 == 0.0);
  CHECK(m.macro_f1 == doctest::Approx(1.5 / 1.75 / 2));
}

TEST_CASE("metrics macro-F1 skips absent classes") {
  Metrics m = compute_metrics({0, 1}, {0, 1}, 3);
  CHECK(m.macro_f1 == 1.0);
  CHECK(m.per_class[2].support == 0);
}

TEST_CASE("majority class prefers lowest index on ties") {
  CHECK(majority_class({1, 1, 0, 2}, 3) == 1);
  CHECK(majority_class({2, 0, 2, 0}, 3) == 0);
}
