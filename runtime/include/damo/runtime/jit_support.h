// Functions that JIT-compiled code calls. They have C linkage so that the code generator
// can bind them by name; their addresses are registered with the JIT.
#pragma once

#include <cstdint>

extern "C" {

/// Kernel signature: context holds the buffer and size arrays of the call.
using DamoKernel = void (*)(void* context, std::int64_t begin, std::int64_t end);

/// Runs kernel over [0, total) on the thread pool in chunks of at least grain iterations.
void damo_rt_parallel_for(std::int64_t total, std::int64_t grain, DamoKernel kernel, void* context);

/// C = op(A) @ op(B) for row-major matrices, op transposing when the flag is set. M, N and
/// K are the sizes after op; lda, ldb and ldc are row strides. Splits M across the pool.
void damo_rt_gemm_f32(int transpose_a, int transpose_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, const float* a, std::int64_t lda, const float* b,
                      std::int64_t ldb, float* c, std::int64_t ldc);
void damo_rt_gemm_f64(int transpose_a, int transpose_b, std::int64_t m, std::int64_t n,
                      std::int64_t k, const double* a, std::int64_t lda, const double* b,
                      std::int64_t ldb, double* c, std::int64_t ldc);

/// Writes to out[k * stride] the position of the k-th element of the n elements at
/// x[0], x[stride], ... (of the DType whose enum value is dtype) in sorted order: a stable
/// sort, ascending with NaN last, or descending with NaN first when descending is nonzero.
void damo_rt_argsort(const void* x, std::int32_t dtype, std::int64_t n, std::int64_t stride,
                     std::int32_t descending, std::int64_t* out);

/// The NaN guard's check of the count elements at data, of the DType whose enum value is
/// dtype: 2 when they hold a NaN, else 1 when they hold an infinity, else 0.
std::int32_t damo_rt_finiteness(const void* data, std::int32_t dtype, std::int64_t count);
}

namespace damo {

/// Name and address of each function above, for registration with the JIT.
struct JitSupportSymbol {
  const char* name;
  void* address;
};
const JitSupportSymbol* jit_support_symbols(std::size_t& count);

}  // namespace damo
