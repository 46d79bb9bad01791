// Factories of the layout ops (transpose, reshape, slicing, gathers) and matmul.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "damo/runtime/signature.h"
#include "op_builder.h"

namespace damo {

using detail::check_operands;
using detail::describe;
using detail::make_node;

Expr transpose(Expr x, std::vector<int> perm) {
  check_operands("transpose", {x});
  int rank = x.rank();
  if (perm.empty())
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int>(perm.size()) != rank)
    throw UserError(fmt::format("transpose: the permutation has {} axes but the operand {} has "
                                "rank {}",
                                perm.size(), describe(x), rank));
  std::vector<bool> seen(static_cast<std::size_t>(rank), false);
  Attrs attrs;
  std::vector<Dim> dims;
  bool identity = true;
  for (int i = 0; i < rank; ++i) {
    int axis = normalize_axis(perm[i], rank, "transpose");
    if (seen[axis])
      throw UserError(fmt::format("transpose: axis {} appears twice in the permutation", axis));
    seen[axis] = true;
    identity = identity && axis == i;
    attrs.ints.push_back(axis);
    dims.push_back(x.shape()[axis]);
  }
  if (identity) return x;
  return make_node(OpKind::Transpose, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
}

namespace {

// Static product and multiset of symbols of a list of dimensions; -1 entries are skipped.
// A derived size n*t-m counts as its static factor gcd(t, m) times the symbol it divides
// into, so (n*3-3,) contains 3 and n-1, as (n-1, 3) does.
struct DimProduct {
  std::int64_t size = 1;
  std::map<std::string, int> symbols;
  int inferred = 0;
  bool overflow = false;

