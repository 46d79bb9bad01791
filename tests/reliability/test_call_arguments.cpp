// Bad arguments to compiled functions and bad feeds to the evaluator: each row is one
// mistake with the message that reports it, on both backends.
#include <doctest/doctest.h>

#include "damo/frontend/function.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "reliability_util.h"

using namespace damo;
using damo::reliability::message_of;

namespace {

struct BadCall {
  const char* mistake;
  std::vector<Tensor> arguments;
  const char* message;
};

Tensor f32(Dims shape) { return Tensor::zeros(DType::Float32, std::move(shape)); }

}  // namespace

TEST_CASE("bad call arguments raise UserError on both backends") {
  const BadCall rows[] = {
      {"no arguments", {}, "the function takes 2 arguments (X, w) but was called with 0"},
      {"one argument too many",
       {f32({2, 3}), f32({3}), f32({3})},
       "the function takes 2 arguments (X, w) but was called with 3"},
      {"undefined tensor", {Tensor(), f32({3})}, "argument 1 ('X') is an undefined tensor"},
      {"wrong dtype",
       {Tensor::zeros(DType::Int32, {2, 3}), f32({3})},
       "argument 1 ('X') expects f32 (n, 3) but got i32 (2, 3): the dtype must be f32; convert "
       "with Tensor::cast"},
      {"wrong rank",
       {f32({2, 3}), f32({3, 1})},
       "argument 2 ('w') expects f32 (3,) but got f32 (3, 1): the rank must be 1"},
      {"scalar for a vector",
       {f32({2, 3}), f32({})},
       "argument 2 ('w') expects f32 (3,) but got f32 (): the rank must be 1"},
      {"wrong static size",
       {f32({2, 4}), f32({3})},
       "argument 1 ('X') expects f32 (n, 3) but got f32 (2, 4): axis 1 must be 3"},
  };
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    Graph g;
    Expr x = g.input("X", DType::Float32, {"n", 3});
    Expr w = g.input("w", DType::Float32, {3});
    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    Function f = compile({x, w}, {matmul(x, w)}, {}, options);
    for (const BadCall& row : rows) {
      INFO((backend == Backend::Jit ? "jit: " : "reference: ") << row.mistake);
      CHECK(message_of<UserError>([&] { f(row.arguments); }) == row.message);
    }
    CHECK(f({f32({0, 3}), f32({3})})[0].shape() == Dims{0});
  }
}

TEST_CASE("inconsistent symbolic dims raise UserError") {
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    INFO((backend == Backend::Jit ? "jit" : "reference"));
    Graph g;
    Expr a = g.input("a", DType::Float64, {"n", "k"});
    Expr b = g.input("b", DType::Float64, {"k", "m"});
    Expr c = g.input("c", DType::Float64, {"n", "m"});
    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    Function f = compile({a, b, c}, {matmul(a, b) + c}, {}, options);
    auto f64 = [](Dims shape) { return Tensor::zeros(DType::Float64, std::move(shape)); };
    CHECK(message_of<UserError>([&] {
            f({f64({2, 3}), f64({4, 5}), f64({2, 5})});
          }) ==
          "argument 2 ('b') expects f64 (k, m) but got f64 (4, 5): symbolic dimension 'k' is 4 "
          "at axis 0 but 3 in argument 1 ('a')");
    CHECK(message_of<UserError>([&] {
            f({f64({2, 3}), f64({3, 5}), f64({5, 2})});
          }) ==
          "argument 3 ('c') expects f64 (n, m) but got f64 (5, 2): symbolic dimension 'n' is 5 "
          "at axis 0 but 2 in argument 1 ('a')");
    std::vector<Tensor> out = f({f64({2, 3}), f64({3, 5}), f64({2, 5})});
    CHECK(out[0].shape() == Dims{2, 5});
    // A symbol used twice by one argument names the other axis.
    Expr square_input = g.input("s", DType::Float64, {"n", "n"});
    Function trace = compile({square_input}, {sum(square_input)}, {}, options);
    CHECK(message_of<UserError>([&] { trace({f64({2, 3})}); }) ==
          "argument 1 ('s') expects f64 (n, n) but got f64 (2, 3): symbolic dimension 'n' is 3 at "
          "axis 1 but 2 at axis 0 of this argument");
  }
}

TEST_CASE("bad evaluator feeds raise UserError") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Expr y = g.input("y", DType::Float32, {"n"});
  Expr total = sum(x * y);
  CHECK(message_of<UserError>([&] {
          evaluate(total, {{"x", f32({3})}});
        }) == "input 'y' (f32 (n,)) has no value; add a feed named 'y'");
  CHECK(message_of<UserError>([&] {
          evaluate(total, {{"x", f32({3})}, {"y", f32({3})}, {"z", f32({3})}});
        }) ==
        "feed 'z' does not name an input of the graph; the evaluated expressions have "
        "inputs 'x', 'y'");
  CHECK(message_of<UserError>([&] {
          evaluate(total, {{"x", f32({3})}, {"y", Tensor::zeros(DType::Float64, {3})}});
        }) ==
        "input 'y' expects f32 (n,) but the value is f64 (3,): the dtype must be f32; cast "
        "the value first");
  CHECK(message_of<UserError>([&] {
          evaluate(total, {{"x", f32({3})}, {"y", f32({4})}});
        }) ==
        "input 'y' expects f32 (n,) but the value is f32 (4,): axis 0 must be 3 because the "
        "symbolic dimension 'n' is 3 in input 'x' (axis 0)");
}

TEST_CASE("compile rejects a symbol no input binds") {
  // Found by the JIT differential fuzzer: the JIT raised an internal error for this graph.
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    INFO((backend == Backend::Jit ? "jit" : "reference"));
    Graph g;
    Expr x = g.input("x", DType::Float32, {2, 3});
    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    CHECK(message_of<UserError>([&] { compile({x}, {broadcast_to(x, {"n", 2, 3})}, {}, options); }) ==
          "compile: broadcast_to f32 (n, 2, 3) uses symbolic dimension 'n', which no input has, "
          "so no call can give its size; add an input with that dimension or use a static size");
  }
}
