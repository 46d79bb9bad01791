// Row blocks: which programs may run on blocks of rows of the batch symbol, and that a call
// run in blocks gives the reference evaluator's values for any thread count.
#include "damo/codegen/jit.h"
#include "damo/codegen/program.h"
#include "damo/graph/autodiff.h"
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
  Expr w1, b1, w2, hidden, probabilities, classes;

  explicit Network(std::mt19937_64& rng) {
    w1 = g.shared("w1", random_weights({8, 64}, rng));
    b1 = g.shared("b1", random_weights({64}, rng));
    w2 = g.shared("w2", random_weights({64, 5}, rng));
    hidden = sigmoid(matmul(x, w1) + b1);
    probabilities = softmax(matmul(hidden, w2), 1);
    classes = argmax(probabilities, Axes(1));
  }
};

// Compiles program with the JIT, without the compile cache.
std::unique_ptr<Executable> compile_executable(const Program& program) {
  JitOptions jit;
  jit.use_cache = false;
  CompiledCode code = jit_compile(program, jit);
  return std::make_unique<Executable>(program.spec, code.entry, code.owner);
}

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
  std::unique_ptr<Executable> compiled = compile_executable(program);
  Executable& executable = *compiled;
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

TEST_CASE("row blocks: forward pass splits") {
  std::mt19937_64 rng(1);
  Network net(rng);
  CHECK(row_symbol({net.x}, {net.classes}) == "n");
  CHECK(row_symbol({net.x}, {net.probabilities, net.classes}) == "n");
  OptimizeOptions options;
  options.pipeline_options.read_environment = false;
  CHECK(row_symbol({net.x}, optimize({net.classes}, options).roots) == "n");
}

TEST_CASE("row blocks: combined rows run whole") {
  std::mt19937_64 rng(2);
  Network net(rng);
  Graph& g = net.g;
  Expr h = net.hidden;
  // Softmax down the rows, a row value that reads a mean over rows, a maximum and a
  // log-sum-exp over rows, gathered rows.
  CHECK(row_symbol({net.x}, {softmax(h, 0)}).empty());
  CHECK(row_symbol({net.x}, {h - mean(h, Axes(0), true)}).empty());
  CHECK(row_symbol({net.x}, {max(h, Axes(0))}).empty());
  CHECK(row_symbol({net.x}, {logsumexp(h, Axes(0))}).empty());
  Expr rows = g.input("rows", DType::Int64, {"n"});
  CHECK(row_symbol({net.x, rows}, {take(h, rows, 0)}).empty());
  // Rows as columns: h^T is (64, n).
  CHECK(row_symbol({net.x}, {matmul(transpose(h), h)}).empty());
  // An integer count of rows cannot be a weighted sum of partial results.
  CHECK(row_symbol({net.x}, {sum(cast(h > 0.5, DType::Int64), Axes(0))}).empty());
}

TEST_CASE("row blocks: sums over rows split") {
  std::mt19937_64 rng(5);
  Network net(rng);
  Graph& g = net.g;
  Expr h = net.hidden;
  CHECK(row_symbol({net.x}, {sum(h, Axes(0))}) == "n");
  CHECK(row_symbol({net.x}, {mean(h, Axes({0, 1}))}) == "n");
  // The number of rows is read by a kernel outside the blocks.
  CHECK(row_symbol({net.x}, {h * cast(dim_size(g, "n"), DType::Float32)}) == "n");
  // A value without rows and an update.
  Expr w = g.shared("v", random_weights({8}, rng));
  CHECK(row_symbol({net.x}, {net.classes, sum(w)}) == "n");
  CHECK(row_symbol({net.x}, {net.classes}, {{w, w * 2}}) == "n");

  // A training step: the loss and gradients sum over rows, the updates read them.
  Expr labels = g.input("y", DType::Int32, {"n"});
  Expr loss = mean(categorical_crossentropy(net.probabilities, labels));
  OptimizeOptions options;
  options.pipeline = PipelineKind::Training;
  options.pipeline_options.read_environment = false;
  std::vector<Expr> roots = {loss, net.w1 - grad(loss, net.w1) * 0.1};
  std::vector<Expr> optimized = optimize(roots, options).roots;
  Program program = lower_to_program({net.x, labels}, {optimized[0]}, {{net.w1, optimized[1]}});
  INFO(program.to_string());
  const ExecutableSpec& spec = program.spec;
  REQUIRE(spec.row_block_symbol == 0);
  CHECK(spec.row_reductions.size() >= 2);  // the loss and w1's gradient
  CHECK(spec.row_kernels_end < static_cast<int>(program.kernels.size()));  // the update
  // Kernels outside the blocks read no row values.
  auto reads_rows = [&](std::size_t k) {
    for (int input : program.kernels[k].inputs)
      for (const ParameterDim& d : spec.slots[static_cast<std::size_t>(input)].dims)
        if (d.symbol == "n") return true;
    return false;
  };
  for (std::size_t k = 0; k < program.kernels.size(); ++k) {
    bool in_blocks = static_cast<int>(k) >= spec.row_kernels_begin && static_cast<int>(k) < spec.row_kernels_end;
    if (!in_blocks) CHECK_FALSE(reads_rows(k));
  }
}

