// Classification metrics: the confusion matrix and, per segment, precision, recall and F1.
#pragma once

#include <cstdint>
#include <vector>

namespace segment {

struct ClassMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  /// Rows whose true class is this one.
  std::int64_t support = 0;
  /// Rows predicted as this class.
  std::int64_t predicted = 0;
};

struct Metrics {
  /// confusion[t][p]: rows of true class t predicted as class p.
  std::vector<std::vector<std::int64_t>> confusion;
  std::vector<ClassMetrics> per_class;
  double accuracy = 0;
  /// Mean F1 over the classes that occur in the truth or the predictions.
  double macro_f1 = 0;
  std::int64_t count = 0;
};

/// Metrics of predicted against truth, both class indices below class_count. A precision
/// or recall whose denominator is zero counts as 0, and so does the F1 built from it.
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                        int class_count);

/// The most frequent class of classes (the lowest index among ties).
int majority_class(const std::vector<int>& classes, int class_count);

}  // namespace segment
