// Shapes too large to allocate: Tensor, the evaluator and compiled calls raise an error
// (UserError when the element count overflows int64, RuntimeError when memory runs out)
// instead of aborting. Under AddressSanitizer these need allocator_may_return_null=1,
// which scripts/sanitizer/env.sh sets.
#include <doctest/doctest.h>

#include "damo/frontend/function.h"
#include "damo/graph/eval.h"
#include "damo/graph/ops.h"
#include "reliability_util.h"

using namespace damo;
using damo::reliability::message_of;

namespace {

// 2^45 float32 elements are 2^47 bytes, the whole user address space of x86-64, so the
// allocation fails on every machine, whatever its memory and overcommit setting.
constexpr std::int64_t kHuge = std::int64_t{1} << 45;

}  // namespace

TEST_CASE("tensor too large to allocate") {
  CHECK(message_of<UserError>([] {
          Tensor(DType::Float32, {std::int64_t{1} << 40, std::int64_t{1} << 30});
        }) == "shape (1099511627776, 1073741824) has more elements than fit in int64");
  CHECK(message_of<UserError>([] { Tensor::empty(DType::Float64, {std::int64_t{1} << 62}); }) ==
        "cannot allocate a f64 tensor of shape (4611686018427387904,): too many bytes");
  CHECK(message_of<RuntimeError>([] { Tensor::empty(DType::Float32, {kHuge}); }) ==
        "out of memory: cannot allocate 140737488355328 bytes for a f32 tensor of shape "
        "(35184372088832,)");
  CHECK(message_of<UserError>([] {
          Tensor::empty(DType::Float32, {4, -1});
        }) == "negative dimension -1 in shape (4, -1)");
}

TEST_CASE("evaluate with a result too large to allocate") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", "k"});
  Tensor empty_rows = Tensor::zeros(DType::Float32, {kHuge, 0});
  CHECK(message_of<RuntimeError>([&] {
          evaluate(sum(x, 1), {{"x", empty_rows}});
        }) ==
        "out of memory: cannot allocate 140737488355328 bytes for a f32 tensor of shape "
        "(35184372088832,)");
  CHECK(message_of<RuntimeError>([&] {
          evaluate(broadcast_to(g.scalar(1, DType::Float32), Shape({kHuge})));
        }).starts_with("out of memory: cannot allocate 140737488355328 bytes"));
}

TEST_CASE("compiled call whose sizes make outputs too large") {
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    INFO((backend == Backend::Jit ? "jit" : "reference"));
    Graph g;
    Expr a = g.input("a", DType::Float32, {"n", "k"});
    Expr b = g.input("b", DType::Float32, {"k", "m"});
    CompileOptions options;
    options.backend = backend;
    options.use_cache = false;
    Function product = compile({a, b}, {matmul(a, b)}, {}, options);
    // Inner size 0: the arguments are empty, the (n, m) result is not.
    Tensor tall = Tensor::zeros(DType::Float32, {kHuge, 0});
    Tensor wide = Tensor::zeros(DType::Float32, {0, 4});
    CHECK(message_of<RuntimeError>([&] {
            product({tall, wide});
          }) ==
          "out of memory: cannot allocate 562949953421312 bytes for a f32 tensor of shape "
          "(35184372088832, 4)");
    Tensor overflow = Tensor::zeros(DType::Float32, {0, std::int64_t{1} << 40});
    Tensor rows = Tensor::zeros(DType::Float32, {std::int64_t{1} << 40, 0});
    CHECK(message_of<UserError>([&] {
            product({rows, overflow});
          }) == "shape (1099511627776, 1099511627776) has more elements than fit in int64");
    std::vector<Tensor> fine = product({Tensor::zeros(DType::Float32, {2, 0}), wide});
    CHECK(fine[0].shape() == Dims{2, 4});
    CHECK(fine[0].get_double(7) == 0.0);
  }
}

TEST_CASE("compiled call whose intermediates are too large") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", "k"});
  CompileOptions options;
  options.use_cache = false;
  // sum(x, 1) is an (n,) intermediate in the workspace, which the fused maximum of exp
  // reads; the output is a scalar. A maximum over rows keeps the call whole (a sum over
  // rows would run in row blocks, each with a small workspace).
  Function f = compile({x}, {max(exp(sum(x, 1)))}, {}, options);
  CHECK(message_of<RuntimeError>([&] {
          f({Tensor::zeros(DType::Float32, {kHuge, 0})});
        }) == "out of memory: cannot allocate a workspace of 140737488355328 bytes");
  CHECK(message_of<RuntimeError>([&] {
          f({Tensor::zeros(DType::Float32, {std::int64_t{1} << 61, 0})});
        }) ==
        "out of memory: a f32 intermediate of shape (2305843009213693952,) needs more bytes "
        "than the address space holds");
  CHECK(f({Tensor::zeros(DType::Float32, {3, 0})})[0].item() == 1.0);
}

TEST_CASE("fused kernel over a domain beyond int64") {
  // Four vectors of 2^16 elements broadcast to 2^64 elements, which no buffer holds: the
  // sum fuses into one kernel over that domain, and the call reports it instead of looping
  // over a wrapped count.
  Graph g;
  Expr a = g.input("a", DType::Float32, {"n"});
  Expr b = g.input("b", DType::Float32, {"m"});
  Expr c = g.input("c", DType::Float32, {"k"});
  Expr d = g.input("d", DType::Float32, {"l"});
  Expr outer = reshape(a, {"n", 1, 1, 1}) * reshape(b, {1, "m", 1, 1}) * reshape(c, {1, 1, "k", 1}) * d;
  Function f = compile({a, b, c, d}, {sum(outer)});
  Tensor v = Tensor::zeros(DType::Float32, {std::int64_t{1} << 16});
  CHECK(message_of<UserError>([&] { f({v, v, v, v}); }) ==
        "the sizes bound in this call make a kernel iterate over shape (65536, 65536, 65536, "
        "65536), which has more elements than fit in int64; pass smaller inputs");
  // Small sizes still run: 2 * 3 * 4 * 5 products of ones.
  std::vector<Tensor> small = {Tensor::full(DType::Float32, {2}, 1.0), Tensor::full(DType::Float32, {3}, 1.0),
                               Tensor::full(DType::Float32, {4}, 1.0), Tensor::full(DType::Float32, {5}, 1.0)};
  CHECK(f(small)[0].item() == 120.0);
}
