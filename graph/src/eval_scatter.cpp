// Kernels of the scatter ops that autodiff introduces as gradients of the gathers:
// slice_scatter (of slice), index_add (of take) and scatter_add_along_axis (of
// take_along_axis). Each starts from zeros of the node's shape. Additions run in the
// order of the source elements, wrapping for integers.
#include <fmt/format.h>

#include <cstring>

#include "eval_broadcast.h"
#include "eval_scalar.h"

namespace damo::eval {

namespace {

Tensor slice_scatter(const Tensor& src, const Dims& dims, const std::vector<std::int64_t>& ints) {
  int axis = static_cast<int>(ints[0]);
  std::int64_t start = ints[1];
  std::int64_t step = ints[3];
  std::int64_t length = slice_length(ints, dims[static_cast<std::size_t>(axis)]);
  DAMO_ASSERT(src.rank() == static_cast<int>(dims.size()) && src.dim(axis) == length,
              "slice_scatter: the source does not have the slice's shape");

  Tensor out = Tensor::zeros(src.dtype(), dims);
  std::int64_t outer = dims_product(dims, 0, axis);
  std::int64_t size = dims[static_cast<std::size_t>(axis)];
  std::size_t row =
      static_cast<std::size_t>(dims_product(dims, axis + 1, src.rank())) * dtype_size(src.dtype());
  auto* dest = static_cast<unsigned char*>(out.raw_data());
  const auto* source = static_cast<const unsigned char*>(src.raw_data());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < length; ++i)
      std::memcpy(dest + static_cast<std::size_t>(o * size + start + i * step) * row,
                  source + static_cast<std::size_t>(o * length + i) * row, row);
  return out;
}

Tensor index_add(const Tensor& src, const Tensor& indices, const Dims& dims, int axis) {
  Tensor out = Tensor::zeros(src.dtype(), dims);
  std::int64_t size = dims[static_cast<std::size_t>(axis)];
  if (out.numel() == 0 || src.numel() == 0) return out;

  std::vector<std::int64_t> index = read_indices(indices);
  auto count = static_cast<std::int64_t>(index.size());
  std::int64_t outer = dims_product(dims, 0, axis);
  std::int64_t inner = dims_product(dims, axis + 1, static_cast<int>(dims.size()));
  DAMO_ASSERT(src.numel() == outer * count * inner, "index_add: the source size is wrong");
  visit_dtype(src.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* o = out.data<T>();
    const T* s = src.data<T>();
    for (std::int64_t b = 0; b < outer; ++b)
      for (std::int64_t j = 0; j < count; ++j) {
        T* target = o + (b * size + clamp_index(index[static_cast<std::size_t>(j)], size)) * inner;
        const T* from = s + (b * count + j) * inner;
        for (std::int64_t k = 0; k < inner; ++k) target[k] = add_values(target[k], from[k]);
      }
  });
  return out;
}

Tensor scatter_add_along_axis(const Tensor& src, const Tensor& indices, const Dims& dims,
                              int axis) {
  Tensor out = Tensor::zeros(src.dtype(), dims);
  auto a = static_cast<std::size_t>(axis);
  std::int64_t size = dims[a];
  if (out.numel() == 0 || src.numel() == 0) return out;

  // The walk follows src. A result axis of size 1 that src stretches collects the sum over
  // that axis, and the position along axis comes from the index.
  Dims contiguous = contiguous_strides(dims);
  Dims out_strides(dims.size(), 0);
  for (std::size_t d = 0; d < dims.size(); ++d)
    out_strides[d] = (d == a || dims[d] == 1) ? 0 : contiguous[d];
  Dims index_strides = broadcast_strides(indices.shape(), src.shape());
  std::vector<std::int64_t> index = read_indices(indices);
  StridedLoop<2> loop(src.shape(), {out_strides, index_strides});

  visit_dtype(src.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* o = out.data<T>();
    const T* s = src.data<T>();
    loop.for_each_row(
        [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
          for (std::int64_t j = 0; j < count; ++j) {
            std::int64_t i = index[static_cast<std::size_t>(offsets[1] + j * strides[1])];
            T& target = o[offsets[0] + j * strides[0] + clamp_index(i, size) * contiguous[a]];
            target = add_values(target, s[start + j]);
          }
        });
  });
  return out;
}

}  // namespace

Tensor eval_scatter(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes) {
  Dims dims = resolve_shape(node, sizes);
  int axis = static_cast<int>(node.attr(0));
  switch (node.op()) {
  case OpKind::SliceScatter: return slice_scatter(in[0], dims, node.attrs().ints);
  case OpKind::IndexAdd: return index_add(in[0], in[1], dims, axis);
  case OpKind::ScatterAddAlongAxis: return scatter_add_along_axis(in[0], in[1], dims, axis);
  default: break;
  }
  fail_internal("eval_scatter", fmt::format("{} is not a scatter op", op_name(node.op())));
}

}  // namespace damo::eval
