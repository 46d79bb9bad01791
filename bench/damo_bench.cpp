// damo_bench: Damo's side of bench/run. One process runs one workload at one thread count
// and prints a JSON report (see common/bench_util.h); the prepare-* workloads write the
// shared input files instead.
//
//   damo_bench --workload train --data DIR --batch 256 --lr 0.01 --threads 1
//              --warmup 2 --repeats 11
#include "damo_bench.h"

#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <string>

#include "damo/runtime/thread_pool.h"

namespace damo_bench {

damo::CompileOptions compile_options(const bench::Options& options) {
  damo::CompileOptions compile;
  compile.cache_dir = options.text("cache-dir", "");
  return compile;
}

void print_graph_if_asked(const bench::Options& options, const damo::Function& function) {
  if (options.integer("print-graph", 0) != 0)
    std::fprintf(stderr, "%s\n", function.optimized_graph().c_str());
}

}  // namespace damo_bench

namespace {

using Workload = std::function<void(const bench::Options&, bench::Report&)>;
using Preparation = std::function<void(const bench::Options&)>;

const std::map<std::string, Workload>& workloads() {
  static const std::map<std::string, Workload> table = {
      {"train", damo_bench::run_train},
      {"infer", damo_bench::run_infer},
      {"chain", damo_bench::run_chain},
      {"softmax_crossentropy", damo_bench::run_softmax_crossentropy},
      {"matmul", damo_bench::run_matmul},
      {"argmax_rows", damo_bench::run_argmax_rows},
      {"softmax_axis0", damo_bench::run_softmax_axis0},
      {"logsumexp_axis0", damo_bench::run_logsumexp_axis0},
      {"matvec", damo_bench::run_matvec},
      {"affine_new", damo_bench::run_affine_new},
      {"row_max", damo_bench::run_row_max},
      {"short_row_max", damo_bench::run_short_row_max},
      {"diff", damo_bench::run_diff},
      {"cast_i32", damo_bench::run_cast_i32},
      {"dropout", damo_bench::run_dropout},
      {"compile_cold", damo_bench::run_compile_cold},
      {"compile_cached", damo_bench::run_compile_cached},
      {"rewrite", damo_bench::run_rewrite},
  };
  return table;
}

const std::map<std::string, Preparation>& preparations() {
  static const std::map<std::string, Preparation> table = {
      {"prepare-mlp", damo_bench::prepare_mlp},
      {"prepare-chain", damo_bench::prepare_chain},
      {"prepare-softmax_crossentropy", damo_bench::prepare_softmax_crossentropy},
      {"prepare-matmul", damo_bench::prepare_matmul},
      {"prepare-ops", damo_bench::prepare_ops},
  };
  return table;
}

int run(const bench::Options& options) {
  std::string name = options.text("workload");
  if (auto it = preparations().find(name); it != preparations().end()) {
    it->second(options);
    return 0;
  }
  auto it = workloads().find(name);
  if (it == workloads().end()) {
    std::string known;
    for (const auto& [key, unused] : workloads()) known += " " + key;
    for (const auto& [key, unused] : preparations()) known += " " + key;
    std::fprintf(stderr, "damo_bench: unknown workload '%s'; choose one of:%s\n", name.c_str(),
                 known.c_str());
    return 2;
  }

  damo::set_num_threads(static_cast<int>(options.integer("threads", 1)));
  bench::Report report;
  report.add_info("threads", damo::num_threads());
  it->second(options, report);
  report.print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(bench::Options(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "damo_bench: %s\n", error.what());
    return 1;
  }
}
