#include "damo/runtime/jit_support.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <vector>

#include "damo/runtime/dtype.h"
#include "damo/runtime/nan_guard.h"
#include "damo/runtime/stop.h"
#include "damo/runtime/thread_pool.h"

namespace {

// Damo runs its own thread pool; OpenBLAS's threads on the same cores would compete with it,
// so OpenBLAS is kept to the calling thread and Damo splits large products itself. The
// pthread build of OpenBLAS locks its buffer pool, so calls from several threads are safe.
bool set_blas_thread_variable = false;

// OpenBLAS sizes its thread pool from OPENBLAS_NUM_THREADS in its own initializer. This one
// runs first (priority 101 comes before the default), so that OpenBLAS starts no idle
// threads, which would otherwise spin for about 0.1 s each time they are woken.
__attribute__((constructor(101))) void start_blas_single_threaded() {
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    set_blas_thread_variable = true;
  }
}

void limit_blas_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    openblas_set_num_threads(1);
    // The variable was only for OpenBLAS's initializer; child processes should not see it.
    if (set_blas_thread_variable) unsetenv("OPENBLAS_NUM_THREADS");
  });
}

// Rows per chunk so that each chunk does at least about 2^18 multiply-adds.
std::int64_t gemm_row_grain(std::int64_t n, std::int64_t k) {
  std::int64_t per_row = std::max<std::int64_t>(1, n * k);
  return std::max<std::int64_t>(8, (std::int64_t{1} << 18) / per_row);
}

// Rows per slice of a product that may be stopped: about 2^26 multiply-adds, and at least 64
// rows, so that OpenBLAS's packing of the other operand stays a small share of each slice.
std::int64_t stop_slice_rows(std::int64_t n, std::int64_t k) {
  std::int64_t per_row = std::max<std::int64_t>(1, n * k);
  return std::max<std::int64_t>(64, (std::int64_t{1} << 26) / per_row);
}

// Sorts (value, position) pairs of one line, with the position breaking ties, which gives
// the order of a stable sort. A NaN ranks above every number and equals another NaN.
template <class T>
void sort_line(const T* x, std::int64_t n, std::int64_t stride, bool descending, std::int64_t* out) {
  struct Entry {
    T value;
    std::int64_t position;
  };
  thread_local std::vector<Entry> entries;
  entries.resize(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) entries[static_cast<std::size_t>(k)] = {x[k * stride], k};
  auto below = [](T u, T v) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(u)) return false;
      if (std::isnan(v)) return true;
    }
    return u < v;
  };
  auto first = [&](const Entry& a, const Entry& b) {
    bool ahead = descending ? below(b.value, a.value) : below(a.value, b.value);
    bool behind = descending ? below(a.value, b.value) : below(b.value, a.value);
    return ahead || (!behind && a.position < b.position);
  };
  // A stopped sort leaves out unwritten: the call throws CallStopped after this kernel.
  if (!damo::detail::sort_until_stopped(entries, first)) return;
  for (std::int64_t k = 0; k < n; ++k) out[k * stride] = entries[static_cast<std::size_t>(k)].position;
}

// A kernel loop that reads the stop flag between slices of its iterations.
struct StoppableLoop {
  DamoKernel kernel;
  void* context;
  const std::atomic<bool>* stop;
  std::int64_t slice;
};

void run_stoppable(void* raw, std::int64_t begin, std::int64_t end) {
  const auto* loop = static_cast<const StoppableLoop*>(raw);
  // Runtime functions that the kernel calls, such as a line's sort, read the flag too.
  damo::StopScope scope(loop->stop);
  for (std::int64_t first = begin; first < end; first += loop->slice) {
    if (loop->stop->load(std::memory_order_relaxed)) return;
    loop->kernel(loop->context, first, std::min(end, first + loop->slice));
  }
}

