// Compiled functions as a whole: training steps with shared-variable updates, argument
// checks, concurrent calls and the compile cache.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "damo/graph/autodiff.h"
#include "damo/graph/printer.h"
#include "damo/runtime/thread_pool.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

struct Network {
  Expr x, y, w1, b1, w2, b2, loss;
  std::vector<Update> updates;
};

// One hidden sigmoid layer, softmax output, mean categorical cross-entropy, plain SGD.
Network build_network(Graph& g, std::mt19937_64& rng, std::int64_t d, std::int64_t hidden, std::int64_t classes) {
  Network net;
  net.x = g.input("X", DType::Float32, {"n", d});
  net.y = g.input("Y", DType::Float32, {"n", classes});
  net.w1 = g.shared("W1", random_tensor(DType::Float32, {d, hidden}, rng, -0.5, 0.5));
  net.b1 = g.shared("b1", Tensor::zeros(DType::Float32, {hidden}));
  net.w2 = g.shared("W2", random_tensor(DType::Float32, {hidden, classes}, rng, -0.5, 0.5));
  net.b2 = g.shared("b2", Tensor::zeros(DType::Float32, {classes}));
  Expr h = sigmoid(matmul(net.x, net.w1) + net.b1);
  Expr p = softmax(matmul(h, net.w2) + net.b2);
  net.loss = mean(categorical_crossentropy(p, net.y));
  std::vector<Expr> params = {net.w1, net.b1, net.w2, net.b2};
  std::vector<Expr> grads = grad(net.loss, params);
  for (std::size_t i = 0; i < params.size(); ++i) net.updates.push_back({params[i], params[i] - 0.1 * grads[i]});
  return net;
}

Tensor one_hot_rows(std::int64_t n, std::int64_t classes, std::mt19937_64& rng) {
  Tensor t = Tensor::zeros(DType::Float32, {n, classes});
  for (std::int64_t i = 0; i < n; ++i) t.set_double(i * classes + static_cast<std::int64_t>(rng() % classes), 1.0);
  return t;
}

}  // namespace

TEST_CASE("jit training steps match the reference evaluator") {
  std::mt19937_64 rng(31);
  Graph jit_graph;
  Graph ref_graph;
  std::mt19937_64 rng_jit(5), rng_ref(5);
  Network jit_net = build_network(jit_graph, rng_jit, 6, 16, 3);
  Network ref_net = build_network(ref_graph, rng_ref, 6, 16, 3);
  CompileOptions jit_options;
  jit_options.use_cache = false;
  CompileOptions ref_options;
  ref_options.backend = Backend::Reference;
  Function jit_step = compile({jit_net.x, jit_net.y}, {jit_net.loss}, jit_net.updates, jit_options);
  Function ref_step = compile({ref_net.x, ref_net.y}, {ref_net.loss}, ref_net.updates, ref_options);
  Tensor x = random_tensor(DType::Float32, {40, 6}, rng);
  Tensor y = one_hot_rows(40, 3, rng);
  for (int step = 0; step < 10; ++step) {
    double jit_loss = jit_step({x, y})[0].item();
    double ref_loss = ref_step({x, y})[0].item();
    CHECK(jit_loss == doctest::Approx(ref_loss).epsilon(1e-5));
  }
  for (const char* name : {"W1", "b1", "W2", "b2"})
    check_close(jit_graph.find_shared(name)->get_value(), ref_graph.find_shared(name)->get_value(), 1e-4, name);
}

TEST_CASE("jit updates read the values from before the call") {
  Graph g;
  Expr a = g.shared("a", Tensor::from_list({1, 2, 3}));
  Expr b = g.shared("b", Tensor::from_list({10, 20, 30}));
  Expr x = g.input("x", DType::Float32, {3});
  Function swap = compile({x}, {a + b + x}, {{a, b}, {b, a}});
  std::vector<Tensor> out = swap({Tensor::from_list({0, 0, 0})});
  CHECK(out[0].equals(Tensor::from_list({11, 22, 33})));
  CHECK(g.find_shared("a")->get_value().equals(Tensor::from_list({10, 20, 30})));
  CHECK(g.find_shared("b")->get_value().equals(Tensor::from_list({1, 2, 3})));
  Function accumulate = compile({x}, {}, {{a, a + x}, {b, a * 2.0}});
  accumulate({Tensor::from_list({1, 1, 1})});
  CHECK(g.find_shared("a")->get_value().equals(Tensor::from_list({11, 21, 31})));
  CHECK(g.find_shared("b")->get_value().equals(Tensor::from_list({20, 40, 60})));
}

