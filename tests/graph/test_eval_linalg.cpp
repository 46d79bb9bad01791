// Tests of the evaluator's matmul (1-D, 2-D and batched with broadcast batch axes) and
// fused_matmul against float64 references computed with plain loops.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;

namespace {

// NumPy matmul of a and b in float64; dims receives the result shape.
std::vector<double> ref_matmul(const Tensor& a, const Tensor& b, Dims& dims) {
  Dims da = a.shape(), db = b.shape();
  bool vector_a = da.size() == 1, vector_b = db.size() == 1;
  if (vector_a) da.insert(da.begin(), 1);
  if (vector_b) db.push_back(1);
  std::int64_t m = da[da.size() - 2], k = da.back(), n = db.back();
  Dims batch_a(da.begin(), da.end() - 2), batch_b(db.begin(), db.end() - 2);
  Dims batch = test::broadcast_shape(batch_a, batch_b);
  dims = batch;
  if (!vector_a) dims.push_back(m);
  if (!vector_b) dims.push_back(n);

  std::vector<double> out;
  for (std::int64_t t = 0; t < test::numel_of(batch); ++t) {
    Dims index = test::unravel(t, batch);
    std::int64_t base_a = test::broadcast_offset(index, batch_a) * m * k;
    std::int64_t base_b = test::broadcast_offset(index, batch_b) * k * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t p = 0; p < k; ++p)
          sum += a.get_double(base_a + i * k + p) * b.get_double(base_b + p * n + j);
        out.push_back(sum);
      }
  }
  return out;
}

Tensor eval_matmul(const Tensor& a, const Tensor& b) {
  Graph g;
  Expr x = g.input("a", a.dtype(), Shape::from_dims(a.shape()));
  Expr y = g.input("b", b.dtype(), Shape::from_dims(b.shape()));
  return evaluate(matmul(x, y), {{"a", a}, {"b", b}});
}

}  // namespace

TEST_CASE("eval matmul shapes and values") {
  const std::pair<Dims, Dims> cases[] = {
      {{7}, {7}},
      {{3, 7}, {7}},
      {{7}, {7, 5}},
      {{3, 7}, {7, 5}},
      {{2, 3, 7}, {7, 5}},
      {{2, 3, 7}, {2, 7, 5}},
      {{2, 1, 3, 7}, {4, 7, 5}},
      {{7}, {2, 7, 5}},
      {{2, 3, 7}, {7}},
      {{3, 0}, {0, 5}},
      {{0, 7}, {7, 5}},
      {{1, 1}, {1, 1}},
      {{17, 9}, {9, 13}},
  };
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    for (const auto& [da, db] : cases) {
      INFO(dtype_name(dtype), " ", dims_to_string(da), " @ ", dims_to_string(db));
      Tensor a = test::random_tensor(dtype, da, 51, -4, 4);
      Tensor b = test::random_tensor(dtype, db, 52, -4, 4);
      Dims dims;
      std::vector<double> expected = ref_matmul(a, b, dims);
      check_values(eval_matmul(a, b), dtype, dims, expected, {1e-5, 1e-5});
    }
  }
}

TEST_CASE("eval integer matmul wraps") {
  const std::int32_t hi = std::numeric_limits<std::int32_t>::max();
  Tensor a = Tensor::from_vector(std::vector<std::int32_t>{hi, hi}, {1, 2});
  Tensor b = Tensor::from_vector(std::vector<std::int32_t>{2, 1}, {2, 1});
  // 3 * (2**31 - 1) = 2**32 + 2**31 - 3 wraps to 2**31 - 3.
  CHECK(eval_matmul(a, b).data<std::int32_t>()[0] == (1LL << 31) - 3);
}

TEST_CASE("eval fused_matmul with transposes, bias and activation") {
  struct ActivationCase {
    OpKind op;
    double (*ref)(double);
  };
  const ActivationCase activations[] = {
      {OpKind::Param, [](double x) { return x; }},
      {OpKind::Relu, [](double x) { return x > 0 ? x : 0.0; }},
      {OpKind::Sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }},
      {OpKind::Tanh, [](double x) { return std::tanh(x); }},
  };
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor a = test::random_tensor(dtype, {3, 7}, 53);
    Tensor b = test::random_tensor(dtype, {7, 5}, 54);
    Tensor bias = test::random_tensor(dtype, {5}, 55);
    Dims dims;
    std::vector<double> product = ref_matmul(a, b, dims);
    for (bool transpose_a : {false, true}) {
      for (bool transpose_b : {false, true}) {
        for (const ActivationCase& act : activations) {
          for (bool with_bias : {false, true}) {
            INFO(dtype_name(dtype), " ", op_name(act.op), " ta ", transpose_a, " tb ", transpose_b,
                 " bias ", with_bias);
            Graph g;
            // Feed the transposed operand when the op transposes it back.
            Tensor fa = transpose_a ? a.permute({1, 0}) : a;
            Tensor fb = transpose_b ? b.permute({1, 0}) : b;
            Expr ea = g.input("a", dtype, Shape::from_dims(fa.shape()));
            Expr eb = g.input("b", dtype, Shape::from_dims(fb.shape()));
            Expr ec = g.input("c", dtype, Shape{5});
            Expr e =
                fused_matmul(ea, eb, with_bias ? ec : Expr(), act.op, transpose_a, transpose_b);
            std::vector<double> expected;
            for (std::size_t i = 0; i < product.size(); ++i)
              expected.push_back(act.ref(product[i] + (with_bias ? bias.get_double(i % 5) : 0)));
            check_values(evaluate(e, {{"a", fa}, {"b", fb}, {"c", bias}}), dtype, {3, 5}, expected,
                         {1e-5, 1e-5});
          }
        }
      }
    }
  }

  // Batched operands with a transposed right operand.
  Graph g;
  Tensor a = test::random_tensor(DType::Float64, {2, 3, 7}, 56);
  Tensor bt = test::random_tensor(DType::Float64, {2, 5, 7}, 57);
  Tensor b = bt.permute({0, 2, 1});
  Dims dims;
  std::vector<double> expected = ref_matmul(a, b, dims);
  Expr e = fused_matmul(g.input("a", DType::Float64, Shape{2, 3, 7}),
                        g.input("b", DType::Float64, Shape{2, 5, 7}), Expr(), OpKind::Param, false,
                        true);
  check_values(evaluate(e, {{"a", a}, {"b", bt}}), DType::Float64, dims, expected);
}
