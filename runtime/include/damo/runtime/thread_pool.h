// The thread pool that runs large loops of compiled code on several cores.
//
// A loop of n iterations is cut into contiguous chunks of at least `grain` iterations and
// the chunks run on the pool's threads and the calling thread. Each iteration runs exactly
// once, on one thread, so code that computes each output element within one iteration gives
// the same result for any thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace damo {

/// Signature of a chunk: runs iterations [begin, end) with the context pointer it was given.
using ChunkFunction = void (*)(void* context, std::int64_t begin, std::int64_t end);

/// Number of threads loops use, including the caller. Defaults to DAMO_NUM_THREADS when set,
/// else the number of cores.
int num_threads();
/// Sets the thread count (1 runs everything on the calling thread); 0 restores the default.
void set_num_threads(int count);

/// Runs fn over [0, total) in chunks of at least grain iterations. Runs inline when the pool
/// has one thread, the loop is small, or the call comes from inside another parallel loop.
/// fn must not throw: compiled kernels use this form.
void parallel_for(std::int64_t total, std::int64_t grain, ChunkFunction fn, void* context);

/// Convenience form for C++ callers. When fn throws, chunks that have not started are
/// skipped and the first exception is rethrown on the calling thread after the loop ends.
void parallel_for(std::int64_t total, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace damo
