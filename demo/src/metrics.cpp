// Confusion matrix and the scores derived from it.
#include "segment/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "damo/runtime/error.h"

namespace segment {

namespace {

double ratio(std::int64_t numerator, std::int64_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                        int class_count) {
  DAMO_ASSERT(truth.size() == predicted.size(), "one prediction per true label");
  auto classes = static_cast<std::size_t>(class_count);
  Metrics metrics;
  metrics.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  metrics.count = static_cast<std::int64_t>(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    DAMO_ASSERT(truth[i] >= 0 && truth[i] < class_count, "true class out of range");
    DAMO_ASSERT(predicted[i] >= 0 && predicted[i] < class_count, "predicted class out of range");
    ++metrics.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(predicted[i])];
  }

  std::int64_t correct = 0;
  double f1_sum = 0;
  int present = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    ClassMetrics& m = metrics.per_class.emplace_back();
    std::int64_t hits = metrics.confusion[c][c];
    for (std::size_t other = 0; other < classes; ++other) {
      m.support += metrics.confusion[c][other];
      m.predicted += metrics.confusion[other][c];
    }
    m.precision = ratio(hits, m.predicted);
    m.recall = ratio(hits, m.support);
    double sum = m.precision + m.recall;
    m.f1 = sum == 0 ? 0.0 : 2 * m.precision * m.recall / sum;
    correct += hits;
    if (m.support > 0 || m.predicted > 0) {
      f1_sum += m.f1;
      ++present;
    }
  }
  metrics.accuracy = ratio(correct, metrics.count);
  metrics.macro_f1 = present == 0 ? 0.0 : f1_sum / present;
  return metrics;
}

int majority_class(const std::vector<int>& classes, int class_count) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(class_count), 0);
  for (int c : classes) ++counts.at(static_cast<std::size_t>(c));
  return static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

}  // namespace segment
