// Row blocks: which programs may run on blocks of rows of the batch symbol, and that a call
// run in blocks gives the reference evaluator's values for any thread count.
#include "damo/codegen/jit.h"
#include "damo/codegen/program.h"
#include "damo/optimizer/optimize.h"
#include "damo/runtime/thread_pool.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

// The symbol a program runs in row blocks over, or "" when it runs whole.
std::string row_symbol(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                       const std::vector<std::pair<Expr, Expr>>& updates = {}) {
  Program program = lower_to_program(inputs, outputs, updates);
  INFO(program.to_string());
  int symbol = program.spec.row_block_symbol;
  return symbol < 0 ? std::string() : program.spec.symbols[static_cast<std::size_t>(symbol)];
}

Tensor random_weights(const Dims& shape, std::mt19937_64& rng) {
  return random_tensor(DType::Float32, shape, rng, -0.5, 0.5);
}

// A two-layer network's class probabilities and classes for rows x (n, 8).
struct Network {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 8});
  Expr hidden, probabilities, classes;

  explicit Network(std::mt19937_64& rng) {
    Expr w1 = g.shared("w1", random_weights({8, 64}, rng));
    Expr b1 = g.shared("b1", random_weights({64}, rng));
    Expr w2 = g.shared("w2", random_weights({64, 5}, rng));
    hidden = sigmoid(matmul(x, w1) + b1);
    probabilities = softmax(matmul(hidden, w2), 1);
    classes = argmax(probabilities, Axes(1));
  }
};

// Compiles outputs (optimized when asked), checks that a call with `rows` rows runs in
// blocks, and compares its outputs with the reference evaluator's at 1 and 2 threads.
void check_blocked_call(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                        const std::vector<Tensor>& arguments, bool optimized, const std::string& what) {
  INFO(what << (optimized ? ", optimized" : ", not optimized"));
  std::vector<Expr> lowered = outputs;
  if (optimized) {
    OptimizeOptions options;
    options.pipeline_options.read_environment = false;
    lowered = optimize(outputs, options).roots;
  }
  Program program = lower_to_program(inputs, lowered, {});
  INFO(program.to_string());
  REQUIRE(program.spec.row_block_symbol >= 0);
  JitOptions jit;
  jit.use_cache = false;
  CompiledCode code = jit_compile(program, jit);
  Executable executable(program.spec, code.entry, code.owner);
  SymbolSizes sizes = bind_arguments(program.spec.parameters, arguments);

  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) feeds[inputs[i]->name()] = arguments[i];
  std::vector<Tensor> expected = evaluate(outputs, feeds);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::int64_t block = executable.block_rows(sizes);
    CHECK(block > 0);
    CHECK(block % 16 == 0);
    std::vector<Tensor> actual = executable.run(arguments, sizes);
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i)
      check_close(actual[i], expected[i], 1e-4,
                  fmt::format("output {} at {} threads, blocks of {} rows", i, threads, block));
  }
  set_num_threads(0);
}

}  // namespace

TEST_CASE("row blocks: a network's forward pass is row-separable") {
  std::mt19937_64 rng(1);
  Network net(rng);
  CHECK(row_symbol({net.x}, {net.classes}) == "n");
  CHECK(row_symbol({net.x}, {net.probabilities, net.classes}) == "n");
  OptimizeOptions options;
  options.pipeline_options.read_environment = false;
  CHECK(row_symbol({net.x}, optimize({net.classes}, options).roots) == "n");
}

TEST_CASE("row blocks: programs that combine rows run whole") {
  std::mt19937_64 rng(2);
  Network net(rng);
  Graph& g = net.g;
  Expr h = net.hidden;
  // Softmax down the rows, sums over rows, gathered rows.
  CHECK(row_symbol({net.x}, {softmax(h, 0)}).empty());
  CHECK(row_symbol({net.x}, {sum(h, Axes(0))}).empty());
  CHECK(row_symbol({net.x}, {h - mean(h, Axes(0), true)}).empty());
  Expr rows = g.input("rows", DType::Int64, {"n"});
  CHECK(row_symbol({net.x, rows}, {take(h, rows, 0)}).empty());
  // A value scaled by the number of rows reads the whole call's size.
  Expr scaled = h * cast(dim_size(g, "n"), DType::Float32);
  CHECK(row_symbol({net.x}, {scaled}).empty());
  OptimizeOptions options;
  options.pipeline_options.read_environment = false;
  CHECK(row_symbol({net.x}, optimize({scaled}, options).roots).empty());
  // Rows as columns: h^T h is (64, 64).
  CHECK(row_symbol({net.x}, {matmul(transpose(h), h)}).empty());
  // An output without the batch dim, an update, and a program with no row intermediate.
  CHECK(row_symbol({net.x}, {net.classes, sum(net.g.shared("w", random_weights({3}, rng)))}).empty());
  Expr w = g.shared("v", random_weights({8}, rng));
  CHECK(row_symbol({net.x}, {net.classes}, {{w, w * 2}}).empty());
}

