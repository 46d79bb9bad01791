// The benchmark network written by hand in C++: a hidden sigmoid layer, a softmax output,
// mean categorical cross-entropy and plain gradient descent, with the gradients derived by
// hand. The matrix products go through a Gemm (plain loops or OpenBLAS); everything else is
// plain loops over rows on OpenMP threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/npy_file.h"
#include "reference_gemm.h"

namespace reference {

/// Data and initial weights, as prepare_mlp() wrote them.
struct MlpData {
  bench::NpyArray<float> x;
  bench::NpyArray<std::int32_t> y;
  bench::NpyArray<float> w1, b1, w2, b2;

  explicit MlpData(const std::string& folder)
      : x(bench::read_npy_f32(folder + "/x.npy")),
        y(bench::read_npy_i32(folder + "/y.npy")),
        w1(bench::read_npy_f32(folder + "/w1.npy")),
        b1(bench::read_npy_f32(folder + "/b1.npy")),
        w2(bench::read_npy_f32(folder + "/w2.npy")),
        b2(bench::read_npy_f32(folder + "/b2.npy")) {}

  std::int64_t rows() const { return x.dim(0); }
  std::int64_t features() const { return x.dim(1); }
  std::int64_t hidden() const { return w1.dim(1); }
  std::int64_t classes() const { return w2.dim(1); }
};

/// Weights, gradients and the per-batch buffers of one network.
class Mlp {
 public:
  Mlp(const MlpData& data, std::int64_t max_rows, Gemm gemm)
      : d_(data.features()), h_(data.hidden()), k_(data.classes()), gemm_(gemm) {
    reset(data);
    hidden_.resize(static_cast<std::size_t>(max_rows * h_));
    scores_.resize(static_cast<std::size_t>(max_rows * k_));
    d_hidden_.resize(hidden_.size());
    dw1_.resize(w1_.size());
    db1_.resize(b1_.size());
    dw2_.resize(w2_.size());
    db2_.resize(b2_.size());
  }

  void reset(const MlpData& data) {
    w1_ = data.w1.values;
    b1_ = data.b1.values;
    w2_ = data.w2.values;
    b2_ = data.b2.values;
  }

  /// One gradient-descent step on rows x (rows x d) with classes y; returns the mean loss.
  double train_step(const float* x, const std::int32_t* y, std::int64_t rows, float lr) {
    forward(x, rows, hidden_.data(), scores_.data());
    double loss = softmax_loss_and_gradient(y, rows);
    backward(x, rows);
    update(w1_, dw1_, lr);
    update(b1_, db1_, lr);
    update(w2_, dw2_, lr);
    update(b2_, db2_, lr);
    return loss;
  }

  /// Hidden activations and output scores (before the softmax) of rows x, into the given
  /// buffers; safe to call from several threads with separate buffers.
  void forward(const float* x, std::int64_t rows, float* hidden, float* scores) const {
    gemm_({false, false, rows, h_, d_, x, d_, w1_.data(), h_, hidden, h_});
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < h_; ++j) {
        float z = hidden[r * h_ + j] + b1_[j];
        hidden[r * h_ + j] = 1.0f / (1.0f + std::exp(-z));
      }
    gemm_({false, false, rows, k_, h_, hidden, h_, w2_.data(), k_, scores, k_});
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < k_; ++j) scores[r * k_ + j] += b2_[j];
  }

 private:
  // Turns scores_ into the loss gradient (softmax - one_hot(y)) / rows in place; returns the
  // mean cross-entropy.
  double softmax_loss_and_gradient(const std::int32_t* y, std::int64_t rows) {
    double loss = 0;
    float scale = 1.0f / static_cast<float>(rows);
#pragma omp parallel for schedule(static) reduction(+ : loss)
    for (std::int64_t r = 0; r < rows; ++r) {
      float* s = scores_.data() + r * k_;
      float top = *std::max_element(s, s + k_);
      float total = 0;
      for (std::int64_t j = 0; j < k_; ++j) total += std::exp(s[j] - top);
      loss += std::log(total) - (s[y[r]] - top);
      for (std::int64_t j = 0; j < k_; ++j) s[j] = std::exp(s[j] - top) / total * scale;
      s[y[r]] -= scale;
    }
    return loss / static_cast<double>(rows);
  }

  void backward(const float* x, std::int64_t rows) {
    const float* g = scores_.data();
    gemm_({true, false, h_, k_, rows, hidden_.data(), h_, g, k_, dw2_.data(), k_});
    column_sums(g, rows, k_, db2_);
    gemm_({false, true, rows, h_, k_, g, k_, w2_.data(), k_, d_hidden_.data(), h_});
    // Through the sigmoid: dz = dh * h * (1 - h).
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < h_; ++j) {
        float a = hidden_[r * h_ + j];
        d_hidden_[r * h_ + j] *= a * (1.0f - a);
      }
    gemm_({true, false, d_, h_, rows, x, d_, d_hidden_.data(), h_, dw1_.data(), h_});
    column_sums(d_hidden_.data(), rows, h_, db1_);
  }

  static void column_sums(const float* m, std::int64_t rows, std::int64_t columns,
                          std::vector<float>& sums) {
    std::fill(sums.begin(), sums.end(), 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < columns; ++j) sums[j] += m[r * columns + j];
  }

  static void update(std::vector<float>& w, const std::vector<float>& dw, float lr) {
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * dw[i];
  }

  std::int64_t d_, h_, k_;
  Gemm gemm_;
  std::vector<float> w1_, b1_, w2_, b2_;
  std::vector<float> hidden_, scores_, d_hidden_;
  std::vector<float> dw1_, db1_, dw2_, db2_;
};

}  // namespace reference
