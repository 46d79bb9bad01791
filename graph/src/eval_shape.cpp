// Shape helpers of the reference evaluator: strides, runtime broadcasting, resolving a
// node's symbolic shape, and reading index tensors.
#include <fmt/format.h>

#include <algorithm>

#include "eval_broadcast.h"

namespace damo::eval {

Dims contiguous_strides(const Dims& dims) {
  Dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i)
    strides[static_cast<std::size_t>(i)] =
        strides[static_cast<std::size_t>(i) + 1] * dims[static_cast<std::size_t>(i) + 1];
  return strides;
}

Dims broadcast_dims(const Dims& a, const Dims& b, OpKind op) {
  std::size_t rank = std::max(a.size(), b.size());
  Dims out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    std::int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    std::int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da != db && da != 1 && db != 1)
      throw UserError(fmt::format("{}: operand shapes {} and {} do not broadcast", op_name(op),
                                  dims_to_string(a), dims_to_string(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  DAMO_ASSERT(in.size() <= out.size(), "broadcast_strides: the operand has a higher rank");
  Dims contiguous = contiguous_strides(in);
  Dims strides(out.size(), 0);
  std::size_t lead = out.size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) {
    DAMO_ASSERT(in[i] == out[lead + i] || in[i] == 1, "broadcast_strides: " + dims_to_string(in) +
                                                          " does not broadcast to " +
                                                          dims_to_string(out));
    strides[lead + i] = in[i] == 1 ? 0 : contiguous[i];
  }
  return strides;
}

Dims resolve_shape(const Node& node, const SymbolSizes& sizes) {
  Dims dims;
  dims.reserve(static_cast<std::size_t>(node.rank()));
  for (const Dim& d : node.shape()) {
    if (d.is_static()) {
      dims.push_back(d.size());
      continue;
    }
    std::optional<std::int64_t> found = symbol_size(sizes, d.symbol());
    if (!found)
      throw UserError(
          fmt::format("{}: the size of symbolic dimension '{}' in its shape {} is "
                      "unknown because no evaluated input has that dimension; "
                      "evaluate it together with an input that does",
                      op_name(node.op()), d.symbol(), node.shape().to_string()));
    dims.push_back(*found);
  }
  return dims;
}

std::int64_t dims_product(const Dims& dims, int begin, int end) {
  std::int64_t product = 1;
  for (int i = begin; i < end; ++i) product *= dims[static_cast<std::size_t>(i)];
  return product;
}

std::vector<std::int64_t> read_indices(const Tensor& indices) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(indices.numel()));
  if (indices.dtype() == DType::Int32) {
    const std::int32_t* in = indices.data<std::int32_t>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = in[i];
  } else {
    DAMO_ASSERT(indices.dtype() == DType::Int64, "indices must be i32 or i64");
    const std::int64_t* in = indices.data<std::int64_t>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = in[i];
  }
  return out;
}

}  // namespace damo::eval