  explicit DimProduct(const std::vector<Dim>& dims) {
    for (const Dim& d : dims) {
      if (d.is_symbolic()) {
        std::optional<DerivedSymbol> derived = parse_derived_symbol(d.symbol());
        std::int64_t factor = derived ? std::gcd(derived->times, derived->minus) : 1;
        ++symbols[factor == 1 ? d.symbol() : d.divided(factor)->symbol()];
        overflow = __builtin_mul_overflow(size, factor, &size) || overflow;
      } else if (d.size() == -1) {
        ++inferred;
      } else {
        overflow = __builtin_mul_overflow(size, d.size(), &size) || overflow;
      }
    }
  }
};

std::string dims_text(const std::vector<Dim>& dims) { return Shape(dims).to_string(); }

}  // namespace

Expr reshape(Expr x, std::vector<Dim> dims) {
  check_operands("reshape", {x});
  for (const Dim& d : dims)
    if (d.is_static() && d.size() < -1)
      throw UserError(fmt::format("reshape: invalid dimension {} in {}", d.size(), dims_text(dims)));
  DimProduct in(x.shape().dims());
  DimProduct out(dims);
  if (out.inferred > 1)
    throw UserError(fmt::format("reshape: only one dimension may be -1, in {}", dims_text(dims)));
  std::string failure = fmt::format("reshape: cannot reshape {} to {}", describe(x), dims_text(dims));
  if (out.overflow) throw UserError(failure + ": the target has more elements than fit in int64");

  // Symbols of the target must appear in the operand's shape; the rest stays to be matched.
  std::map<std::string, int> remaining = in.symbols;
  for (const auto& [symbol, count] : out.symbols) {
    if (remaining[symbol] < count)
      throw UserError(failure + fmt::format(": symbolic dimension '{}' is not in the operand's "
                                            "shape",
                                            symbol));
    remaining[symbol] -= count;
  }
  std::vector<std::string> leftover;
  for (const auto& [symbol, count] : remaining)
    for (int i = 0; i < count; ++i) leftover.push_back(symbol);

  if (out.inferred == 1) {
    if (in.size == 0 && leftover.empty()) {
      throw UserError(failure + ": the size of -1 is ambiguous for a tensor with 0 elements");
    }
    if (leftover.size() > 1) {
      // TODO: a -1 that stands for a product of two symbols such as n*m needs sizes derived
      // from several symbols.
      std::string parts = "'" + leftover[0] + "'";
      for (std::size_t i = 1; i < leftover.size(); ++i)
        parts += (i + 1 == leftover.size() ? " and '" : ", '") + leftover[i] + "'";
      if (in.size != 1) parts += fmt::format(" times {}", in.size);
      throw UserError(fmt::format("{}: -1 would stand for the product of {}, and Damo has no "
                                  "symbolic size for a product of two symbols; keep each "
                                  "symbolic axis separate",
                                  failure, parts));
    }
    if (out.size != 0 && in.size % out.size != 0 && !leftover.empty()) {
      std::string numerator = "'" + leftover[0] + "'";
      if (in.size != 1) numerator += fmt::format(" * {}", in.size);
      throw UserError(fmt::format("{}: -1 would stand for {} / {}, and Damo has no symbolic size "
                                  "for a quotient; give the input an axis of size {} of its own "
                                  "(a shape such as (m, {})) or use static sizes",
                                  failure, numerator, out.size, out.size, out.size));
    }
    if (out.size == 0 || in.size % out.size != 0)
      throw UserError(failure + ": the element counts do not divide");
    std::int64_t rest = in.size / out.size;
    Dim inferred = leftover.empty() ? Dim(rest) : Dim::from_symbol(leftover[0]).times(rest);
    for (Dim& d : dims)
      if (d.is_static() && d.size() == -1) d = inferred;
  } else if ((!leftover.empty() || in.size != out.size) && !(in.size == 0 && out.size == 0)) {
    // A static 0 in both shapes makes both empty, whatever sizes the symbols take.
    throw UserError(failure + ": the element counts differ");
  }
  Shape shape(std::move(dims));
  if (shape == x.shape()) return x;
  return make_node(OpKind::Reshape, x.dtype(), shape, {x}, {}, x->weak());
}

Expr expand_dims(Expr x, int axis) {
  check_operands("expand_dims", {x});
  int normalized = normalize_axis(axis, x.rank() + 1, "expand_dims");
  std::vector<Dim> dims = x.shape().dims();
  dims.insert(dims.begin() + normalized, Dim(1));
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::ExpandDims, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
}

Expr squeeze(Expr x, Axes axes) {
  check_operands("squeeze", {x});
  std::vector<std::int64_t> list;
  if (axes.all()) {
    for (int i = 0; i < x.rank(); ++i)
      if (x.shape()[i] == Dim(1)) list.push_back(i);
  } else {
    list = detail::normalize_axes(axes, x.rank(), "squeeze");
    for (std::int64_t axis : list)
      if (x.shape()[static_cast<int>(axis)] != Dim(1))
        throw UserError(fmt::format("squeeze: axis {} of {} has size {}, not 1", axis, describe(x),
                                    x.shape()[static_cast<int>(axis)].to_string()));
  }
  if (list.empty()) return x;
  std::vector<Dim> dims;
  for (int i = 0; i < x.rank(); ++i)
    if (!std::binary_search(list.begin(), list.end(), i)) dims.push_back(x.shape()[i]);
  Attrs attrs;
  attrs.ints = list;
  return make_node(OpKind::Squeeze, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
}

Expr broadcast_to(Expr x, const Shape& shape) {
  check_operands("broadcast_to", {x});
  auto result = broadcast_shapes(x.shape(), shape);
  if (!result || *result != shape) {
    std::string reason;
    if (x.rank() > shape.rank()) {
      reason = fmt::format("the operand has rank {}, more than the target's {}", x.rank(), shape.rank());
    } else {
      // The first axis, aligned from the last, whose size is neither 1 nor the target's.
      for (int i = 1; i <= x.rank() && reason.empty(); ++i) {
        const Dim& from = x.shape()[x.rank() - i];
        const Dim& to = shape[shape.rank() - i];
        if (from != to && from != Dim(1))
          reason = fmt::format("axis {} of the operand has size {}, which is neither 1 nor the "
                               "target's {}",
                               x.rank() - i, from.to_string(), to.to_string());
      }
    }
    throw UserError(fmt::format("broadcast_to: cannot broadcast {} to {}{}", describe(x),
                                shape.to_string(), reason.empty() ? "" : ": " + reason));
  }
  if (shape == x.shape()) return x;
  return make_node(OpKind::BroadcastTo, x.dtype(), shape, {x}, {}, x->weak());
}

Expr stack(const std::vector<Expr>& parts, int axis) {
  if (parts.empty()) throw UserError("stack: the list of parts is empty; pass at least one tensor");
  int rank = parts[0].rank();
  if (axis < -(rank + 1) || axis > rank)
    throw UserError(fmt::format("stack: axis {} is out of range for a new axis of tensors of rank "
                                "{}; use -{} to {}",
                                axis, rank, rank + 1, rank));
  if (axis < 0) axis += rank + 1;
  std::vector<Expr> expanded;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    check_operands("stack", {parts[i]});
    if (parts[i].shape() != parts[0].shape())
      throw UserError(fmt::format("stack: part {} has shape {} but part 0 has shape {}; stacked "
                                  "parts must match",
                                  i, parts[i].shape().to_string(), parts[0].shape().to_string()));
    expanded.push_back(expand_dims(parts[i], axis));
  }
  return concatenate(expanded, axis);
}

Expr concatenate(const std::vector<Expr>& parts, int axis) {
  if (parts.empty()) throw UserError("concatenate: needs at least one operand");
  for (const Expr& part : parts) check_operands("concatenate", {parts[0], part});
  int rank = parts[0].rank();
  if (rank == 0) throw UserError("concatenate: operands must have rank 1 or more, not scalars");
  int normalized = normalize_axis(axis, rank, "concatenate");
  OperandType type{parts[0].dtype(), parts[0]->weak()};
  std::int64_t total = 0;
  const Dim& first = parts[0].shape()[normalized];
  bool same_symbol = first.is_symbolic();
  for (const Expr& part : parts)
    same_symbol = same_symbol && part.rank() == rank && part.shape()[normalized] == first;
  for (const Expr& part : parts) {
    if (part.rank() != rank)
      throw UserError(fmt::format("concatenate: operand {} has rank {} but the first has rank {}",
                                  describe(part), part.rank(), rank));
    for (int i = 0; i < rank; ++i)
      if (i != normalized && part.shape()[i] != parts[0].shape()[i])
        throw UserError(fmt::format("concatenate: shapes {} and {} differ on axis {}, which is "
                                    "not the concatenation axis {}",
                                    parts[0].shape().to_string(), part.shape().to_string(), i,
                                    normalized));
    const Dim& d = part.shape()[normalized];
    type = promote(type, {part.dtype(), part->weak()});
    if (same_symbol) continue;
    // TODO: parts of different symbolic sizes, such as n and m or n and 3, need derived
    // sizes such as n+m.
    if (d.is_symbolic()) {
      std::string sizes;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const char* separator = i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ";
        sizes += separator + parts[i].shape()[normalized].to_string();
      }
      throw UserError(fmt::format("concatenate: the parts have the sizes {} along axis {}; Damo "
                                  "concatenates along a symbolic axis only parts of one size, "
                                  "such as n and n",
                                  sizes, normalized));
    }
    if (__builtin_add_overflow(total, d.size(), &total))
      throw UserError(fmt::format("concatenate: axis {} of the result would have more "
                                  "elements than fit in int64",
                                  normalized));
  }
  if (parts.size() == 1) return parts[0];
  std::vector<Expr> inputs;
  for (const Expr& part : parts) inputs.push_back(detail::convert(part, type.dtype));
  if (same_symbol) {
    // k parts of size n along the axis: stacked before it and merged into the size n*k.
    std::vector<Dim> merged = parts[0].shape().dims();
    merged[normalized] = first.times(static_cast<std::int64_t>(parts.size()));
    return reshape(stack(inputs, normalized), merged);
  }
  std::vector<Dim> dims = parts[0].shape().dims();
  dims[normalized] = Dim(total);
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::Concatenate, type.dtype, Shape(std::move(dims)), inputs, attrs,
                   type.weak);
}

