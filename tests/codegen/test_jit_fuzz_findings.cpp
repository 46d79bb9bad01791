// Regression tests for bugs that the JIT differential fuzzer (fuzz/jit_diff) found. Each
// compares compiled code with the reference evaluator on the input that exposed the bug.
#include <limits>

#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

TEST_CASE("fused matmul with a vector on the right") {
  // The bias of matmul(A, v) + b was read at b[0] for every row, and with two vectors the
  // emitter read past the end of a vector and crashed.
  for (bool optimized : {false, true}) {
    INFO((optimized ? "built by the optimizer" : "built by hand"));
    Graph g;
    Expr a = g.input("a", DType::Float32, {"m", 2});
    Expr v = g.input("v", DType::Float32, {2});
    Expr bias = g.input("bias", DType::Float32, {"m"});
    Expr w = g.input("w", DType::Float32, {2});
    Expr s = g.input("s", DType::Float32, {});
    Expr rows = optimized ? matmul(a, v) + bias : fused_matmul(a, v, bias, OpKind::Param);
    Expr dot = optimized ? tanh(matmul(w, v) + s) : fused_matmul(w, v, s, OpKind::Tanh);
    Tensor a_value = Tensor::from_list({{1, 2}, {3, 4}, {5, 6}});
    Tensor v_value = Tensor::from_list({1, 1});
    Tensor bias_value = Tensor::from_list({10, 20, 30});
    Tensor w_value = Tensor::from_list({0.25, -0.5});
    Tensor s_value = Tensor::scalar(DType::Float32, 0.125);
    check_jit_matches_reference({a, v, bias, w, s}, {rows, dot},
                                {a_value, v_value, bias_value, w_value, s_value},
                                "vector fused matmul");
  }
}

TEST_CASE("fused matmul with a vector on the left") {
  Graph g;
  Expr v = g.input("v", DType::Float64, {3});
  Expr b = g.input("b", DType::Float64, {2, 3, 4});
  Expr bias = g.input("bias", DType::Float64, {2, 1});
  std::mt19937_64 rng(7);
  check_jit_matches_reference(
      {v, b, bias}, {fused_matmul(v, b, bias, OpKind::Sigmoid)},
      {random_tensor(DType::Float64, {3}, rng), random_tensor(DType::Float64, {2, 3, 4}, rng),
       random_tensor(DType::Float64, {2, 1}, rng)},
      "vector times a stack of matrices");
}

TEST_CASE("softmax of a line at the float32 limit") {
  // The JIT computed x - (max + log_sum), and max + log(2) rounds to max for max near
  // -3.4e38, so each of two equal entries got 1 instead of 0.5.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Graph g;
    Expr x = g.input("x", dtype, {2, 3});
    double lowest = dtype == DType::Float32 ? std::numeric_limits<float>::lowest()
                                            : std::numeric_limits<double>::lowest();
    Tensor values = Tensor::from_list({{5, -2, lowest}, {5, -2, lowest}}, dtype);
    check_jit_matches_reference({x}, {softmax(x, 0), log_softmax(x, 0), softmax(x, 1)}, {values},
                                "softmax at the limit");
    CompileOptions options;
    options.use_cache = false;
    Tensor out = compile({x}, {softmax(x, 0)}, {}, options)({values})[0];
    CHECK(out.get_double(2) == doctest::Approx(0.5));
  }
}

TEST_CASE("uniform int64 constants keep every bit") {
  // merge_constants rebuilt a uniform constant through double: INT64_MAX became 2^63,
  // which does not convert back (undefined behaviour), and 2^53 + 1 next to 2^53 counted
  // as uniform and became 2^53.
  Graph g;
  Expr x = g.input("x", DType::Int64, {2});
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::int64_t big = (std::int64_t{1} << 53) + 1;
  Expr extremes = g.constant(Tensor::from_vector<std::int64_t>({max, max}, {2}));
  Expr near = g.constant(Tensor::from_vector<std::int64_t>({big, big - 1}, {2}));
  CompileOptions options;
  options.use_cache = false;
  for (Backend backend : {Backend::Jit, Backend::Reference}) {
    options.backend = backend;
    std::vector<Tensor> out = compile({x}, {x + extremes, x + near}, {}, options)(
        {Tensor::from_vector<std::int64_t>({0, 1}, {2})});
    CHECK(out[0].get_int64(0) == max);
    CHECK(out[0].get_int64(1) == std::numeric_limits<std::int64_t>::min());
    CHECK(out[1].get_int64(0) == big);
    CHECK(out[1].get_int64(1) == big);
  }
}
