// Properties of the generated code: vector math, thread-count independence, borrowed
// outputs and the inspection options.
#include "damo/runtime/thread_pool.h"
#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

TEST_CASE("jit vectorizes transcendental loops") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  CompileOptions options;
  options.keep_text = true;
  Function f = compile({x}, {exp(x) + tanh(x) + log1p(x * x)}, {}, options);
  std::string ir = f.llvm_ir(true);
  // libmvec's x86 vector variants are named _ZGV<isa>N<lanes>v_<function>.
  CHECK(ir.find("_ZGV") != std::string::npos);
  // float32 exp is inline code, whose rounding step the vectorizer widens.
  CHECK(ir.find("v_expf") == std::string::npos);
  CHECK(ir.find("x float> @llvm.roundeven") != std::string::npos);
  CHECK(ir.find("v_tanhf") != std::string::npos);
  CHECK(ir.find("v_log1pf") != std::string::npos);
  std::string assembly = f.assembly();
  bool wide_registers = assembly.find("%ymm") != std::string::npos || assembly.find("%zmm") != std::string::npos;
  CHECK(wide_registers);
  CHECK(f.llvm_ir(false).find("define") != std::string::npos);
  CHECK(f.llvm_ir(false).find("_ZGV") == std::string::npos);
}

TEST_CASE("jit reductions keep several vector accumulators") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 4096});
  CompileOptions options;
  options.keep_text = true;
  options.use_cache = false;
  Function f = compile({x}, {max(x, 1)}, {}, options);
  CHECK(f.llvm_ir(false).find("llvm.loop.interleave.count") != std::string::npos);

  // Four vector maxima a step, then three that combine the four accumulators.
  std::string ir = f.llvm_ir(true);
  std::size_t vector_maxima = 0;
  for (std::size_t at = ir.find("float> @llvm.maximum.v"); at != std::string::npos;
       at = ir.find("float> @llvm.maximum.v", at + 1))
    ++vector_maxima;
  CHECK(vector_maxima >= 7);
}

TEST_CASE("jit results do not depend on thread count") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n", 64});
  Expr w = g.input("w", DType::Float32, {64, 32});
  Expr out = softmax(sigmoid(matmul(x, w)) * 3.0);
  std::vector<Expr> outputs = {out, sum(out, 0), sum(x), max(x, 1), argmax(matmul(x, w), 1)};
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x, w}, outputs, {}, options);
  std::mt19937_64 rng(41);
  std::vector<Tensor> args = {random_tensor(DType::Float32, {20000, 64}, rng),
                              random_tensor(DType::Float32, {64, 32}, rng)};
  set_num_threads(1);
  std::vector<Tensor> one = f(args);
  set_num_threads(2);
  std::vector<Tensor> two = f(args);
  set_num_threads(0);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    INFO("output " << i);
    CHECK(one[i].bitwise_equals(two[i]));
  }
}

TEST_CASE("jit vector math results do not depend on thread count") {
  // Vector loops call libmvec and their remainders call libm, whose results can differ
  // in the last bit, so every thread count must put the same elements in remainders.
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Expr t = g.input("t", DType::Float64, {"a", 200, 16});
  Expr u = g.input("u", DType::Float64, {"b", 131, 1024});
  CompileOptions options;
  options.use_cache = false;
  Function f = compile({x, t, u}, {sin(x), exp(x) * 3.0, logsumexp(t, Axes(2)), logsumexp(u, Axes(1))},
                       {}, options);
  std::mt19937_64 rng(42);
  std::vector<Tensor> args = {random_tensor(DType::Float64, {1'600'048}, rng, -50, 50),
                              random_tensor(DType::Float64, {33, 200, 16}, rng, -50, 50),
                              random_tensor(DType::Float64, {7, 131, 1024}, rng, -50, 50)};
  set_num_threads(1);
  std::vector<Tensor> single = f(args);
  for (int threads : {2, 3, 4}) {
    set_num_threads(threads);
    std::vector<Tensor> several = f(args);
    for (std::size_t i = 0; i < single.size(); ++i) {
      INFO("output " << i << " at " << threads << " threads");
      CHECK(single[i].bitwise_equals(several[i]));
    }
  }
  set_num_threads(0);
}

TEST_CASE("jit borrowed outputs are reused") {
  Graph g;
  Expr x = g.input("x", DType::Float64, {"n"});
  Function f = compile({x}, {x * 2.0});
  CallOptions borrow;
  borrow.borrow_outputs = true;
  std::vector<Tensor> first = f.call({Tensor::from_list({1, 2}, DType::Float64)}, borrow);
  const void* storage = first[0].raw_data();
  std::vector<Tensor> second = f.call({Tensor::from_list({5, 6}, DType::Float64)}, borrow);
  CHECK(second[0].raw_data() == storage);
  CHECK(first[0].get_double(0) == 10.0);
  CHECK(second[0].get_double(1) == 12.0);
  std::vector<Tensor> fresh = f({Tensor::from_list({7, 8}, DType::Float64)});
  CHECK(fresh[0].raw_data() != storage);
  CHECK(second[0].get_double(0) == 10.0);
  std::vector<Tensor> resized = f.call({Tensor::from_list({1, 2, 3}, DType::Float64)}, borrow);
  CHECK(resized[0].shape() == Dims{3});
  CHECK(resized[0].get_double(2) == 6.0);
}

TEST_CASE("jit borrowed output passed back as an argument") {
  Graph g;
  Expr m = g.input("m", DType::Float32, {3, 3});
  Function f = compile({m}, {transpose(m)});
  CallOptions borrow;
  borrow.borrow_outputs = true;
  Tensor a = Tensor::from_list({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, DType::Float32);
  Tensor t = f.call({a}, borrow)[0];
  // The borrowed buffer is the argument now, so the output goes to a new buffer.
  Tensor back = f.call({t}, borrow)[0];
  CHECK(back.raw_data() != t.raw_data());
  CHECK(back.bitwise_equals(a));
  CHECK(t.bitwise_equals(evaluate(transpose(m), {{"m", a}})));
  // The next borrowing call with an unrelated argument reuses the new buffer.
  Tensor again = f.call({a}, borrow)[0];
  CHECK(again.raw_data() == back.raw_data());
  CHECK(again.bitwise_equals(t));
}
