// Slices read in place: an elementwise kernel, or a reduction of a slice of step 1, reads
// a slice straight from the slice's operand, so the slice gets no kernel and no buffer of
// its own. These tests check the lowering and, for every layout of a slice that the loops
// handle, the values against the reference evaluator.
#include <algorithm>
#include <optional>

#include "damo/codegen/program.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

namespace {

constexpr std::nullopt_t kAll = std::nullopt;

// The ops of program's kernels, in order, with "copy" for a copy.
std::vector<std::string> kernel_ops(const Program& program) {
  std::vector<std::string> ops;
  for (const Kernel& kernel : program.kernels)
    ops.emplace_back(kernel.copy ? "copy" : op_name(kernel.node->op()));
  return ops;
}

}  // namespace

TEST_CASE("slice views: an elementwise consumer reads the slice in place") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {9});
  Program program = lower_to_program({x}, {slice(x, 0, 1, kAll) - slice(x, 0, kAll, -1)}, {});
  INFO(program.to_string());

  REQUIRE(program.kernels.size() == 1);
  const Kernel& kernel = program.kernels[0];
  CHECK(std::string(op_name(kernel.node->op())) == "sub");
  REQUIRE(kernel.views.size() == 2);
  REQUIRE(kernel.views[0] != nullptr);
  REQUIRE(kernel.views[1] != nullptr);
  CHECK(kernel.views[0]->attr(1) == 1);
  CHECK(kernel.views[1]->attr(2) == 8);
  // Both operands load from the argument's slot.
  CHECK(kernel.inputs[0] == 0);
  CHECK(kernel.inputs[1] == 0);
  CHECK(program.to_string().find("0 sliced on axis 0 1:9:1") != std::string::npos);
}

TEST_CASE("slice views: other consumers get the slice in its own slot, once") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {4, 6});
  Expr s = slice(x, 1, 1, 5);

  // A matrix product and an output need the slice's values in a buffer; the elementwise
  // product reads that buffer all the same.
  Program program = lower_to_program({x}, {matmul(s, s), s * 2.0, s}, {});
  INFO(program.to_string());
  std::vector<std::string> ops = kernel_ops(program);
  CHECK(std::count(ops.begin(), ops.end(), "slice") == 1);
  CHECK(ops.front() == "slice");
  const Kernel* product = nullptr;
  for (const Kernel& kernel : program.kernels)
    if (!kernel.copy && kernel.node->op() == OpKind::Mul) product = &kernel;
  REQUIRE(product != nullptr);
  CHECK(product->views.empty());

  // With only elementwise consumers, there is no slice kernel at all.
  Program alone = lower_to_program({x}, {exp(s) + s}, {});
  INFO(alone.to_string());
  std::vector<std::string> alone_ops = kernel_ops(alone);
  CHECK(std::count(alone_ops.begin(), alone_ops.end(), "slice") == 0);
  CHECK(alone_ops.size() == 2);
}

TEST_CASE("slice views: a reduction reads a slice of step 1 in place") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {4, 6});
  Program program = lower_to_program({x}, {sum(slice(x, 1, 1, 5), Axes(1))}, {});
  INFO(program.to_string());
  REQUIRE(program.kernels.size() == 1);
  REQUIRE(program.kernels[0].views.size() == 1);
  CHECK(program.kernels[0].views[0] != nullptr);
  CHECK(program.kernels[0].inputs[0] == 0);

  // Another step keeps the slice's own kernel.
  Program strided = lower_to_program({x}, {sum(slice(x, 1, 0, kAll, 2), Axes(1))}, {});
  INFO(strided.to_string());
  std::vector<std::string> ops = kernel_ops(strided);
  CHECK(ops == std::vector<std::string>{"slice", "sum"});
}

