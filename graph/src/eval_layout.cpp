// Kernels of the layout ops: transpose, reshape, expand_dims, squeeze, broadcast_to,
// concatenate, slice, take, take_along_axis and one_hot, which move elements as raw bytes,
// so one kernel serves every dtype; and random_uniform, which creates them.
#include <fmt/format.h>

#include <cstring>

#include "damo/runtime/philox.h"
#include "eval_broadcast.h"

namespace damo::eval {

namespace {

// Copies rows of a strided loop, moving elements of Size bytes; memcpy of a constant size
// compiles to one load and one store.
template <std::size_t Size>
void copy_rows(const unsigned char* in, unsigned char* out, const StridedLoop<1>& loop) {
  loop.for_each_row(
      [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
        for (std::int64_t j = 0; j < count; ++j)
          std::memcpy(out + (start + j) * Size, in + (offsets[0] + j * strides[0]) * Size, Size);
      });
}

// Operand as bytes, with the element size, for the byte-moving kernels.
const unsigned char* bytes_of(const Tensor& t) {
  return static_cast<const unsigned char*>(t.raw_data());
}

unsigned char* bytes_of(Tensor& t) { return static_cast<unsigned char*>(t.raw_data()); }

}  // namespace

Tensor copy_strided(const Tensor& x, const Dims& out_dims, const Dims& in_strides) {
  Tensor out = Tensor::empty(x.dtype(), out_dims);
  StridedLoop<1> loop(out_dims, {in_strides});
  switch (dtype_size(x.dtype())) {
  case 1: copy_rows<1>(bytes_of(x), bytes_of(out), loop); break;
  case 4: copy_rows<4>(bytes_of(x), bytes_of(out), loop); break;
  case 8: copy_rows<8>(bytes_of(x), bytes_of(out), loop); break;
  default: fail_internal("copy_strided", "unexpected element size");
  }
  return out;
}

Tensor transpose_tensor(const Tensor& x, const std::vector<int>& perm) {
  Dims contiguous = contiguous_strides(x.shape());
  Dims dims;
  Dims strides;
  for (int axis : perm) {
    dims.push_back(x.dim(axis));
    strides.push_back(contiguous[static_cast<std::size_t>(axis)]);
  }
  return copy_strided(x, dims, strides);
}

Tensor broadcast_tensor(const Tensor& x, const Dims& dims) {
  return copy_strided(x, dims, broadcast_strides(x.shape(), dims));
}

namespace {

Tensor concatenate(const std::vector<Tensor>& parts, int axis) {
  Dims dims = parts[0].shape();
  dims[static_cast<std::size_t>(axis)] = 0;
  for (const Tensor& part : parts) {
    DAMO_ASSERT(part.dtype() == parts[0].dtype(), "concatenate: operands must share a dtype");
    dims[static_cast<std::size_t>(axis)] += part.dim(axis);
  }
  Tensor out = Tensor::empty(parts[0].dtype(), dims);
  std::size_t element = dtype_size(out.dtype());
  std::int64_t outer = dims_product(dims, 0, axis);

  // Each outer index takes a contiguous chunk of every part in turn.
  unsigned char* dest = bytes_of(out);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const Tensor& part : parts) {
      std::size_t chunk = static_cast<std::size_t>(part.numel() / outer) * element;
      std::memcpy(dest, bytes_of(part) + static_cast<std::size_t>(o) * chunk, chunk);
      dest += chunk;
    }
  }
  return out;
}

