// bench_reference: the hand-written C++ peer of bench/run. It takes the same options as
// damo_bench and prints the same JSON report (see ../common/bench_util.h). Its --variant
// option selects the implementation:
//   loops   plain loops for everything, compiled with -O3 -march=native;
//   blas    the same, with the matrix products done by OpenBLAS sgemm, one thread per call;
//   memcpy  for the chain workload only: a memcpy of the same bytes, the copy bandwidth.
// Threads are OpenMP threads, set by --threads.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "../common/bench_util.h"
#include "reference_mlp.h"

namespace reference {

namespace {

Gemm gemm_for(const bench::Options& options) {
  return options.text("variant") == "blas" ? gemm_blas : gemm_loops;
}

std::vector<double> time_runs(const bench::Options& options, const auto& reset, const auto& body) {
  return bench::time_repeats(options.integer("warmup"), options.integer("repeats"), reset, body);
}

// The sum of absolute values and the sum of squares, in float64, as damo_bench reports them.
void add_sums(const std::vector<float>& values, bench::Report& report) {
  double sum_abs = 0, sum_squares = 0;
  for (float v : values) {
    sum_abs += std::fabs(v);
    sum_squares += static_cast<double>(v) * v;
  }
  report.add_check(sum_abs);
  report.add_check(sum_squares);
}

void run_train(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  std::int64_t batch = std::min(options.integer("batch"), data.rows());
  std::int64_t batches = (data.rows() + batch - 1) / batch;
  auto lr = static_cast<float>(options.number("lr"));
  Mlp mlp(data, batch, gemm_for(options));
  auto step = [&](std::int64_t b) {
    std::int64_t start = b * batch, count = std::min(batch, data.rows() - start);
    return mlp.train_step(data.x.values.data() + start * data.features(),
                          data.y.values.data() + start, count, lr);
  };

  for (std::int64_t s = 0; s < options.integer("check-steps", 11); ++s)
    report.add_check(step(s % batches));
  report.set_times(time_runs(
      options, [&] { mlp.reset(data); },
      [&] {
        for (std::int64_t b = 0; b < batches; ++b) step(b);
      }));
}

// Forward pass and argmax over all rows, in blocks of 1024 rows spread over the threads.
void run_infer(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  const std::int64_t block = 1024;
  std::int64_t rows = data.rows(), blocks = (rows + block - 1) / block;
  std::int64_t h = data.hidden(), k = data.classes();
  Mlp mlp(data, 1, gemm_for(options));
  std::vector<std::int32_t> classes(static_cast<std::size_t>(rows));

  report.set_times(time_runs(
      options, [] {},
      [&] {
#pragma omp parallel
        {
          std::vector<float> hidden(static_cast<std::size_t>(block * h));
          std::vector<float> scores(static_cast<std::size_t>(block * k));
#pragma omp for schedule(static)
          for (std::int64_t b = 0; b < blocks; ++b) {
            std::int64_t start = b * block, count = std::min(block, rows - start);
            mlp.forward(data.x.values.data() + start * data.features(), count, hidden.data(),
                        scores.data());
            for (std::int64_t r = 0; r < count; ++r) {
              const float* s = scores.data() + r * k;
              classes[start + r] = static_cast<std::int32_t>(std::max_element(s, s + k) - s);
            }
          }
        }
      }));

  std::vector<double> counts(static_cast<std::size_t>(k), 0.0);
  for (std::int32_t c : classes) counts[c] += 1;
  for (double count : counts) report.add_check(count);
}

void run_chain(const bench::Options& options, bench::Report& report) {
  std::vector<float> x = bench::read_npy_f32(options.text("data") + "/x.npy").values;
  std::vector<float> y(x.size());
  auto n = static_cast<std::int64_t>(x.size());

  if (options.text("variant") == "memcpy") {
    report.set_times(time_runs(
        options, [] {},
        [&] {
#pragma omp parallel
          {
            std::int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
            std::int64_t begin = n * t / threads, end = n * (t + 1) / threads;
            std::memcpy(y.data() + begin, x.data() + begin,
                        static_cast<std::size_t>(end - begin) * 4);
          }
        }));
    add_sums(y, report);
    return;
  }

  report.set_times(time_runs(
      options, [] {},
      [&] {
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) {
          float v = x[i];
          float u = std::fabs((v * 1.5f + 0.5f) * v - 0.25f) + 1.0f;
          y[i] = std::max(std::min(u, 4.0f), 0.75f);
        }
      }));
  add_sums(y, report);
}

void run_softmax_crossentropy(const bench::Options& options, bench::Report& report) {
  std::string folder = options.text("data");
  bench::NpyArray<float> logits = bench::read_npy_f32(folder + "/logits.npy");
  std::vector<std::int32_t> y = bench::read_npy_i32(folder + "/y.npy").values;
  std::int64_t rows = logits.dim(0), k = logits.dim(1);
  std::vector<float> gradient(logits.values.size());
  double loss = 0;

  report.set_times(time_runs(
      options, [&] { loss = 0; },
      [&] {
        float scale = 1.0f / static_cast<float>(rows);
        double total_loss = 0;
#pragma omp parallel for schedule(static) reduction(+ : total_loss)
        for (std::int64_t r = 0; r < rows; ++r) {
          const float* s = logits.values.data() + r * k;
          float* g = gradient.data() + r * k;
          float top = *std::max_element(s, s + k);
          float total = 0;
          for (std::int64_t j = 0; j < k; ++j) total += std::exp(s[j] - top);
          total_loss += std::log(total) - (s[y[r]] - top);
          for (std::int64_t j = 0; j < k; ++j) g[j] = std::exp(s[j] - top) / total * scale;
          g[y[r]] -= scale;
        }
        loss = total_loss / static_cast<double>(rows);
      }));
  report.add_check(loss);
  add_sums(gradient, report);
}

void run_matmul(const bench::Options& options, bench::Report& report) {
  std::string folder = options.text("data");
  bench::NpyArray<float> a = bench::read_npy_f32(folder + "/a.npy");
  bench::NpyArray<float> b = bench::read_npy_f32(folder + "/b.npy");
  std::int64_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  std::vector<float> c(static_cast<std::size_t>(m * n));
  Gemm gemm = gemm_for(options);
  report.set_times(time_runs(
      options, [] {},
      [&] {
        gemm({false, false, m, n, k, a.values.data(), k, b.values.data(), n, c.data(), n});
      }));
  add_sums(c, report);
}

int run(const bench::Options& options) {
  // OpenBLAS runs each call on the calling thread; the threads are OpenMP's alone.
  openblas_set_num_threads(1);
  omp_set_num_threads(static_cast<int>(options.integer("threads", 1)));
  bench::Report report;
  report.add_info("threads", omp_get_max_threads());
  report.add_info("openblas", openblas_get_config());
  std::string workload = options.text("workload");
  if (workload == "train")
    run_train(options, report);
  else if (workload == "infer")
    run_infer(options, report);
  else if (workload == "chain")
    run_chain(options, report);
  else if (workload == "softmax_crossentropy")
    run_softmax_crossentropy(options, report);
  else if (workload == "matmul")
    run_matmul(options, report);
  else {
    std::fprintf(stderr, "bench_reference: unknown workload '%s'\n", workload.c_str());
    return 2;
  }
  report.print();
  return 0;
}

}  // namespace

}  // namespace reference

int main(int argc, char** argv) {
  try {
    return reference::run(bench::Options(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_reference: %s\n", error.what());
    return 1;
  }
}