TEST_CASE("slice views: reductions of slices match the reference") {
  // Every reduction kernel family (per output, accumulated rows in float32 vectors and in
  // double arrays, argmax tiles and vectors, logsumexp) over slices of either axis, in
  // float32 and float64, with operands that broadcast inside a fused reduction.
  std::mt19937_64 rng(17);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Graph g;
    Expr x = g.input("x", dtype, {37, 41});
    Expr t = g.input("t", dtype, {3, 37, 41});
    Expr v = g.input("v", dtype, {41});
    Expr rows = slice(x, 0, 2, -3);       // 32 x 41
    Expr columns = slice(x, 1, 5, kAll);  // 37 x 36
    Expr middle = slice(t, 1, 1, -1);     // 3 x 35 x 41
    Expr narrow = slice(t, 2, 7, 8);      // 3 x 37 x 1
    std::vector<Expr> outputs = {
        sum(rows, Axes(0)),      sum(rows, Axes(1)),      sum(columns, Axes(0)),
        sum(columns, Axes(1)),   mean(middle, Axes(1)),   max(middle, Axes({0, 2})),
        argmax(rows, 0),         argmax(columns, 1),      argmin(middle, 1),
        logsumexp(rows, Axes(0)), logsumexp(columns, Axes(1)), sum(narrow, Axes(0)),
        sum(narrow, Axes(1)),    prod(slice(x, 1, 39, kAll), Axes(1)),
        sum(exp(columns) * slice(v, 0, 5, kAll), Axes(0)),
        sum(square(rows - slice(x, 0, 5, kAll)), Axes(1)),
    };
    std::vector<Tensor> arguments = {random_tensor(dtype, {37, 41}, rng, -1, 1),
                                     random_tensor(dtype, {3, 37, 41}, rng, -1, 1),
                                     random_tensor(dtype, {41}, rng, -1, 1)};
    check_jit_matches_reference({x, t, v}, outputs, arguments, std::string(dtype_name(dtype)));
    // With the optimizer, elementwise ops fuse into the reductions that read the slices.
    Function optimized = compile({x, t, v}, outputs);
    std::vector<Tensor> actual = optimized(arguments);
    Feeds feeds = {{"x", arguments[0]}, {"t", arguments[1]}, {"v", arguments[2]}};
    std::vector<Tensor> expected = evaluate(outputs, feeds);
    for (std::size_t i = 0; i < outputs.size(); ++i)
      check_close(actual[i], expected[i], tolerance_for(expected[i].dtype()),
                  fmt::format("optimized {} output {}", dtype_name(dtype), i));
  }
}

TEST_CASE("slice views: one-dimensional slices match the reference") {
  std::mt19937_64 rng(41);
  Graph g;
  Expr x = g.input("x", DType::Float64, {7});
  Expr i = g.input("i", DType::Int32, {7});
  std::vector<Expr> outputs = {
      slice(x, 0, 1, kAll) - slice(x, 0, kAll, -1),             // neighbour differences
      slice(x, 0, 0, 6, 2) * slice(x, 0, 1, kAll, 2),            // even times odd positions
      slice(x, 0, kAll, kAll, -1) + x,                           // reversed
      slice(x, 0, 5, 0, -2) / 2.0,                               // negative step, odd start
      slice(x, 0, 2, 3) * 3.0 + x,                               // length 1, broadcast
      slice(x, 0, 3, 3) + 1.0,                                   // length 0
      slice(i, 0, 1, kAll) - slice(i, 0, kAll, -1),              // integers
      slice(slice(x, 0, 1, kAll), 0, kAll, kAll, -1) + 1.0,      // a slice of a slice
      slice(exp(x), 0, 1, kAll) - slice(exp(x), 0, kAll, -1),    // a slice of a temporary
  };
  check_jit_matches_reference({x, i}, outputs,
                              {random_tensor(DType::Float64, {7}, rng), random_tensor(DType::Int32, {7}, rng)},
                              "one-dimensional slices");
}