TEST_CASE("row blocks: gathers and slices along other axes and embedding lookups are row-wise") {
  Graph g;
  Expr ids = g.input("ids", DType::Int64, {"n"});
  Expr table = g.constant(Tensor::from_list({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, DType::Float32));
  Expr embedded = take(table, ids, 0);
  CHECK(row_symbol({ids}, {sum(exp(embedded) * 2, Axes(1))}) == "n");
  Expr x = g.input("x", DType::Float32, {"n", 6});
  Expr columns = g.constant(Tensor::from_list({5, 0, 2}, DType::Int64));
  CHECK(row_symbol({x}, {sum(exp(take(x, columns, 1)), Axes(1))}) == "n");
  CHECK(row_symbol({x}, {exp(slice(x, 1, 5, 0, -2)) * 3}) == "n");
}

TEST_CASE("row blocks: blocked calls match the reference evaluator") {
  std::mt19937_64 rng(3);
  // 20,011 rows: several blocks at 2 threads and a short last block.
  const std::int64_t n = 20'011;
  {
    Network net(rng);
    Tensor x = random_tensor(DType::Float32, {n, 8}, rng);
    for (bool optimized : {false, true})
      check_blocked_call({net.x}, {net.probabilities, net.classes}, {x}, optimized, "network");
  }
  {
    Graph g;
    Expr x = g.input("x", DType::Float32, {"n", 3, 4});
    Expr w = g.constant(random_weights({4, 40}, rng));
    Expr y = tanh(matmul(x, w));                       // batched product: (n, 3, 40)
    Expr z = concatenate({y, exp(y) * 0.5}, 2);        // (n, 3, 80)
    Expr flat = reshape(z, {Dim("n"), Dim(240)});
    Expr out = log_softmax(flat, 1) + max(flat, Axes(1), true);
    Tensor value = random_tensor(DType::Float32, {n, 3, 4}, rng);
    for (bool optimized : {false, true})
      check_blocked_call({x}, {out, argmin(flat, Axes(1))}, {value}, optimized, "layout");
  }
  {
    Graph g;
    Expr ids = g.input("ids", DType::Int32, {"n"});
    Expr table = g.constant(random_weights({50, 32}, rng));
    Expr embedded = take(table, ids, 0);
    Expr out = sum(square(embedded + one_hot(ids % 32, 32)), Axes(1));
    Tensor value = random_tensor(DType::Int32, {n}, rng);
    for (std::int64_t i = 0; i < n; ++i) value.set_double(i, static_cast<double>(i % 50));
    for (bool optimized : {false, true})
      check_blocked_call({ids}, {out}, {value}, optimized, "embedding");
  }
}

TEST_CASE("row blocks: small calls, direct calls and the NaN guard run whole") {
  std::mt19937_64 rng(4);
  Network net(rng);
  Program program = lower_to_program({net.x}, {net.classes}, {});
  REQUIRE(program.spec.row_block_symbol >= 0);
  Executable executable(program.spec, nullptr, nullptr);
  CHECK(executable.block_rows({{"n", 100}}) == 0);
  CHECK(executable.block_rows({{"n", 0}}) == 0);
  std::int64_t block = executable.block_rows({{"n", 1'000'000}});
  CHECK(block > 0);
  // One block's workspace per thread, far below the whole call's.
  CHECK(executable.workspace_bytes({{"n", 1'000'000}}) <
        static_cast<std::size_t>(num_threads()) * (std::size_t{1} << 20) + 4096);
  // Without a row intermediate nothing would stay in cache.
  Program direct = lower_to_program({net.x}, {net.x * 2}, {});
  REQUIRE(direct.spec.row_block_symbol >= 0);
  CHECK(Executable(direct.spec, nullptr, nullptr).block_rows({{"n", 1'000'000}}) == 0);
  enable_nan_guard(program);
  Executable guarded(program.spec, nullptr, nullptr);
  CHECK(guarded.block_rows({{"n", 1'000'000}}) == 0);
}
