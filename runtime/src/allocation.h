// Allocation of tensor and workspace buffers.
#pragma once

#include <cstddef>

namespace damo::detail {

/// Alignment of every buffer: one cache line, and one AVX-512 register.
inline constexpr std::size_t kBufferAlignment = 64;

/// Buffers from this size on are aligned to 2 MiB and marked for transparent huge pages.
/// When the kernel's THP mode is "madvise", a large buffer otherwise faults in 4 KiB at a
/// time. On a 2-core AMD EPYC at one thread, x * 2.5 + 1 over 1e7 float64 values took
/// 45-50 ms per call that way and 11 ms with huge pages, most of the difference being the
/// page faults of the new output.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
inline constexpr std::size_t kHugeBufferBytes = 2 * kHugePageBytes;

/// Released large buffers kept for reuse by an allocation of the same padded size, at most
/// this many bytes in all. The kernel zeroes a new buffer's pages as they are first
/// touched, so a call that returned a fresh 16 MB output spent about as long faulting its
/// pages in as computing them. At one thread, float32 x * 2 over 4000 x 1000 took 1.8 to
/// 2.2 ms with a new output and 0.7 ms with a reused one.
inline constexpr std::size_t kReuseBytes = std::size_t{64} << 20;

/// Allocates bytes (at least 1), aligned as above, to be released with release_buffer().
/// Returns nullptr when memory runs out.
void* allocate_buffer(std::size_t bytes);

/// Releases a buffer that allocate_buffer(bytes) returned; a large one may be kept for
/// reuse. nullptr is ignored.
void release_buffer(void* memory, std::size_t bytes);

/// Frees every buffer kept for reuse and returns how many bytes they held.
std::size_t drop_reusable_buffers();

}  // namespace damo::detail
