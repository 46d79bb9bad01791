// Kernels of matmul and fused_matmul, following NumPy: a 1-D left operand is a row
// vector, a 1-D right operand a column vector (their unit axis is dropped from the
// result), and leading batch axes broadcast. Products accumulate in the operands' dtype in
// i-k-j order, wrapping for integers.
#include <fmt/format.h>

#include "damo/runtime/stop.h"
#include "eval_broadcast.h"
#include "eval_scalar.h"

namespace damo::eval {

namespace {

Tensor transpose_last_two(const Tensor& x) {
  std::vector<int> perm;
  for (int i = 0; i < x.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose_tensor(x, perm);
}

// c (m x n) += a (m x k) @ b (k x n), all row-major and contiguous. The i-k-j order reads
// b and writes c along rows.
// The call's stop flag is read before each row.
template <class T>
void multiply_block(const T* a, const T* b, T* c, std::int64_t m, std::int64_t k, std::int64_t n) {
  for (std::int64_t i = 0; i < m; ++i) {
    throw_if_stopped();
    T* c_row = c + i * n;
    for (std::int64_t p = 0; p < k; ++p) {
      T a_ip = a[i * k + p];
      const T* b_row = b + p * n;
      for (std::int64_t j = 0; j < n; ++j)
        c_row[j] = add_values(c_row[j], mul_values(a_ip, b_row[j]));
    }
  }
}

}  // namespace

Tensor eval_matmul(const Tensor& left, const Tensor& right, bool transpose_a, bool transpose_b) {
  Tensor a = transpose_a && left.rank() >= 2 ? transpose_last_two(left) : left;
  Tensor b = transpose_b && right.rank() >= 2 ? transpose_last_two(right) : right;
  DAMO_ASSERT(a.dtype() == b.dtype() && a.dtype() != DType::Bool,
              "matmul: the operands must share a numeric dtype");
  DAMO_ASSERT(a.rank() >= 1 && b.rank() >= 1, "matmul: the operands must have rank 1 or more");

  // Shapes as stacks of matrices: (batch..., m, k) and (batch..., k, n).
  Dims da = a.shape();
  Dims db = b.shape();
  bool vector_a = da.size() == 1;
  bool vector_b = db.size() == 1;
  if (vector_a) da.insert(da.begin(), 1);
  if (vector_b) db.push_back(1);
  std::int64_t m = da[da.size() - 2];
  std::int64_t k = da.back();
  std::int64_t n = db.back();
  if (db[db.size() - 2] != k)
    throw UserError(fmt::format("matmul: cannot multiply {} by {}: the inner sizes differ",
                                dims_to_string(a.shape()), dims_to_string(b.shape())));
  Dims batch_a(da.begin(), da.end() - 2);
  Dims batch_b(db.begin(), db.end() - 2);
  Dims batch = broadcast_dims(batch_a, batch_b, OpKind::MatMul);

  Dims dims = batch;
  if (!vector_a) dims.push_back(m);
  if (!vector_b) dims.push_back(n);
  Tensor out = Tensor::zeros(a.dtype(), dims);
  if (out.numel() == 0) return out;

  StridedLoop<2> loop(batch,
                      {broadcast_strides(batch_a, batch), broadcast_strides(batch_b, batch)});
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* pc = out.data<T>();
      loop.for_each_row(
          [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
            for (std::int64_t j = 0; j < count; ++j)
              multiply_block(pa + (offsets[0] + j * strides[0]) * m * k,
                             pb + (offsets[1] + j * strides[1]) * k * n, pc + (start + j) * m * n,
                             m, k, n);
          });
    }
  });
  return out;
}

Tensor eval_fused_matmul(const Node& node, const std::vector<Tensor>& in) {
  Tensor product = eval_matmul(in[0], in[1], node.attr(0) != 0, node.attr(1) != 0);
  if (in.size() > 2) product = eval_binary(OpKind::Add, product, in[2], node.dtype());
  if (node.attrs().sub_op == OpKind::Param) return product;
  return eval_unary(node.attrs().sub_op, product, node.dtype());
}

}  // namespace damo::eval
