// Compile-time workloads: compile() of the benchmark training step into an empty on-disk
// cache folder and from a populated one, and the optimizer's rewrite time on a large graph.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>

#include "damo/runtime/error.h"
#include "damo_mlp.h"

namespace damo_bench {

namespace {

namespace fs = std::filesystem;

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// A fresh, empty folder under --scratch for one compile cache.
std::string fresh_cache_folder(const bench::Options& options, const std::string& label) {
  static int counter = 0;
  fs::path folder = fs::path(options.text("scratch")) /
                    (label + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder.string();
}

damo::CompileOptions cache_in(const std::string& folder) {
  damo::CompileOptions options;
  options.cache_dir = folder;
  return options;
}

// Builds the training step in a fresh Graph and returns the seconds that compile() took.
double time_compile(const MlpData& data, double lr, const std::string& cache_folder,
                    damo::CompileStats* stats = nullptr) {
  Mlp mlp(data);
  Mlp::Training training = mlp.training(lr);
  auto start = std::chrono::steady_clock::now();
  damo::Function step =
      damo::compile({mlp.x, mlp.y}, {training.loss}, training.updates, cache_in(cache_folder));
  double seconds = milliseconds_since(start) / 1000;
  if (stats) *stats = step.stats();
  return seconds;
}

// Calls prepare() and then measure() warmup + repeats times; returns the timed results of
// measure(), which returns seconds.
template <class Prepare, class Measure>
std::vector<double> repeat(const bench::Options& options, Prepare prepare, Measure measure) {
  std::vector<double> seconds;
  std::int64_t warmup = options.integer("warmup");
  for (std::int64_t i = 0; i < warmup + options.integer("repeats"); ++i) {
    prepare();
    double s = measure();
    if (i >= warmup) seconds.push_back(s);
  }
  return seconds;
}

// A deep network of width 8 with its gradient and updates: about 30 nodes per layer.
struct DeepNetwork {
  std::unique_ptr<damo::Graph> graph = std::make_unique<damo::Graph>();
  Expr x, y, loss;
  std::vector<damo::Update> updates;

  explicit DeepNetwork(std::int64_t layers) {
    const std::int64_t width = 8;
    x = graph->input("x", DType::Float32, {"n", width});
    y = graph->input("y", DType::Int32, {"n"});
    std::vector<Expr> weights;
    Expr activations = x;
    for (std::int64_t l = 0; l < layers; ++l) {
      Tensor matrix =
          Tensor::full(DType::Float32, {width, width}, 0.1 + 0.001 * static_cast<double>(l));
      Expr w = graph->shared(fmt::format("w{}", l), matrix);
      Expr b = graph->shared(fmt::format("b{}", l), Tensor::zeros(DType::Float32, {width}));
      weights.push_back(w);
      weights.push_back(b);
      Expr affine = damo::matmul(activations, w) + b;
      activations = l + 1 == layers ? affine : damo::sigmoid(affine);
    }
    loss = damo::mean(damo::categorical_crossentropy(damo::softmax(activations), y));
    std::vector<Expr> gradients = damo::grad(loss, weights);
    for (std::size_t i = 0; i < weights.size(); ++i)
      updates.push_back({weights[i], weights[i] - 0.01 * gradients[i]});
  }
};

// The smallest layer count whose graph has at least nodes nodes.
std::int64_t layers_for(std::int64_t nodes) {
  std::int64_t layers = 10;
  std::size_t probe = DeepNetwork(layers).graph->node_count();
  layers = std::max<std::int64_t>(1, layers * nodes / static_cast<std::int64_t>(probe));
  while (layers > 1 &&
         static_cast<std::int64_t>(DeepNetwork(layers - 1).graph->node_count()) >= nodes)
    --layers;
  while (static_cast<std::int64_t>(DeepNetwork(layers).graph->node_count()) < nodes) ++layers;
  return layers;
}

}  // namespace

void run_compile_cold(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  double lr = options.number("lr");

  // The first compile in a process also starts LLVM's JIT; it is reported apart.
  report.add_info("first_compile_in_process_s",
                  time_compile(data, lr, fresh_cache_folder(options, "cold")));

  std::string folder;
  damo::CompileStats stats;
  report.set_times(repeat(
      options,
      [&] {
        if (!folder.empty()) fs::remove_all(folder);
        folder = fresh_cache_folder(options, "cold");
      },
      [&] { return time_compile(data, lr, folder, &stats); }));
  fs::remove_all(folder);
  if (stats.cache_hit) throw damo::RuntimeError("compile into an empty cache folder hit a cache");
  report.add_info("rewrite_ms", stats.rewrite_ms);
  report.add_info("lowering_ms", stats.lowering_ms);
  report.add_info("llvm_optimize_ms", stats.llvm_optimize_ms);
  report.add_info("machine_code_ms", stats.machine_code_ms);
}

void run_compile_cached(const bench::Options& options, bench::Report& report) {
  MlpData data(options.text("data"));
  double lr = options.number("lr");
  std::string folder = fresh_cache_folder(options, "cached");
  report.add_info("populating_compile_s", time_compile(data, lr, folder));

  // Each compile builds a fresh Graph, and the Function of the one before is gone, so the
  // code comes from the on-disk cache and not from the in-memory one.
  damo::CompileStats stats;
  bool every_call_hit = true;
  report.set_times(repeat(
      options, [] {},
      [&] {
        double seconds = time_compile(data, lr, folder, &stats);
        every_call_hit = every_call_hit && stats.cache_hit;
        return seconds;
      }));
  fs::remove_all(folder);
  if (!every_call_hit)
    throw damo::RuntimeError("a compile from the populated cache folder missed it");
  report.add_info("rewrite_ms", stats.rewrite_ms);
  report.add_info("lowering_ms", stats.lowering_ms);
}

void run_rewrite(const bench::Options& options, bench::Report& report) {
  std::int64_t layers = layers_for(options.integer("nodes"));
  damo::CompileOptions compile;
  compile.backend = damo::Backend::Reference;

  // The graph is built anew, untimed, before each compile; only the optimizer's own time
  // (CompileStats::rewrite_ms) counts. It stays 0 when compile() runs no optimizer.
  std::unique_ptr<DeepNetwork> network;
  double total_ms = 0;
  std::vector<double> seconds = repeat(
      options, [&] { network = std::make_unique<DeepNetwork>(layers); },
      [&] {
        damo::Function f =
            damo::compile({network->x, network->y}, {network->loss}, network->updates, compile);
        total_ms = f.stats().total_ms;
        return f.stats().rewrite_ms / 1000;
      });
  report.set_times(seconds);
  // Counted in a fresh graph: compile() adds the optimizer's new nodes to the graph.
  report.add_info("nodes", static_cast<double>(DeepNetwork(layers).graph->node_count()));
  report.add_info("layers", static_cast<double>(layers));
  report.add_info("compile_total_ms", total_ms);
  bool optimizer_ran = false;
  for (double s : seconds) optimizer_ran = optimizer_ran || s > 0;
  report.add_info("optimizer_ran", optimizer_ran ? 1.0 : 0.0);
}

}  // namespace damo_bench
