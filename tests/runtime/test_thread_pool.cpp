// Tests of parallel_for. Every iteration runs exactly once for any thread count, loop size
// and grain. Nested loops run inline, exceptions reach the caller, and several callers can
// share the pool at once.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "damo/runtime/error.h"
#include "damo/runtime/thread_pool.h"

using namespace damo;

namespace {

// Restores the default thread count when it goes out of scope.
struct ThreadCount {
  explicit ThreadCount(int count) { set_num_threads(count); }
  ~ThreadCount() { set_num_threads(0); }
};

// Runs a loop of total iterations and returns how often each iteration ran.
std::vector<int> visits(std::int64_t total, std::int64_t grain) {
  std::vector<std::atomic<int>> counts(static_cast<std::size_t>(total));
  parallel_for(total, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) counts[static_cast<std::size_t>(i)]++;
  });
  std::vector<int> result;
  for (const std::atomic<int>& c : counts) result.push_back(c.load());
  return result;
}

}  // namespace

TEST_CASE("parallel_for runs each iteration once") {
  for (int threads : {1, 2, 3, 5}) {
    ThreadCount scope(threads);
    CHECK(num_threads() == threads);
    for (std::int64_t total : {0, 1, 2, 7, 1000, 100003}) {
      for (std::int64_t grain : {1, 16, 4096}) {
        CAPTURE(threads);
        CAPTURE(total);
        CAPTURE(grain);
        std::vector<int> counts = visits(total, grain);
        CHECK(counts == std::vector<int>(static_cast<std::size_t>(total), 1));
      }
    }
  }
}

TEST_CASE("parallel_for repeated loops stay exact") {
  // Thousands of short loops in a row: chunk claims of one loop must not leak into the
  // next one.
  ThreadCount scope(2);
  std::atomic<std::int64_t> sum{0};
  for (int round = 0; round < 5000; ++round)
    parallel_for(64, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) sum += i;
    });
  CHECK(sum.load() == 5000 * (63 * 64 / 2));
}

TEST_CASE("parallel_for nested loop runs inline") {
  ThreadCount scope(2);
  std::atomic<int> inner_chunks{0};
  std::atomic<std::int64_t> inner_iterations{0};
  parallel_for(8, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      parallel_for(100, 1, [&](std::int64_t b, std::int64_t e) {
        inner_chunks++;
        inner_iterations += e - b;
      });
  });
  CHECK(inner_chunks.load() == 8);
  CHECK(inner_iterations.load() == 800);
}

TEST_CASE("parallel_for rethrows the first exception") {
  ThreadCount scope(2);
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(parallel_for(1000, 1,
                                 [&](std::int64_t begin, std::int64_t) {
                                   ran++;
                                   if (begin == 0) throw std::runtime_error("chunk at 0 failed");
                                 }),
                    "chunk at 0 failed");
  CHECK(ran.load() >= 1);
  CHECK(ran.load() <= 2);
}

TEST_CASE("parallel_for from several threads at once") {
  ThreadCount scope(2);
  std::vector<std::thread> callers;
  std::vector<int> correct(4, 0);
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      bool all_once = true;
      for (int round = 0; round < 200; ++round)
        for (int c : visits(513, 8)) all_once = all_once && c == 1;
      correct[static_cast<std::size_t>(t)] = all_once ? 1 : 0;
    });
  for (std::thread& t : callers) t.join();
  CHECK(correct == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("set_num_threads rejects counts out of range") {
  CHECK_THROWS_AS(set_num_threads(-1), UserError);
  CHECK_THROWS_AS(set_num_threads(1025), UserError);
}
