// Factories of the scatters that autodiff introduces as gradients of the gathers:
// slice_scatter (of slice), index_add (of take) and scatter_add_along_axis (of
// take_along_axis). The kernels of the evaluator and the JIT write to the positions these
// nodes describe without further checks, so each factory checks that the source, the
// indices and the target shape fit together, and throws UserError when they do not.
#include <fmt/format.h>

#include "op_builder.h"

namespace damo {

using detail::check_operands;
using detail::describe;
using detail::make_node;

namespace {

// Throws UserError when a static dimension of the target shape is negative.
void check_target_shape(const std::string& op, const Shape& shape) {
  for (const Dim& d : shape)
    if (d.is_static() && d.size() < 0)
      throw UserError(
          fmt::format("{}: the target shape {} has a negative dimension", op, shape.to_string()));
}

// Throws UserError unless src and the target shape have the same rank and the same
// dimensions on every axis except axis.
void check_other_axes(const std::string& op, const Expr& src, const Shape& shape, int axis) {
  if (src.rank() != shape.rank())
    throw UserError(fmt::format("{}: the source {} must have the rank of the target shape {}", op,
                                describe(src), shape.to_string()));
  for (int i = 0; i < shape.rank(); ++i)
    if (i != axis && src.shape()[i] != shape[i])
      throw UserError(fmt::format("{}: axis {} of the source {} must match the target shape {}", op,
                                  i, describe(src), shape.to_string()));
}

// Number of elements of start:stop:step for bounds normalized as slice() stores them: in
// range, with stop == -1 meaning "before index 0" when step is negative. The arithmetic is
// 128-bit because the factory accepts any int64 bounds and step, including INT64_MIN.
__int128 normalized_slice_length(std::int64_t start, std::int64_t stop, std::int64_t step) {
  __int128 span = step > 0 ? static_cast<__int128>(stop) - start
                           : static_cast<__int128>(start) - stop;
  __int128 stride = step > 0 ? static_cast<__int128>(step) : -static_cast<__int128>(step);
  return span > 0 ? (span + stride - 1) / stride : 0;
}

void check_index_dtype(const std::string& op, const Expr& indices) {
  if (!is_integer(indices.dtype()))
    throw UserError(fmt::format("{}: indices must be i32 or i64, not {}", op, describe(indices)));
}

}  // namespace

Expr slice_scatter(Expr src, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                   std::int64_t step) {
  const std::string op = "slice_scatter";
  check_operands(op, {src});
  check_target_shape(op, shape);
  int normalized = normalize_axis(axis, shape.rank(), op);
  check_other_axes(op, src, shape, normalized);
  if (step == 0) throw UserError("slice_scatter: step must not be zero");
  const Dim& size = shape[normalized];
  const Dim& written = src.shape()[normalized];
  if (size.is_symbolic() && step == 1) return detail::slice_scatter_from_end(src, shape, normalized, start, stop);
  if (size.is_symbolic() || written.is_symbolic())
    throw UserError(
        fmt::format("slice_scatter: axis {} of the source {} and of the target shape "
                    "{} must be static, or the target's symbolic with step 1",
                    normalized, describe(src), shape.to_string()));

  // Every position start + i * step, for i below the source's length, must lie in the axis.
  // With start inside the axis, (length - 1) * step is below 2^65 in magnitude, so the
  // 128-bit product cannot overflow.
  __int128 length = normalized_slice_length(start, stop, step);
  bool in_range = length == 0;
  if (length > 0 && start >= 0 && start < size.size()) {
    __int128 last = start + (length - 1) * step;
    in_range = last >= 0 && last < size.size();
  }
  if (!in_range)
    throw UserError(
        fmt::format("slice_scatter: the slice {}:{}:{} reaches outside axis {} of "
                    "size {}; pass the normalized bounds that slice() stores",
                    start, stop, step, normalized, size.size()));
  if (length != written.size())
    throw UserError(
        fmt::format("slice_scatter: the slice {}:{}:{} selects {} elements of axis "
                    "{}, but the source {} has {}",
                    start, stop, step, static_cast<std::int64_t>(length), normalized, describe(src),
                    written.size()));

  Attrs attrs;
  attrs.ints = {normalized, start, stop, step};
  return make_node(OpKind::SliceScatter, src.dtype(), shape, {src}, attrs);
}

namespace detail {

Expr slice_scatter_from_end(Expr src, const Shape& shape, int axis, std::int64_t start,
                            std::int64_t stop) {
  const std::string op = "slice_scatter";
  check_operands(op, {src});
  int normalized = normalize_axis(axis, shape.rank(), op);
  check_other_axes(op, src, shape, normalized);
  const Dim& size = shape[normalized];
  if (!size.is_symbolic() || start < 0 || stop > 0 || start > INT64_MAX + stop ||
      src.shape()[normalized] != size.minus(start - stop))
    throw UserError(fmt::format("slice_scatter: the source {} is not the slice {}:{} of axis {} "
                                "of the target shape {}; on a symbolic axis the start is 0 or more, "
                                "the stop 0 or below (counted from the end) and the source has the "
                                "slice's size",
                                describe(src), start, stop, normalized, shape.to_string()));
  Attrs attrs;
  attrs.ints = {normalized, start, stop, 1, 1};
  return make_node(OpKind::SliceScatter, src.dtype(), shape, {src}, attrs);
}

}  // namespace detail

Expr index_add(Expr src, Expr indices, const Shape& shape, int axis) {
  const std::string op = "index_add";
  check_operands(op, {src, indices});
  check_index_dtype(op, indices);
  check_target_shape(op, shape);
  int normalized = normalize_axis(axis, shape.rank(), op);

  // The source has take()'s result shape: shape[:axis] + indices.shape + shape[axis + 1:].
  std::vector<Dim> expected(shape.begin(), shape.begin() + normalized);
  expected.insert(expected.end(), indices.shape().begin(), indices.shape().end());
  expected.insert(expected.end(), shape.begin() + normalized + 1, shape.end());
  if (src.shape() != Shape(expected))
    throw UserError(
        fmt::format("index_add: the source {} must have the shape {}: the target "
                    "shape {} with axis {} replaced by the indices' shape {}",
                    describe(src), Shape(expected).to_string(), shape.to_string(), normalized,
                    indices.shape().to_string()));

  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::IndexAdd, src.dtype(), shape, {src, indices}, attrs);
}

