// Compiling and calling from several threads at once. Four threads each compile their own
// function and one function they share through the compile caches, then call both
// concurrently. Every result must match the reference evaluator.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include "damo/frontend/function.h"
#include "damo/graph/autodiff.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "damo/runtime/thread_pool.h"

using namespace damo;

namespace {

constexpr int kThreads = 4;
constexpr int kCalls = 25;

// Thread t's own expression: each thread compiles different code.
Expr own_expression(Expr x, int t) {
  switch (t) {
  case 0: return sum(tanh(x) * 2.0, 1);
  case 1: return max(exp(x) - x, 1);
  case 2: return mean(sqrt(abs(x)) + 1.0, 1);
  default: return logsumexp(x * 3.0, 1);
  }
}

struct ThreadResult {
  int mismatches = 0;
  int calls = 0;
  std::string error;
};

void run_thread(int t, const std::string& cache_dir, ThreadResult& result) {
  try {
    Graph g;
    Expr x = g.input("x", DType::Float64, {"n", 8});
    CompileOptions options;
    options.cache_dir = cache_dir;
    Expr own = own_expression(x, t);
    Expr shared = sum(x * x, 1) + 1.0;
    Function f_own = compile({x}, {own}, {}, options);
    Function f_shared = compile({x}, {shared}, {}, options);

    std::mt19937_64 rng(static_cast<std::uint64_t>(t));
    std::uniform_real_distribution<double> value(-2, 2);
    for (int call = 0; call < kCalls; ++call) {
      std::int64_t rows = 1 + call % 7;
      Tensor input = Tensor::empty(DType::Float64, {rows, 8});
      for (std::int64_t i = 0; i < input.numel(); ++i) input.set_double(i, value(rng));
      Tensor own_value = f_own({input})[0];
      Tensor shared_value = f_shared({input})[0];
      Tensor own_expected = evaluate(own, {{"x", input}});
      Tensor shared_expected = evaluate(shared, {{"x", input}});
      for (std::int64_t i = 0; i < rows; ++i) {
        double tolerance = 1e-9 * std::max(1.0, std::abs(own_expected.get_double(i)));
        if (std::abs(own_value.get_double(i) - own_expected.get_double(i)) > tolerance)
          ++result.mismatches;
        if (std::abs(shared_value.get_double(i) - shared_expected.get_double(i)) >
            1e-9 * shared_expected.get_double(i))
          ++result.mismatches;
      }
      ++result.calls;
    }
  } catch (const std::exception& e) {
    result.error = e.what();
  }
}

}  // namespace

TEST_CASE("four threads compile and call concurrently") {
  std::string cache_dir =
      (std::filesystem::path(DAMO_BINARY_DIR) / "test_tmp" / "concurrency_cache").string();
  std::filesystem::remove_all(cache_dir);
  for (int round = 0; round < 2; ++round) {
    // Round 0 compiles cold and fills the on-disk cache from four threads at once; round 1
    // reads it back concurrently.
    INFO("round " << round);
    std::vector<ThreadResult> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back(run_thread, t, cache_dir, std::ref(results[t]));
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
      INFO("thread " << t);
      CHECK(results[t].error == "");
      CHECK(results[t].calls == kCalls);
      CHECK(results[t].mismatches == 0);
    }
  }
  // Only complete entries remain: no temporary file of a concurrent write is left.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir)) {
    CHECK(entry.path().extension() == ".o");
    ++entries;
  }
  CHECK(entries == kThreads + 1);
  std::filesystem::remove_all(cache_dir);
}

