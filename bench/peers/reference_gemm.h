// Matrix products for the hand-written C++ reference: plain loops, or OpenBLAS sgemm from
// the serial library. Both run on OpenMP threads (OMP_NUM_THREADS or omp_set_num_threads)
// by splitting the output matrix, so no thread pool runs beside another.
#pragma once

#include <cblas.h>
#include <omp.h>

#include <cstdint>

namespace reference {

/// C = op(A) op(B), where op transposes when asked; C is m x n, the inner size is k, and
/// lda, ldb, ldc are row strides. C's previous contents are overwritten.
struct GemmArgs {
  bool transpose_a = false, transpose_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float* c = nullptr;
  std::int64_t ldc = 0;
};

using Gemm = void (*)(const GemmArgs&);

/// Plain loops: each thread computes a block of C's rows. A product with a transposed A
/// (a weight gradient, x^T g) runs sample by sample, the way it is written by hand:
/// C[i][j] += A[p][i] * B[p][j]. Without -ffast-math, a product with a transposed B is a
/// scalar dot product per element, since the compiler keeps the order of float additions.
inline void gemm_loops(const GemmArgs& g) {
  const float* __restrict a = g.a;
  const float* __restrict b = g.b;
  float* __restrict c = g.c;
#pragma omp parallel
  {
    std::int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    std::int64_t begin = g.m * t / threads, end = g.m * (t + 1) / threads;
    for (std::int64_t i = begin; i < end; ++i)
      for (std::int64_t j = 0; j < g.n; ++j) c[i * g.ldc + j] = 0;

    if (g.transpose_a) {
      for (std::int64_t p = 0; p < g.k; ++p)
        for (std::int64_t i = begin; i < end; ++i) {
          float a_value = a[p * g.lda + i];
          for (std::int64_t j = 0; j < g.n; ++j) c[i * g.ldc + j] += a_value * b[p * g.ldb + j];
        }
    } else if (g.transpose_b) {
      for (std::int64_t i = begin; i < end; ++i)
        for (std::int64_t j = 0; j < g.n; ++j) {
          float sum = 0;
          for (std::int64_t p = 0; p < g.k; ++p) sum += a[i * g.lda + p] * b[j * g.ldb + p];
          c[i * g.ldc + j] = sum;
        }
    } else {
      for (std::int64_t i = begin; i < end; ++i)
        for (std::int64_t p = 0; p < g.k; ++p) {
          float a_value = a[i * g.lda + p];
          for (std::int64_t j = 0; j < g.n; ++j) c[i * g.ldc + j] += a_value * b[p * g.ldb + j];
        }
    }
  }
}

inline void sgemm(const GemmArgs& g) {
  cblas_sgemm(CblasRowMajor, g.transpose_a ? CblasTrans : CblasNoTrans,
              g.transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(g.m),
              static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a, static_cast<int>(g.lda), g.b,
              static_cast<int>(g.ldb), 0.0f, g.c, static_cast<int>(g.ldc));
}

/// Single-threaded OpenBLAS sgemm, one call per thread on a slice of C's rows or columns (whichever
/// dimension is larger). Inside a parallel region it makes one call.
inline void gemm_blas(const GemmArgs& g) {
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1) {
    sgemm(g);
    return;
  }
  bool split_rows = g.m >= g.n;
#pragma omp parallel num_threads(threads)
  {
    std::int64_t t = omp_get_thread_num();
    std::int64_t size = split_rows ? g.m : g.n;
    std::int64_t begin = size * t / threads, end = size * (t + 1) / threads;
    GemmArgs part = g;
    if (split_rows) {
      part.m = end - begin;
      part.a = g.transpose_a ? g.a + begin : g.a + begin * g.lda;
      part.c = g.c + begin * g.ldc;
    } else {
      part.n = end - begin;
      part.b = g.transpose_b ? g.b + begin * g.ldb : g.b + begin;
      part.c = g.c + begin;
    }
    if (end > begin) sgemm(part);
  }
}

}  // namespace reference