Tensor slice(const Tensor& x, const std::vector<std::int64_t>& attrs) {
  int axis = static_cast<int>(attrs[0]);
  std::int64_t start = attrs[1];
  std::int64_t step = attrs[3];
  std::int64_t length = slice_length(attrs, x.dim(axis));
  Dims dims = x.shape();
  dims[static_cast<std::size_t>(axis)] = length;
  Tensor out = Tensor::empty(x.dtype(), dims);

  std::int64_t outer = dims_product(dims, 0, axis);
  std::int64_t size = x.dim(axis);
  std::size_t row =
      static_cast<std::size_t>(dims_product(dims, axis + 1, x.rank())) * dtype_size(x.dtype());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < length; ++i)
      std::memcpy(bytes_of(out) + static_cast<std::size_t>(o * length + i) * row,
                  bytes_of(x) + static_cast<std::size_t>(o * size + start + i * step) * row, row);
  return out;
}

Tensor take(const Tensor& x, const Tensor& indices, int axis) {
  Dims dims(x.shape().begin(), x.shape().begin() + axis);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), x.shape().begin() + axis + 1, x.shape().end());
  std::int64_t size = x.dim(axis);
  // Nothing can be taken from an empty axis; every result element is then 0.
  if (size == 0) return Tensor::zeros(x.dtype(), dims);

  Tensor out = Tensor::empty(x.dtype(), dims);
  std::vector<std::int64_t> index = read_indices(indices);
  std::int64_t outer = dims_product(x.shape(), 0, axis);
  std::size_t row =
      static_cast<std::size_t>(dims_product(x.shape(), axis + 1, x.rank())) * dtype_size(x.dtype());
  auto count = static_cast<std::int64_t>(index.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t j = 0; j < count; ++j) {
      std::int64_t source = o * size + clamp_index(index[static_cast<std::size_t>(j)], size);
      std::memcpy(bytes_of(out) + static_cast<std::size_t>(o * count + j) * row,
                  bytes_of(x) + static_cast<std::size_t>(source) * row, row);
    }
  return out;
}

template <std::size_t Size>
void take_along_rows(const Tensor& x, const std::vector<std::int64_t>& index, Tensor& out,
                     const StridedLoop<2>& loop, std::int64_t size, std::int64_t axis_stride) {
  const unsigned char* in = bytes_of(x);
  unsigned char* dest = bytes_of(out);
  loop.for_each_row(
      [&](std::int64_t start, const auto& offsets, std::int64_t count, const auto& strides) {
        for (std::int64_t j = 0; j < count; ++j) {
          std::int64_t i =
              clamp_index(index[static_cast<std::size_t>(offsets[1] + j * strides[1])], size);
          std::int64_t source = offsets[0] + j * strides[0] + i * axis_stride;
          std::memcpy(dest + (start + j) * Size, in + source * Size, Size);
        }
      });
}

Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis) {
  DAMO_ASSERT(x.rank() == indices.rank(), "take_along_axis: ranks differ");
  auto a = static_cast<std::size_t>(axis);
  // The axis takes the indices' size; the other axes broadcast.
  Dims x_outside = x.shape();
  Dims indices_outside = indices.shape();
  x_outside[a] = 1;
  indices_outside[a] = 1;
  Dims dims = broadcast_dims(x_outside, indices_outside, OpKind::TakeAlongAxis);
  dims[a] = indices.dim(axis);
  std::int64_t size = x.dim(axis);
  if (size == 0) return Tensor::zeros(x.dtype(), dims);

  // x is read at the broadcast position of the non-axis dims plus index * its axis stride.
  Dims x_strides(dims.size(), 0);
  Dims contiguous = contiguous_strides(x.shape());
  for (std::size_t d = 0; d < dims.size(); ++d)
    x_strides[d] = (d == a || x.shape()[d] == 1) ? 0 : contiguous[d];
  Dims index_strides = broadcast_strides(indices.shape(), dims);

  Tensor out = Tensor::empty(x.dtype(), dims);
  std::vector<std::int64_t> index = read_indices(indices);
  StridedLoop<2> loop(dims, {x_strides, index_strides});
  switch (dtype_size(x.dtype())) {
  case 1: take_along_rows<1>(x, index, out, loop, size, contiguous[a]); break;
  case 4: take_along_rows<4>(x, index, out, loop, size, contiguous[a]); break;
  case 8: take_along_rows<8>(x, index, out, loop, size, contiguous[a]); break;
  default: fail_internal("take_along_axis", "unexpected element size");
  }
  return out;
}