TEST_CASE("slice views: slices of matrices and 3-d tensors match the reference") {
  std::mt19937_64 rng(42);
  Graph g;
  Expr x = g.input("x", DType::Float32, {5, 6});
  Expr v = g.input("v", DType::Float32, {6});
  Expr t = g.input("t", DType::Float64, {3, 4, 5});
  std::vector<Expr> outputs = {
      slice(x, 0, 1, 4) + slice(x, 0, 0, 3),                         // rows
      slice(x, 1, 1, kAll) - slice(x, 1, kAll, -1),                  // columns
      slice(x, 1, kAll, kAll, 2) * slice(x, 1, 1, kAll, 2),          // strided columns
      slice(x, 0, kAll, kAll, -1) * x,                               // rows reversed
      slice(x, 1, 2, 3) * x,                                         // a column, broadcast
      slice(x, 0, 1, 2) + x,                                         // a row, broadcast
      slice(v, 0, kAll, kAll, -1) + x,                               // a vector, broadcast
      slice(reshape(x, {30}), 0, 3, 27, 4) * 2.0,                    // a slice of a reshape
      slice(transpose(x), 0, 1, 5) + 1.0,                            // a slice of a transpose
      slice(t, 1, 1, kAll, 2) * 2.0 + slice(t, 1, 0, 2),             // middle axis, strided
      slice(t, 2, 4, 0, -3) - slice(t, 2, 1, 3),                     // last axis backwards
      slice(t, 0, 2, 3) * t,                                         // first axis broadcast
      slice(t, 0, 1, 2) + slice(t, 2, 0, 1),                         // two broadcast slices
  };
  check_jit_matches_reference({x, v, t}, outputs,
                              {random_tensor(DType::Float32, {5, 6}, rng),
                               random_tensor(DType::Float32, {6}, rng),
                               random_tensor(DType::Float64, {3, 4, 5}, rng)},
                              "matrix slices");
}

TEST_CASE("slice views: symbolic rows run in blocks and match the reference") {
  std::mt19937_64 rng(43);
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 6});
  std::vector<Expr> outputs = {
      slice(x, 1, 1, kAll) * slice(x, 1, kAll, -1),
      slice(x, 1, 5, kAll, -2) + slice(x, 1, 0, 3),
  };
  Program program = lower_to_program({x}, outputs, {});
  INFO(program.to_string());
  CHECK(program.spec.row_block_symbol == 0);
  for (std::int64_t rows : {0, 1, 7}) {
    check_jit_matches_reference({x}, outputs, {random_tensor(DType::Float32, {rows, 6}, rng)},
                                fmt::format("{} rows", rows));
  }
}

TEST_CASE("slice views: the optimizer's fused kernels read slices in place") {
  std::mt19937_64 rng(44);
  Graph g;
  Expr x = g.input("x", DType::Float64, {1001});
  Expr diff = slice(x, 0, 1, kAll) - slice(x, 0, kAll, -1);
  Expr y = diff * 0.5 + exp(slice(x, 0, 1, kAll)) * slice(x, 0, 0, 1000);
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x}, {y}, {}, options);
  INFO(f.optimized_graph());

  Tensor argument = random_tensor(DType::Float64, {1001}, rng);
  Feeds feeds;
  feeds["x"] = argument;
  check_close(f(std::vector<Tensor>{argument}).at(0), evaluate(y, feeds), tolerance_for(DType::Float64),
              "fused slices");
}

TEST_CASE("slice views: a chain of 100,000 slices lowers") {
  // Each slice reads the one below it, so the first consumer that needs the outermost in a
  // buffer gives every slice of the chain its kernel.
  Graph g;
  Expr x = g.input("x", DType::Float32, {100'005});
  Expr s = x;
  for (int i = 0; i < 100'000; ++i) s = slice(s, 0, 1, kAll);
  Program program = lower_to_program({x}, {s}, {});
  CHECK(program.kernels.size() == 100'000);
  CHECK(std::string(op_name(program.kernels.front().node->op())) == "slice");
  CHECK(program.kernels.front().node->shape()[0] == Dim(100'004));
  CHECK(program.kernels.back().node == s.node());

  // Without slices in place, as under the NaN guard, no kernel reads a view.
  Program whole = lower_to_program({x}, {slice(x, 0, 1, kAll) * 2.0}, {}, false);
  REQUIRE(whole.kernels.size() == 2);
  CHECK(whole.kernels[1].views.empty());
}