TEST_CASE("row blocks: other-axis gathers split") {
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

TEST_CASE("row blocks: blocked calls match reference") {
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

TEST_CASE("row blocks: when calls run whole") {
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

  // A 512 x 512 weight (1 MiB) exceeds the cache budget: every block would read it again.
  Graph big;
  Expr wide = big.input("x", DType::Float32, {"n", 512});
  Expr weight = big.constant(Tensor::zeros(DType::Float32, {512, 512}));
  Program heavy = lower_to_program({wide}, {sum(sigmoid(matmul(wide, weight)), Axes(1))}, {});
  REQUIRE(heavy.spec.row_block_symbol >= 0);
  CHECK(heavy.spec.row_block_weights.size() == 1);
  Executable heavy_executable(heavy.spec, nullptr, nullptr);
  CHECK(heavy_executable.block_rows({{"n", 1'000'000}}) == 0);
  {
    ForcedRowBlocks forced(100);
    CHECK(heavy_executable.block_rows({{"n", 1'000'000}}) == 100);
  }

  enable_nan_guard(program);
  Executable guarded(program.spec, nullptr, nullptr);
  CHECK(guarded.block_rows({{"n", 1'000'000}}) == 0);
}

TEST_CASE("row blocks: negative forced size rejected") {
  std::string message;
  try {
    set_row_block_rows(-3);
  } catch (const UserError& error) {
    message = error.what();
  }
  CHECK(message == "set_row_block_rows: -3 rows is negative; pass 0 for the automatic block size");
}

TEST_CASE("row blocks: training step matches reference") {
  std::mt19937_64 rng(6);
  const std::int64_t n = 5'003;
  Network net(rng);
  Expr labels = net.g.input("y", DType::Int32, {"n"});
  Expr loss = mean(categorical_crossentropy(net.probabilities, labels));
  std::vector<Expr> weights = {net.w1, net.b1, net.w2};
  std::vector<Expr> gradients = grad(loss, weights);
  std::vector<Expr> outputs = {loss};
  for (std::size_t i = 0; i < weights.size(); ++i) outputs.push_back(weights[i] - gradients[i] * 0.5);
  Tensor x = random_tensor(DType::Float32, {n, 8}, rng);
  Tensor y = random_tensor(DType::Int32, {n}, rng);
  for (std::int64_t i = 0; i < n; ++i) y.set_double(i, static_cast<double>(i % 5));
  // Only the optimizer turns transpose(x) (8, n) times a row value into a product that
  // contracts the rows; unoptimized, the step runs whole.
  check_blocked_call({net.x, labels}, outputs, {x, y}, true, "training step");

  // The same step as updates of the shared variables, at 2 threads.
  Feeds feeds = {{"x", x}, {"y", y}};
  std::vector<Tensor> expected = evaluate(outputs, feeds);
  OptimizeOptions options;
  options.pipeline = PipelineKind::Training;
  options.pipeline_options.read_environment = false;
  std::vector<Expr> step = optimize(outputs, options).roots;
  Program program = lower_to_program({net.x, labels}, {step[0]},
                                     {{net.w1, step[1]}, {net.b1, step[2]}, {net.w2, step[3]}});
  std::unique_ptr<Executable> compiled = compile_executable(program);
  Executable& executable = *compiled;
  set_num_threads(2);
  CHECK(executable.block_rows({{"n", n}}) > 0);
  std::vector<Tensor> result = executable.run({x, y}, {{"n", n}});
  set_num_threads(0);
  check_close(result[0], expected[0], 1e-4, "loss");
  for (std::size_t i = 0; i < weights.size(); ++i)
    check_close(weights[i]->shared()->value(), expected[i + 1], 1e-4, fmt::format("updated weight {}", i));
}

TEST_CASE("row blocks: large sums over many blocks") {
  // A (64, 1024) gradient summed over 70 blocks of 16 rows has more partial sums than a call
  // keeps per block (4,194,304 elements), so each thread adds up a fixed range of blocks.
  std::mt19937_64 rng(8);
  const std::int64_t n = 16 * 70 - 5;
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 64});
  Expr d = g.input("d", DType::Float32, {"n", 1024});
  Expr gradient = matmul(transpose(x), tanh(d));
  Expr total = sum(d, Axes(0));
  Tensor xv = random_tensor(DType::Float32, {n, 64}, rng);
  Tensor dv = random_tensor(DType::Float32, {n, 1024}, rng);
  Feeds feeds = {{"x", xv}, {"d", dv}};
  std::vector<Tensor> expected = evaluate({gradient, total}, feeds);

  OptimizeOptions options;
  options.pipeline_options.read_environment = false;
  std::vector<Expr> lowered = optimize({gradient, total}, options).roots;
  Program program = lower_to_program({x, d}, lowered, {});
  INFO(program.to_string());
  REQUIRE(program.spec.row_block_symbol >= 0);
  std::unique_ptr<Executable> compiled = compile_executable(program);
  Executable& executable = *compiled;
  ForcedRowBlocks forced(16);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    CHECK(executable.block_rows({{"n", n}}) == 16);
    std::vector<Tensor> first = executable.run({xv, dv}, {{"n", n}});
    check_close(first[0], expected[0], 1e-4, fmt::format("gradient at {} threads", threads));
    check_close(first[1], expected[1], 1e-4, fmt::format("sum at {} threads", threads));
    // The partial sums add up in the same order on every call with the same thread count.
    std::vector<Tensor> again = executable.run({xv, dv}, {{"n", n}});
    for (std::size_t i = 0; i < first.size(); ++i)
      CHECK(std::memcmp(first[i].raw_data(), again[i].raw_data(), first[i].nbytes()) == 0);
  }
  set_num_threads(0);
}

