// Times the training pipeline on a graph of at least 10,000 nodes: a deep stack of tanh
// layers with a mean-square loss, its gradient and SGD updates of every parameter.
//
//     build/bench/rewrite_bench [min_nodes]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "damo/graph/autodiff.h"
#include "damo/graph/ops.h"
#include "damo/graph/traversal.h"
#include "damo/optimizer/optimize.h"

namespace {

using namespace damo;

struct Network {
  std::vector<Expr> roots;
  std::size_t layers = 0;
};

// Adds layers until the training graph has at least min_nodes nodes.
Network build(Graph& graph, std::size_t min_nodes) {
  Expr x = graph.input("x", DType::Float32, {16, 8});
  std::vector<Expr> parameters;
  Network net;
  for (std::size_t layers = 100;; layers += layers / 4) {
    Expr h = x;
    parameters.clear();
    for (std::size_t i = 0; i < layers; ++i) {
      Expr w = graph.shared(fmt::format("w{}_{}", layers, i),
                            Tensor::full(DType::Float32, {8, 8}, 0.01));
      Expr b = graph.shared(fmt::format("b{}_{}", layers, i), Tensor::zeros(DType::Float32, {8}));
      parameters.push_back(w);
      parameters.push_back(b);
      h = damo::tanh(matmul(h, w) + b * 1.0);
    }
    Expr loss = mean(square(h - 0.5));
    std::vector<Expr> grads = grad(loss, parameters);
    net.roots = {loss};
    for (std::size_t i = 0; i < parameters.size(); ++i)
      net.roots.push_back(parameters[i] - 0.1 * grads[i]);
    net.layers = layers;
    if (topo_order(net.roots).size() >= min_nodes) return net;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t min_nodes = argc > 1 ? std::stoul(argv[1]) : 10000;
  Graph graph;
  Network net = build(graph, min_nodes);
  std::size_t nodes = topo_order(net.roots).size();

  OptimizeOptions options;
  options.pipeline = PipelineKind::Training;
  options.pipeline_options.read_environment = false;
  options.pipeline_options.verify = false;
  // Wall time, and the process's CPU time, which other load on the machine inflates less.
  double best_wall = 1e30;
  double best_cpu = 1e30;
  PipelineResult result;
  for (int run = 0; run < 5; ++run) {
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpu_start = std::clock();
    result = optimize(net.roots, options);
    double cpu = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    double wall =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    best_wall = std::min(best_wall, wall);
    best_cpu = std::min(best_cpu, cpu);
  }
  std::size_t after = topo_order(result.roots).size();
  fmt::print(
      "training pipeline: {} layers, {} nodes -> {} nodes, {} pass runs; best of 5: "
      "{:.1f} ms wall, {:.1f} ms CPU\n",
      net.layers, nodes, after, result.runs.size(), best_wall, best_cpu);
  return 0;
}