template <class T, class Gemm, class Gemv>
void gemm_rows(int transpose_a, int transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
               const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T* c, std::int64_t ldc,
               Gemm gemm, Gemv gemv) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  limit_blas_threads();
  auto ta = transpose_a ? CblasTrans : CblasNoTrans;
  auto tb = transpose_b ? CblasTrans : CblasNoTrans;
  auto as_int = [](std::int64_t v) { return static_cast<int>(v); };
  // A product with one output column or one output row is a matrix-vector product.
  // OpenBLAS 0.3.21's gemm packs its operands even then, so A @ v of a 4096 x 4096 float64
  // matrix ran at 4 GB/s at one thread. Its gemv streams the matrix once, at about 20 GB/s.
  if (n == 1) {
    // op(B) is a column whose elements lie ldb apart, or 1 apart when B is a stored row.
    std::int64_t incx = transpose_b ? 1 : ldb;
    damo::parallel_for(m, gemm_row_grain(n, k), [&](std::int64_t begin, std::int64_t end) {
      if (transpose_a)
        gemv(CblasRowMajor, CblasTrans, as_int(k), as_int(end - begin), T(1), a + begin, as_int(lda), b,
             as_int(incx), T(0), c + begin * ldc, as_int(ldc));
      else
        gemv(CblasRowMajor, CblasNoTrans, as_int(end - begin), as_int(k), T(1), a + begin * lda, as_int(lda),
             b, as_int(incx), T(0), c + begin * ldc, as_int(ldc));
    });
    return;
  }
  if (m == 1) {
    // op(A) is a row whose elements lie 1 apart, or lda apart when A is a stored column.
    std::int64_t incx = transpose_a ? lda : 1;
    if (transpose_b)
      gemv(CblasRowMajor, CblasNoTrans, as_int(n), as_int(k), T(1), b, as_int(ldb), a, as_int(incx), T(0), c, 1);
    else
      gemv(CblasRowMajor, CblasTrans, as_int(k), as_int(n), T(1), b, as_int(ldb), a, as_int(incx), T(0), c, 1);
    return;
  }
  // With a stop flag, each chunk runs in slices of rows and reads the flag between them.
  const std::atomic<bool>* stop = damo::current_stop_flag();
  std::int64_t slice_rows = stop != nullptr ? stop_slice_rows(n, k) : m;
  damo::parallel_for(m, gemm_row_grain(n, k), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t first = begin; first < end; first += slice_rows) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) return;
      std::int64_t last = std::min(end, first + slice_rows);
      // Row i of op(A) starts at a + i*lda untransposed, or at column i (a + i) transposed.
      const T* a_rows = transpose_a ? a + first : a + first * lda;
      gemm(CblasRowMajor, ta, tb, static_cast<int>(last - first), static_cast<int>(n),
           static_cast<int>(k), T(1), a_rows, static_cast<int>(lda), b, static_cast<int>(ldb),
           T(0), c + first * ldc, static_cast<int>(ldc));
    }
  });
}

}  // namespace

extern "C" {

void damo_rt_parallel_for(std::int64_t total, std::int64_t grain, DamoKernel kernel, void* context) {
  const std::atomic<bool>* stop = damo::current_stop_flag();
  if (stop == nullptr) {
    damo::parallel_for(total, grain, kernel, context);
    return;
  }
  if (stop->load(std::memory_order_relaxed)) return;
  // Slices are whole multiples of 256 iterations, so the vector bodies of a loop (at most 256
  // lanes wide, interleaving included) cover the same elements as in one unsliced run.
  // Results then do not depend on whether a call can be stopped.
  constexpr std::int64_t kSliceMultiple = 256;
  std::int64_t slice = (std::max(grain, kSliceMultiple) + kSliceMultiple - 1) / kSliceMultiple * kSliceMultiple;
  StoppableLoop loop{kernel, context, stop, slice};
  damo::parallel_for(total, grain, run_stoppable, &loop);
}

void damo_rt_gemm_f32(int transpose_a, int transpose_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, const float* a, std::int64_t lda, const float* b,
                      std::int64_t ldb, float* c, std::int64_t ldc) {
  gemm_rows(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc, cblas_sgemm, cblas_sgemv);
}

void damo_rt_gemm_f64(int transpose_a, int transpose_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, const double* a, std::int64_t lda, const double* b,
                      std::int64_t ldb, double* c, std::int64_t ldc) {
  gemm_rows(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc, cblas_dgemm, cblas_dgemv);
}

void damo_rt_argsort(const void* x, std::int32_t dtype, std::int64_t n, std::int64_t stride,
                     std::int32_t descending, std::int64_t* out) {
  damo::visit_dtype(static_cast<damo::DType>(dtype), [&](auto tag) {
    sort_line(static_cast<const decltype(tag)*>(x), n, stride, descending != 0, out);
  });
}

std::int32_t damo_rt_finiteness(const void* data, std::int32_t dtype, std::int64_t count) {
  return static_cast<std::int32_t>(damo::classify_finiteness(data, static_cast<damo::DType>(dtype), count));
}
}

namespace damo {

const JitSupportSymbol* jit_support_symbols(std::size_t& count) {
  limit_blas_threads();
  static const JitSupportSymbol symbols[] = {
      {"damo_rt_parallel_for", reinterpret_cast<void*>(&damo_rt_parallel_for)},
      {"damo_rt_gemm_f32", reinterpret_cast<void*>(&damo_rt_gemm_f32)},
      {"damo_rt_gemm_f64", reinterpret_cast<void*>(&damo_rt_gemm_f64)},
      {"damo_rt_finiteness", reinterpret_cast<void*>(&damo_rt_finiteness)},
      {"damo_rt_argsort", reinterpret_cast<void*>(&damo_rt_argsort)},
  };
  count = std::size(symbols);
  return symbols;
}

}  // namespace damo