TEST_CASE("threads compile, call and drop functions") {
  // Every iteration compiles (from the caches after the first), calls and drops a function
  // whose code spans two LLVM modules, so that code is linked in one thread while another
  // thread frees its copy. Without the lock that makes linking and freeing take turns,
  // about half of the runs crash.
  std::string cache_dir =
      (std::filesystem::path(DAMO_BINARY_DIR) / "test_tmp" / "concurrency_drop_cache").string();
  std::filesystem::remove_all(cache_dir);
  set_num_threads(2);

  Graph g;
  Expr x = g.input("x", DType::Float64, {"n", 3});
  Expr w = g.shared("w", Tensor::full(DType::Float64, {3}, 0.5));
  Expr loss = mean(square(matmul(x, w) - 1.0));
  Expr gradient = grad(loss, w);
  CompileOptions options;
  options.cache_dir = cache_dir;

  // Rows of ones give x @ w = 1.5, so the loss is 0.25 and its gradient 2 * 0.5 * 1 = 1.
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 100; ++i) {
          Function f = compile({x}, {loss, gradient}, {}, options);
          std::vector<Tensor> out = f({Tensor::full(DType::Float64, {4, 3}, 1.0)});
          if (out[0].get_double(0) != 0.25 || out[1].get_double(0) != 1.0) ++wrong[t];
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (std::thread& thread : threads) thread.join();
  set_num_threads(0);

  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(errors[t] == "");
    CHECK(wrong[t] == 0);
  }
  std::filesystem::remove_all(cache_dir);
}

TEST_CASE("graph destroyed while another thread compiles from it") {
  // The Graph's destructor waits for the compile that reads its nodes, so the function
  // comes out whole. A chain of 400 layers keeps the compile busy for a while.
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    auto graph = std::make_unique<Graph>();
    Expr x = graph->input("x", DType::Float64, {"n", 8});
    Expr h = x;
    for (int layer = 0; layer < 400; ++layer) h = tanh(h * (1.0 + layer * 1e-3) + 0.01);
    Expr out = sum(h, 1);
    Tensor value = Tensor::full(DType::Float64, {3, 8}, 0.5);
    double expected = evaluate(out, {{"x", value}}).get_double(0);

    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    Function f;
    std::weak_ptr<const void> lifetime = graph->lifetime();
    std::atomic<bool> compiled{false};
    std::thread compiler([&] {
      f = compile({x}, {out}, {}, options);
      compiled = true;
    });
    // A compile that has begun owns a GraphUse, which shares the lifetime token, so a second
    // owner means the compile is running. Destroying the Graph before that is an error of
    // the caller, as for any Expr of a destroyed Graph.
    while (lifetime.use_count() < 2 && !compiled) std::this_thread::yield();
    graph.reset();
    compiler.join();
    if (backend == Backend::Jit) {
      // Native code needs no graph.
      CHECK(f({value})[0].get_double(0) == doctest::Approx(expected));
    } else {
      try {
        f({value});
        FAIL("a reference-backend call after its Graph was destroyed returned");
      } catch (const UserError& e) {
        CHECK(std::string(e.what()).find("has been destroyed") != std::string::npos);
      }
    }
  }
}

TEST_CASE("graph destroyed while another thread calls the reference backend") {
  // Each call keeps the Graph from going away, so it either finishes with the right value
  // or, once the Graph is gone, fails with a "has been destroyed" error.
  auto graph = std::make_unique<Graph>();
  Expr x = graph->input("x", DType::Float64, {"n"});
  Expr out = sum(exp(x) * 2.0);
  CompileOptions options;
  options.backend = Backend::Reference;
  Function f = compile({x}, {out}, {}, options);
  Tensor value = Tensor::full(DType::Float64, {20000}, 0.25);
  const double expected = 20000 * 2 * std::exp(0.25);
  std::atomic<int> finished{0}, wrong{0};
  std::atomic<bool> rejected{false};
  // The caller runs until a call is rejected; the Graph goes once a few calls are done.
  std::thread caller([&] {
    for (int i = 0; i < 1'000'000 && !rejected; ++i) {
      try {
        double v = f({value})[0].get_double(0);
        if (std::abs(v - expected) > 1e-9 * expected) ++wrong;
        ++finished;
      } catch (const UserError&) {
        rejected = true;
      }
    }
  });
  while (finished.load() < 5) std::this_thread::yield();
  graph.reset();
  caller.join();
  CHECK(wrong.load() == 0);
  CHECK(rejected.load());
}