namespace {

struct SliceBounds {
  std::int64_t start, stop, length;
};

// Python's slice.indices() for a sequence of the given length.
SliceBounds resolve_slice(std::int64_t length, std::optional<std::int64_t> start,
                          std::optional<std::int64_t> stop, std::int64_t step) {
  std::int64_t lower = step > 0 ? 0 : -1;
  std::int64_t upper = step > 0 ? length : length - 1;
  auto clamp_bound = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
    if (!v) return fallback;
    std::int64_t b = *v < 0 ? *v + length : *v;
    return std::clamp(b, lower, upper);
  };
  std::int64_t s = clamp_bound(start, step > 0 ? lower : upper);
  std::int64_t e = clamp_bound(stop, step > 0 ? upper : lower);
  // In 128 bits, because a step near the int64 limits overflows e - s + step - 1 and -step.
  __int128 wide_step = step, count = 0;
  if (step > 0 && e > s) count = (__int128{e} - s + wide_step - 1) / wide_step;
  if (step < 0 && s > e) count = (__int128{s} - e - wide_step - 1) / -wide_step;
  return {s, e, static_cast<std::int64_t>(count)};
}

std::string bound_text(std::optional<std::int64_t> bound) {
  return bound ? std::to_string(*bound) : std::string();
}

// A slice of an axis of symbolic size n. Its size must follow from n alone for every n, as
// a derived size n-k (see Dim::minus): a start of 0 or more and a stop that is open or
// counts from the end, with step 1. The node stores the stop as 0 or below, counted from
// the end, and a fifth attribute 1 marks that form.
Expr slice_symbolic_axis(Expr x, int axis, std::optional<std::int64_t> start,
                         std::optional<std::int64_t> stop, std::int64_t step) {
  const Dim& d = x.shape()[axis];
  std::int64_t first = start.value_or(0);
  std::int64_t from_end = stop.value_or(0);
  std::string text = fmt::format("[{}:{}{}]", bound_text(start), bound_text(stop),
                                 step == 1 ? std::string() : fmt::format(":{}", step));
  // x[:0], x[2:1] and x[-1:-1] are empty for every size.
  bool empty = step > 0 && stop &&
               ((*stop >= 0 && *stop <= std::max<std::int64_t>(first, 0)) || (first < 0 && *stop <= first));
  if (empty) {
    std::vector<Dim> dims = x.shape().dims();
    dims[axis] = Dim(0);
    Attrs attrs;
    attrs.ints = {axis, 0, 0, 1};
    return make_node(OpKind::Slice, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
  }
  if (step != 1)
    throw UserError(fmt::format(
        "slice: axis {} of {} has the symbolic size {}, and a slice of a symbolic axis takes "
        "step 1, so {} is not supported; pick the elements with take() and indices instead",
        axis, describe(x), d.symbol(), text));
  if (first < 0 || from_end > 0)
    throw UserError(fmt::format(
        "slice: axis {} of {} has the symbolic size {}, and the size of the slice {} would "
        "not be {} less a constant; on a symbolic axis use a start of 0 or more, a stop "
        "that is empty or negative and step 1 (x[1:], x[:-1], x[2:-3]), or take() with "
        "indices",
        axis, describe(x), d.symbol(), text, d.symbol()));
  if (first == 0 && from_end == 0) return x;
  if (first > INT64_MAX + from_end)
    throw UserError(fmt::format("slice: the slice {} of axis {} of {} removes more than 2^63 - 1 "
                                "elements", text, axis, describe(x)));
  std::vector<Dim> dims = x.shape().dims();
  dims[axis] = d.minus(first - from_end);
  Attrs attrs;
  attrs.ints = {axis, first, from_end, 1, 1};
  return make_node(OpKind::Slice, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
}

}  // namespace

bool slice_counts_from_end(const Node& node) {
  return (node.op() == OpKind::Slice || node.op() == OpKind::SliceScatter) &&
         node.attrs().ints.size() == 5 && node.attr(4) == 1;
}

Expr slice(Expr x, int axis, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
           std::int64_t step) {
  check_operands("slice", {x});
  if (x.rank() == 0) throw UserError("slice: cannot slice a scalar");
  int normalized = normalize_axis(axis, x.rank(), "slice");
  if (step == 0) throw UserError("slice: step must not be zero");
  const Dim& d = x.shape()[normalized];
  if (d.is_symbolic()) return slice_symbolic_axis(x, normalized, start, stop, step);
  SliceBounds b = resolve_slice(d.size(), start, stop, step);
  if (b.start == 0 && b.length == d.size() && step == 1) return x;
  // An empty slice is stored as 0:0, because the start -1 that resolve_slice() gives for a
  // negative step would read back as the last element in rebuild() and the printers.
  if (b.length == 0) b.start = b.stop = 0;
  std::vector<Dim> dims = x.shape().dims();
  dims[normalized] = Dim(b.length);
  Attrs attrs;
  attrs.ints = {normalized, b.start, b.stop, step};
  return make_node(OpKind::Slice, x.dtype(), Shape(std::move(dims)), {x}, attrs, x->weak());
}

namespace {

void check_index_dtype(const std::string& op, const Expr& indices) {
  if (!is_integer(indices.dtype()))
    throw UserError(fmt::format("{}: indices must be i32 or i64, not {}; cast them first", op,
                                describe(indices)));
}

}  // namespace

Expr take(Expr x, Expr indices, int axis) {
  check_operands("take", {x, indices});
  check_index_dtype("take", indices);
  if (x.rank() == 0) throw UserError("take: cannot take from a scalar");
  int normalized = normalize_axis(axis, x.rank(), "take");
  std::vector<Dim> dims(x.shape().begin(), x.shape().begin() + normalized);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), x.shape().begin() + normalized + 1, x.shape().end());
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::Take, x.dtype(), Shape(std::move(dims)), {x, indices}, attrs, x->weak());
}