TEST_CASE("row blocks: repeated calls give the same sums") {
  // Blocks go to whichever thread is free, but each block keeps its own partial sums, which
  // add up in block order: the same bits on every call.
  std::mt19937_64 rng(9);
  const std::int64_t n = 16 * 40 + 3;
  Network net(rng);
  Expr labels = net.g.input("y", DType::Int32, {"n"});
  Expr loss = mean(categorical_crossentropy(net.probabilities, labels));
  std::vector<Expr> gradients = grad(loss, {net.w1, net.b1, net.w2});
  std::vector<Expr> outputs = {loss, gradients[0], gradients[1], gradients[2]};
  Tensor x = random_tensor(DType::Float32, {n, 8}, rng);
  Tensor y = random_tensor(DType::Int32, {n}, rng);
  for (std::int64_t i = 0; i < n; ++i) y.set_double(i, static_cast<double>(i % 5));
  Feeds feeds = {{"x", x}, {"y", y}};
  std::vector<Tensor> expected = evaluate(outputs, feeds);

  OptimizeOptions options;
  options.pipeline = PipelineKind::Training;
  options.pipeline_options.read_environment = false;
  Program program = lower_to_program({net.x, labels}, optimize(outputs, options).roots, {});
  REQUIRE(program.spec.row_block_symbol >= 0);
  std::unique_ptr<Executable> compiled = compile_executable(program);
  Executable& executable = *compiled;

  ForcedRowBlocks forced(16);
  set_num_threads(2);
  std::vector<Tensor> first = executable.run({x, y}, {{"n", n}});
  for (std::size_t i = 0; i < first.size(); ++i)
    check_close(first[i], expected[i], 1e-4, fmt::format("output {}", i));
  for (int call = 0; call < 20; ++call) {
    std::vector<Tensor> again = executable.run({x, y}, {{"n", n}});
    for (std::size_t i = 0; i < first.size(); ++i)
      CHECK(std::memcmp(first[i].raw_data(), again[i].raw_data(), first[i].nbytes()) == 0);
  }
  set_num_threads(0);
}
