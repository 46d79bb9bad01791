// The benchmark inputs: synthetic data and initial weights drawn from fixed seeds and written
// with damo::save_npy, once, for every implementation to load.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "damo/runtime/npy.h"
#include "damo_bench.h"

namespace damo_bench {

namespace {

using damo::DType;
using damo::Tensor;

// SplitMix64: small, fast and reproducible on every platform, unlike std::normal_distribution.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Standard normal, by the Box-Muller transform.
  double normal() {
    double u = 1.0 - uniform();
    double v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }

 private:
  std::uint64_t state_;
};

std::string output_folder(const bench::Options& options) {
  std::string folder = options.text("out");
  std::filesystem::create_directories(folder);
  return folder;
}

// A float32 tensor of values uniform in [-limit, limit).
Tensor uniform_matrix(Rng& rng, damo::Dims shape, double limit) {
  Tensor t = Tensor::empty(DType::Float32, std::move(shape));
  float* values = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    values[i] = static_cast<float>(limit * (2 * rng.uniform() - 1));
  return t;
}

// A float32 tensor of values normal with mean 0 and the given standard deviation.
Tensor normal_matrix(Rng& rng, damo::Dims shape, double deviation) {
  Tensor t = Tensor::empty(DType::Float32, std::move(shape));
  float* values = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    values[i] = static_cast<float>(deviation * rng.normal());
  return t;
}

}  // namespace

void prepare_mlp(const bench::Options& options) {
  std::string folder = output_folder(options);
  std::int64_t rows = options.integer("rows"), features = options.integer("features");
  std::int64_t hidden = options.integer("hidden"), classes = options.integer("classes");
  Rng rng(static_cast<std::uint64_t>(options.integer("seed")));

  // Gaussian blobs: one centre per class, unit noise around it.
  Tensor centres = uniform_matrix(rng, {classes, features}, 1.5);
  Tensor x = Tensor::empty(DType::Float32, {rows, features});
  Tensor y = Tensor::empty(DType::Int32, {rows});
  float* xs = x.data<float>();
  std::int32_t* ys = y.data<std::int32_t>();
  const float* cs = centres.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    auto label = static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(classes));
    ys[r] = label;
    for (std::int64_t j = 0; j < features; ++j)
      xs[r * features + j] = cs[label * features + j] + static_cast<float>(rng.normal());
  }

  // Glorot-uniform matrices and small nonzero biases, so the bias gradients matter.
  double limit1 = std::sqrt(6.0 / static_cast<double>(features + hidden));
  double limit2 = std::sqrt(6.0 / static_cast<double>(hidden + classes));
  damo::save_npy(folder + "/x.npy", x);
  damo::save_npy(folder + "/y.npy", y);
  damo::save_npy(folder + "/w1.npy", uniform_matrix(rng, {features, hidden}, limit1));
  damo::save_npy(folder + "/b1.npy", uniform_matrix(rng, {hidden}, 0.1));
  damo::save_npy(folder + "/w2.npy", uniform_matrix(rng, {hidden, classes}, limit2));
  damo::save_npy(folder + "/b2.npy", uniform_matrix(rng, {classes}, 0.1));
}

void prepare_chain(const bench::Options& options) {
  std::string folder = output_folder(options);
  Rng rng(static_cast<std::uint64_t>(options.integer("seed")));
  damo::save_npy(folder + "/x.npy", uniform_matrix(rng, {options.integer("size")}, 2.0));
}

void prepare_softmax_crossentropy(const bench::Options& options) {
  std::string folder = output_folder(options);
  std::int64_t rows = options.integer("rows"), classes = options.integer("classes");
  Rng rng(static_cast<std::uint64_t>(options.integer("seed")));
  Tensor logits = Tensor::empty(DType::Float32, {rows, classes});
  float* ls = logits.data<float>();
  for (std::int64_t i = 0; i < logits.numel(); ++i) ls[i] = static_cast<float>(2 * rng.normal());
  Tensor y = Tensor::empty(DType::Int32, {rows});
  std::int32_t* ys = y.data<std::int32_t>();
  for (std::int64_t r = 0; r < rows; ++r)
    ys[r] = static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(classes));
  damo::save_npy(folder + "/logits.npy", logits);
  damo::save_npy(folder + "/y.npy", y);
}

void prepare_matmul(const bench::Options& options) {
  std::string folder = output_folder(options);
  std::int64_t size = options.integer("size");
  Rng rng(static_cast<std::uint64_t>(options.integer("seed")));
  damo::save_npy(folder + "/a.npy", uniform_matrix(rng, {size, size}, 1.0));
  damo::save_npy(folder + "/b.npy", uniform_matrix(rng, {size, size}, 1.0));
}

void prepare_ops(const bench::Options& options) {
  std::string folder = output_folder(options);
  std::int64_t square = options.integer("square"), matrix = options.integer("matrix");
  std::int64_t wide_rows = options.integer("wide_rows");
  std::int64_t wide_columns = options.integer("wide_columns");
  Rng rng(static_cast<std::uint64_t>(options.integer("seed")));
  damo::save_npy(folder + "/square.npy", normal_matrix(rng, {square, square}, 2.0));
  damo::save_npy(folder + "/wide.npy", normal_matrix(rng, {wide_rows, wide_columns}, 1.0));
  damo::save_npy(folder + "/matrix.npy", uniform_matrix(rng, {matrix, matrix}, 1.0));
  damo::save_npy(folder + "/vector.npy", uniform_matrix(rng, {matrix}, 1.0));
}

}  // namespace damo_bench