Expr scatter_add_along_axis(Expr src, Expr indices, const Shape& shape, int axis) {
  const std::string op = "scatter_add_along_axis";
  check_operands(op, {src, indices});
  check_index_dtype(op, indices);
  check_target_shape(op, shape);
  int normalized = normalize_axis(axis, shape.rank(), op);
  if (src.rank() != shape.rank() || indices.rank() != shape.rank())
    throw UserError(
        fmt::format("scatter_add_along_axis: the source {} and the indices {} must "
                    "have the rank of the target shape {}",
                    describe(src), describe(indices), shape.to_string()));

  // The kernels walk the source. Each index dimension equals the source's or is a static 1
  // that stretches, and so is each target dimension off the axis.
  for (int i = 0; i < shape.rank(); ++i) {
    const Dim& source = src.shape()[i];
    if (indices.shape()[i] != source && indices.shape()[i] != Dim(1))
      throw UserError(
          fmt::format("scatter_add_along_axis: the indices {} do not broadcast to "
                      "the source {} on axis {}",
                      describe(indices), describe(src), i));
    if (i != normalized && shape[i] != source && shape[i] != Dim(1))
      throw UserError(
          fmt::format("scatter_add_along_axis: axis {} of the target shape {} must "
                      "be 1 or match the source {}",
                      i, shape.to_string(), describe(src)));
  }

  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::ScatterAddAlongAxis, src.dtype(), shape, {src, indices}, attrs);
}

}  // namespace damo