Expr take_along_axis(Expr x, Expr indices, int axis) {
  check_operands("take_along_axis", {x, indices});
  check_index_dtype("take_along_axis", indices);
  if (indices.rank() != x.rank())
    throw UserError(fmt::format("take_along_axis: indices {} must have the rank of the operand {}",
                                describe(indices), describe(x)));
  if (x.rank() == 0) throw UserError("take_along_axis: cannot take from a scalar");
  int normalized = normalize_axis(axis, x.rank(), "take_along_axis");
  std::vector<Dim> dims;
  for (int i = 0; i < x.rank(); ++i) {
    if (i == normalized) {
      dims.push_back(indices.shape()[i]);
      continue;
    }
    auto b = broadcast_shapes(Shape{x.shape()[i]}, Shape{indices.shape()[i]});
    if (!b)
      throw UserError(fmt::format("take_along_axis: indices {} do not broadcast with the operand "
                                  "{} on axis {}",
                                  describe(indices), describe(x), i));
    dims.push_back((*b)[0]);
  }
  Attrs attrs;
  attrs.ints = {normalized};
  return make_node(OpKind::TakeAlongAxis, x.dtype(), Shape(std::move(dims)), {x, indices}, attrs, x->weak());
}

Expr one_hot(Expr indices, std::int64_t depth, DType dtype) {
  check_operands("one_hot", {indices});
  check_index_dtype("one_hot", indices);
  if (depth < 0) throw UserError(fmt::format("one_hot: depth {} is negative", depth));
  std::vector<Dim> dims = indices.shape().dims();
  dims.emplace_back(depth);
  Attrs attrs;
  attrs.ints = {depth};
  attrs.dtype = dtype;
  return make_node(OpKind::OneHot, dtype, Shape(std::move(dims)), {indices}, attrs);
}

