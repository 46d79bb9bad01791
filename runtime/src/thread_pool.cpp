#include "damo/runtime/thread_pool.h"

#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "damo/runtime/error.h"
#include "damo/runtime/log.h"

namespace damo {

namespace {

int thread_count_from_environment() {
  // An empty value counts as unset, as a shell's `DAMO_NUM_THREADS= program` means.
  if (const char* text = std::getenv("DAMO_NUM_THREADS"); text != nullptr && *text != '\0') {
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (*end == '\0' && value >= 1 && value <= 1024) return static_cast<int>(value);
    log_at(0, "ignoring DAMO_NUM_THREADS='{}': expected a whole number from 1 to 1024", text);
  }
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

// Read once, so that an invalid DAMO_NUM_THREADS is reported once.
int default_thread_count() {
  static const int count = thread_count_from_environment();
  return count;
}

thread_local bool inside_parallel_loop = false;

// First iteration of chunk c of a loop of total iterations in chunks. When every chunk gets
// 1,024 or more iterations, the starts fall on multiples of 64. A vectorized loop over a
// chunk then leaves the same elements to its scalar remainder at any thread count, and
// those call libm where the vector body calls libmvec, which may differ in the last bit.
std::int64_t chunk_start(std::int64_t total, std::int64_t chunks, std::int64_t c) {
  constexpr std::int64_t kAlignment = 64;
  constexpr std::int64_t kAlignedChunk = 1024;
  if (c >= chunks) return total;
  std::int64_t start = total * c / chunks;
  return total / chunks >= kAlignedChunk ? start / kAlignment * kAlignment : start;
}

// A fixed set of worker threads that wait for one job at a time. The calling thread takes
// chunks too, and a job is done when every chunk has run.
class Pool {
 public:
  explicit Pool(int threads) {
    // Workers block every signal, so that signals such as SIGINT reach the program's own
    // threads and their handlers.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    claimed_ = std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(threads));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs the job in at most size() chunks; returns false without running it when another
  // caller owns the pool.
  bool try_run(std::int64_t total, std::int64_t chunks, ChunkFunction fn, void* context) {
    std::unique_lock caller(busy_, std::try_to_lock);
    if (!caller.owns_lock()) return false;
    chunks = std::min<std::int64_t>(chunks, size());
    {
      std::lock_guard lock(mutex_);
      fn_ = fn;
      context_ = context;
      total_ = total;
      chunks_ = chunks;
      remaining_.store(chunks);
      for (std::int64_t c = 0; c < chunks; ++c) claimed_[c].store(false, std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_chunks(0);
    // The remaining chunks are short; spin briefly, then yield.
    for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins)
      if (spins > 1000) std::this_thread::yield();
    return true;
  }

 private:
  // Thread `self` (0 for the caller) runs chunk `self` first, so that consecutive loops
  // over the same rows give each thread the rows it wrote before, still in its own cache.
  // Then it takes any chunk that no thread has claimed, which covers a worker slow to wake.
  void run_chunks(std::int64_t self) {
    inside_parallel_loop = true;
    if (self < chunks_) run_chunk(self);
    for (std::int64_t chunk = 0; chunk < chunks_; ++chunk) run_chunk(chunk);
    inside_parallel_loop = false;
  }

  void run_chunk(std::int64_t chunk) {
    if (claimed_[chunk].load(std::memory_order_relaxed) ||
        claimed_[chunk].exchange(true, std::memory_order_acq_rel))
      return;
    fn_(context_, chunk_start(chunk), chunk_start(chunk + 1));
    remaining_.fetch_sub(1, std::memory_order_release);
  }

  std::int64_t chunk_start(std::int64_t c) const { return damo::chunk_start(total_, chunks_, c); }

  void work(std::int64_t self) {
    std::uint64_t seen = 0;
    for (;;) {
      // Kernels of one compiled call follow each other within microseconds, so a worker
      // spins briefly before it sleeps; waking a sleeping thread costs tens of microseconds.
      auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
      for (int i = 1; generation_.load(std::memory_order_acquire) == seen; ++i) {
        if (i % 64 == 0 && std::chrono::steady_clock::now() > spin_until) break;
        pause();
      }
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
        if (stopping_) return;
        seen = generation_.load();
      }
      run_chunks(self);
    }
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  static constexpr std::chrono::microseconds kSpinTime{50};

  std::vector<std::thread> workers_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> generation_{0};
  ChunkFunction fn_ = nullptr;
  void* context_ = nullptr;
  std::int64_t total_ = 0;
  std::int64_t chunks_ = 0;
  std::unique_ptr<std::atomic<bool>[]> claimed_;  // one flag per chunk of the current job
  std::atomic<std::int64_t> remaining_{0};
};

struct PoolHolder {
  std::mutex mutex;
  int requested = 0;  // 0: the default
  std::shared_ptr<Pool> pool;

  std::shared_ptr<Pool> get() {
    std::lock_guard lock(mutex);
    int wanted = requested > 0 ? requested : default_thread_count();
    if (!pool || pool->size() != wanted) pool = std::make_shared<Pool>(wanted);
    return pool;
  }
};

PoolHolder& holder() {
  static PoolHolder instance;
  return instance;
}

}  // namespace

int num_threads() { return holder().get()->size(); }

void set_num_threads(int count) {
  if (count < 0 || count > 1024)
    throw UserError(fmt::format("set_num_threads: {} is not between 0 and 1024", count));
  std::lock_guard lock(holder().mutex);
  holder().requested = count;
}

void parallel_for(std::int64_t total, std::int64_t grain, ChunkFunction fn, void* context) {
  if (total <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  if (inside_parallel_loop || total <= grain) {
    fn(context, 0, total);
    return;
  }
  std::shared_ptr<Pool> pool = holder().get();
  std::int64_t chunks = std::min<std::int64_t>(pool->size(), (total + grain - 1) / grain);
  if (chunks <= 1) {
    fn(context, 0, total);
    return;
  }
  if (pool->try_run(total, chunks, fn, context)) return;
  // Another caller owns the pool. The chunks run here in turn, with the bounds the pool
  // would give them, so that a call gives the same bits whether or not others run at once.
  inside_parallel_loop = true;
  for (std::int64_t c = 0; c < chunks; ++c) fn(context, chunk_start(total, chunks, c), chunk_start(total, chunks, c + 1));
  inside_parallel_loop = false;
}

void parallel_for(std::int64_t total, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  // An exception leaving a worker thread would call std::terminate, and one leaving the
  // calling thread's chunk would return while workers still use fn. So every chunk catches,
  // the first exception is kept, chunks not yet started are skipped, and the exception is
  // rethrown here once the loop has finished.
  struct Context {
    const std::function<void(std::int64_t, std::int64_t)>* fn = nullptr;
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::exception_ptr failure;
  };
  Context context;
  context.fn = &fn;
  auto trampoline = [](void* raw, std::int64_t begin, std::int64_t end) {
    auto* c = static_cast<Context*>(raw);
    if (c->failed.load(std::memory_order_relaxed)) return;
    try {
      (*c->fn)(begin, end);
    } catch (...) {
      std::lock_guard lock(c->mutex);
      if (!c->failure) c->failure = std::current_exception();
      c->failed.store(true, std::memory_order_relaxed);
    }
  };
  parallel_for(total, grain, trampoline, &context);
  if (context.failure) std::rethrow_exception(context.failure);
}

}  // namespace damo