TEST_CASE("jit call with wrong arguments raises user errors") {
  Graph g;
  Expr x = g.input("X", DType::Float32, {"n", 6});
  Expr y = g.input("Y", DType::Float32, {"n"});
  Function f = compile({x, y}, {sum(x, 1) + y});
  auto message = [&](const std::vector<Tensor>& args) {
    try {
      f(args);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message({Tensor(DType::Float32, {4, 6})}) ==
        "the function takes 2 arguments (X, Y) but was called with 1");
  CHECK(message({Tensor(DType::Float64, {4, 6}), Tensor(DType::Float32, {4})}) ==
        "argument 1 ('X') expects f32 (n, 6) but got f64 (4, 6): the dtype must be f32; convert with Tensor::cast");
  CHECK(message({Tensor(DType::Float32, {4, 5}), Tensor(DType::Float32, {4})}) ==
        "argument 1 ('X') expects f32 (n, 6) but got f32 (4, 5): axis 1 must be 6");
  CHECK(message({Tensor(DType::Float32, {4, 6, 1}), Tensor(DType::Float32, {4})}) ==
        "argument 1 ('X') expects f32 (n, 6) but got f32 (4, 6, 1): the rank must be 2");
  CHECK(message({Tensor(DType::Float32, {4, 6}), Tensor(DType::Float32, {3})}) ==
        "argument 2 ('Y') expects f32 (n,) but got f32 (3,): symbolic dimension 'n' is 3 at axis 0 but 4 in argument 1 ('X')");
  std::vector<Tensor> ok = f({Tensor(DType::Float32, {0, 6}), Tensor(DType::Float32, {0})});
  CHECK(ok[0].shape() == Dims{0});
}

TEST_CASE("jit function called from two threads") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Function f = compile({x}, {sum(exp(x) * 2.0)});
  std::vector<double> results(2);
  auto worker = [&](int id) {
    Tensor value = Tensor::full(DType::Float64, {100000}, id == 0 ? 0.0 : 1.0);
    double total = 0;
    for (int i = 0; i < 50; ++i) total += f({value})[0].item();
    results[static_cast<std::size_t>(id)] = total;
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();
  CHECK(results[0] == doctest::Approx(50 * 2.0 * 100000));
  CHECK(results[1] == doctest::Approx(50 * 2.0 * std::exp(1.0) * 100000));
}

TEST_CASE("jit calls from three threads give the bits of a lone call") {
  // A gradient over 30,000 rows runs in row blocks with matrix products. A call that finds
  // the pool busy runs its chunks itself, and the products and loops inside them must split
  // as they would in the pool, even when the pool frees up part way.
  set_num_threads(2);
  Graph g;
  const std::int64_t d = 32;
  const std::int64_t hidden = 64;
  const std::int64_t rows = 30000;
  std::mt19937_64 rng(9);
  Expr x = g.input("X", DType::Float32, {"n", d});
  Expr y = g.input("Y", DType::Float32, {"n"});
  Expr w = g.shared("W", random_tensor(DType::Float32, {d, hidden}, rng, -0.1, 0.1));
  Expr v = g.shared("v", random_tensor(DType::Float32, {hidden}, rng, -0.1, 0.1));
  Expr loss = mean(square(matmul(tanh(matmul(x, w)), v) - y));
  Function f = compile({x, y}, {grad(loss, std::vector<Expr>{w})[0]});
  Tensor xs = random_tensor(DType::Float32, {rows, d}, rng, -1.0, 1.0);
  Tensor ys = random_tensor(DType::Float32, {rows}, rng, 0.0, 4.0);
  Tensor alone = f({xs, ys})[0];

  std::atomic<int> differing{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Tensor result = f({xs, ys})[0];
        if (std::memcmp(result.raw_data(), alone.raw_data(), static_cast<std::size_t>(alone.nbytes())) != 0)
          differing.fetch_add(1);
      }
    });
  for (std::thread& caller : callers) caller.join();
  set_num_threads(0);
  CHECK(differing.load() == 0);
}

TEST_CASE("jit compile cache hit skips LLVM") {
  std::string dir = std::string(DAMO_BINARY_DIR) + "/test-cache-" + std::to_string(std::random_device{}());
  std::filesystem::remove_all(dir);
  CompileOptions options;
  options.cache_dir = dir;
  auto build = [&](Graph& g) {
    Expr x = g.input("x", DType::Float32, {"n"});
    return compile({x}, {tanh(x) * 3.0 + 1.0}, {}, options);
  };
  Graph first_graph, second_graph;
  Function cold = build(first_graph);
  CHECK_FALSE(cold.stats().cache_hit);
  CHECK(cold.stats().llvm_optimize_ms > 0);
  Function warm = build(second_graph);
  CHECK(warm.stats().cache_hit);
  CHECK(warm.stats().llvm_optimize_ms == 0);
  CHECK(warm.stats().machine_code_ms >= 0);

  // A program that differs in one constant has another key.
  Graph other_constant_graph;
  Expr other_x = other_constant_graph.input("x", DType::Float32, {"n"});
  Function other_constant = compile({other_x}, {tanh(other_x) * 3.0 + 2.0}, {}, options);
  CHECK_FALSE(other_constant.stats().cache_hit);
  CHECK(other_constant({Tensor::from_list({0, 1})})[0].get_double(0) == doctest::Approx(2.0));

  // Corrupt every entry on disk; with the in-memory copy gone the entry is rebuilt.
  cold = Function();
  warm = Function();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::FILE* file = std::fopen(entry.path().c_str(), "r+b");
    REQUIRE(file != nullptr);
    std::fseek(file, 60, SEEK_SET);
    std::fputc(0x5a, file);
    std::fclose(file);
  }
  Graph third_graph;
  Function rebuilt = build(third_graph);
  CHECK_FALSE(rebuilt.stats().cache_hit);
  std::vector<Tensor> out = rebuilt({Tensor::from_list({0, 1})});
  CHECK(out[0].get_double(0) == doctest::Approx(1.0));
  Graph fourth_graph;
  CHECK(build(fourth_graph).stats().cache_hit);

  // Another LLVM pass pipeline makes other machine code, so it is not a hit.
  ::setenv("DAMO_LLVM_PASSES", "function(instcombine)", 1);
  Graph fifth_graph;
  Function other_passes = build(fifth_graph);
  ::unsetenv("DAMO_LLVM_PASSES");
  CHECK_FALSE(other_passes.stats().cache_hit);
  CHECK(other_passes({Tensor::from_list({0, 1})})[0].get_double(0) == doctest::Approx(1.0));
  std::filesystem::remove_all(dir);
}