Tensor one_hot(const Tensor& indices, std::int64_t depth, DType dtype) {
  Dims dims = indices.shape();
  dims.push_back(depth);
  Tensor out = Tensor::zeros(dtype, dims);
  std::vector<std::int64_t> index = read_indices(indices);
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* o = out.data<T>();
    for (std::size_t i = 0; i < index.size(); ++i)
      if (index[i] >= 0 && index[i] < depth)
        o[static_cast<std::int64_t>(i) * depth + index[i]] = static_cast<T>(1);
  });
  return out;
}

// Element i is philox::float_element or philox::double_element of i, computed one block
// at a time.
Tensor random_uniform(const Tensor& key, const Dims& dims, DType dtype, std::int64_t stream) {
  Tensor out = Tensor::empty(dtype, dims);
  auto seed = static_cast<std::uint64_t>(read_indices(key).at(0));
  auto lane = static_cast<std::uint32_t>(stream);
  auto count = static_cast<std::uint64_t>(out.numel());
  bool single = dtype == DType::Float32;
  std::uint64_t per_block = single ? philox::kFloatsPerBlock : philox::kDoublesPerBlock;
  for (std::uint64_t first = 0; first < count; first += per_block) {
    philox::Block block = philox::counter_block(seed, first / per_block, lane);
    for (std::uint64_t i = first; i < std::min(count, first + per_block); ++i) {
      std::size_t word = i - first;
      if (single) out.data<float>()[i] = philox::uniform_float(block[word]);
      else out.data<double>()[i] = philox::uniform_double(block[2 * word], block[2 * word + 1]);
    }
  }
  return out;
}

Tensor squeeze(const Tensor& x, const std::vector<std::int64_t>& axes) {
  Dims dims;
  std::size_t next = 0;
  for (int i = 0; i < x.rank(); ++i) {
    if (next < axes.size() && axes[next] == i) {
      DAMO_ASSERT(x.dim(i) == 1, "squeeze: a squeezed axis has a size other than 1");
      ++next;
      continue;
    }
    dims.push_back(x.dim(i));
  }
  return x.clone().reshape(dims);
}

}  // namespace

Tensor eval_layout(const Node& node, const std::vector<Tensor>& in, const SymbolSizes& sizes) {
  const std::vector<std::int64_t>& ints = node.attrs().ints;
  switch (node.op()) {
  case OpKind::Transpose: {
    std::vector<int> perm(ints.begin(), ints.end());
    return transpose_tensor(in[0], perm);
  }
  case OpKind::Reshape: return in[0].clone().reshape(resolve_shape(node, sizes));
  case OpKind::ExpandDims: {
    Dims dims = in[0].shape();
    dims.insert(dims.begin() + ints[0], 1);
    return in[0].clone().reshape(dims);
  }
  case OpKind::Squeeze: return squeeze(in[0], ints);
  case OpKind::BroadcastTo: return broadcast_tensor(in[0], resolve_shape(node, sizes));
  case OpKind::Concatenate: return concatenate(in, static_cast<int>(ints[0]));
  case OpKind::Slice: return slice(in[0], ints);
  case OpKind::Take: return take(in[0], in[1], static_cast<int>(ints[0]));
  case OpKind::TakeAlongAxis: return take_along_axis(in[0], in[1], static_cast<int>(ints[0]));
  case OpKind::OneHot: return one_hot(in[0], ints[0], node.attrs().dtype);
  case OpKind::RandomUniform: return random_uniform(in[0], resolve_shape(node, sizes), node.dtype(), ints[0]);
  default: break;
  }
  fail_internal("eval_layout", fmt::format("{} is not a layout op", op_name(node.op())));
}

}  // namespace damo::eval