namespace detail {

// Result shape of a (possibly transposed) matmul under NumPy's rules.
Shape matmul_shape(const std::string& op, const Expr& a, const Expr& b, bool transpose_a,
                   bool transpose_b) {
  if (a.rank() == 0 || b.rank() == 0)
    throw UserError(fmt::format("{}: operands must have rank 1 or more, got {} and {}", op,
                                describe(a), describe(b)));
  std::vector<Dim> da = a.shape().dims();
  std::vector<Dim> db = b.shape().dims();
  if (transpose_a && da.size() >= 2) std::swap(da[da.size() - 1], da[da.size() - 2]);
  if (transpose_b && db.size() >= 2) std::swap(db[db.size() - 1], db[db.size() - 2]);
  bool vector_a = da.size() == 1;
  bool vector_b = db.size() == 1;
  if (vector_a) da.insert(da.begin(), Dim(1));
  if (vector_b) db.push_back(Dim(1));
  const Dim& k_a = da.back();
  const Dim& k_b = db[db.size() - 2];
  if (k_a != k_b)
    throw UserError(fmt::format("{}: cannot multiply {} by {}: the last axis of the left operand "
                                "({}) must equal the {} axis of the right operand ({})",
                                op, a.shape().to_string(), b.shape().to_string(), k_a.to_string(),
                                vector_b ? "only" : "second-to-last", k_b.to_string()));
  Shape batch_a(std::vector<Dim>(da.begin(), da.end() - 2));
  Shape batch_b(std::vector<Dim>(db.begin(), db.end() - 2));
  auto batch = broadcast_shapes(batch_a, batch_b);
  if (!batch)
    throw UserError(fmt::format("{}: the batch axes of {} and {} do not broadcast", op,
                                a.shape().to_string(), b.shape().to_string()));
  std::vector<Dim> dims = batch->dims();
  if (!vector_a) dims.push_back(da[da.size() - 2]);
  if (!vector_b) dims.push_back(db.back());
  return Shape(std::move(dims));
}

}  // namespace detail

Expr matmul(Expr a, Expr b) {
  check_operands("matmul", {a, b});
  Shape shape = detail::matmul_shape("matmul", a, b, false, false);
  OperandType t = promote({a.dtype(), a->weak()}, {b.dtype(), b->weak()});
  DType dtype = t.dtype == DType::Bool ? DType::Int64 : t.dtype;
  return make_node(OpKind::MatMul, dtype, shape,
                   {detail::convert(a, dtype), detail::convert(b, dtype)}, {}, t.weak);
}

}  // namespace damo