TEST_CASE("jit function of more kernels than one module") {
  // 600 outputs with distinct constants stay 600 kernels, which compile in three modules.
  // At one thread each module is emitted, dropped and emitted again when it compiles.
  std::string dir = std::string(DAMO_BINARY_DIR) + "/test-cache-wide-" + std::to_string(std::random_device{}());
  std::filesystem::remove_all(dir);
  CompileOptions options;
  options.cache_dir = dir;
  auto build = [&](Graph& g, std::vector<Expr>& outputs) {
    Expr x = g.input("x", DType::Float64, {"n"});
    for (int i = 0; i < 600; ++i) outputs.push_back(x * static_cast<double>(i + 2) - static_cast<double>(i));
    return compile({x}, outputs, {}, options);
  };
  set_num_threads(1);
  Graph graph;
  std::vector<Expr> outputs;
  Function cold = build(graph, outputs);
  CHECK_FALSE(cold.stats().cache_hit);

  Tensor x = Tensor::from_list({1.5, -2.0, 0.25});
  std::vector<Tensor> expected = evaluate(outputs, {{"x", x.cast(DType::Float64)}});
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<Tensor> actual = cold({x.cast(DType::Float64)});
    REQUIRE(actual.size() == 600);
    for (std::size_t i = 0; i < actual.size(); i += 37) check_close(actual[i], expected[i], 1e-12, "output");
    CHECK(actual[599].get_double(1) == -2.0 * 601 - 599);
  }

  // Without the in-memory copy, the three objects come back from the disk.
  set_num_threads(1);
  cold = Function();
  Graph second;
  std::vector<Expr> second_outputs;
  Function warm = build(second, second_outputs);
  CHECK(warm.stats().cache_hit);
  std::vector<Tensor> again = warm({x.cast(DType::Float64)});
  CHECK(again[300].get_double(0) == 1.5 * 302 - 300);
  set_num_threads(0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("dim_size reads the bound symbol size") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 3});
  Expr count = dim_size(g, "n");
  Expr mean_by_hand = sum(x) / cast(count * 3, DType::Float32);
  Tensor value = Tensor::from_list({{1, 2, 3}, {4, 5, 6}});
  check_jit_matches_reference({x}, {count, mean_by_hand}, {value}, "dim_size");
  Function f = compile({x}, {count});
  CHECK(f({Tensor(DType::Float32, {7, 3})})[0].get_int64(0) == 7);
  CHECK(f({Tensor(DType::Float32, {0, 3})})[0].get_int64(0) == 0);
  Expr y = g.input("y", DType::Float32, {"m"});
  CHECK_THROWS_WITH_AS(compile({x}, {sum(x) + cast(dim_size(g, "m"), DType::Float32)}),
                       "compile: dim_size(m) needs an input with the symbolic dimension 'm'; "
                       "none of the inputs has it",
                       UserError);
  // A derived size names the symbol that an input must have.
  CHECK_THROWS_WITH_AS(compile({x}, {sum(x) + cast(dim_size(g, "m*3-1"), DType::Float32)}),
                       "compile: dim_size(m*3-1) needs an input with the symbolic dimension 'm'; "
                       "none of the inputs has it",
                       UserError);
  CHECK_THROWS_WITH_AS(evaluate(dim_size(g, "m") + 1, {{"x", value}}),
                       "dim_size(m): no input binds the symbolic dimension 'm'; feed an input that has it",
                       UserError);
  (void)y;
}

TEST_CASE("mean gradient over a symbolic axis uses dim_size") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Expr w = g.shared("w", Tensor::from_list({2.0}, DType::Float64));
  Expr loss = mean(x * w);
  Expr gw = grad(loss, w);
  CHECK(to_infix(gw).find("dim_size(n)") != std::string::npos);
  Function f = compile({x}, {gw});
  Tensor value = Tensor::from_list({1, 2, 3, 6}, DType::Float64);
  CHECK(f({value})[0].get_double(0) == doctest::Approx(3.0));
}
