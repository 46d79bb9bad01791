// Factories of the reductions.
#include <fmt/format.h>

#include <algorithm>

#include "op_builder.h"

namespace damo {

namespace detail {

std::vector<std::int64_t> normalize_axes(const Axes& axes, int rank, const std::string& op) {
  std::vector<std::int64_t> out;
  if (axes.all()) {
    for (int i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (std::int64_t axis : axes.list()) out.push_back(normalize_axis(axis, rank, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw UserError(fmt::format("{}: axis {} is listed twice", op,
                                *std::adjacent_find(out.begin(), out.end())));
  return out;
}

}  // namespace detail

namespace {

DType reduction_dtype(OpKind op, const Expr& x) {
  DType d = x.dtype();
  switch (op) {
  case OpKind::Sum:
  case OpKind::Prod: return is_float(d) ? d : DType::Int64;
  case OpKind::Mean:
  case OpKind::LogSumExp: return is_float(d) ? d : (x->weak() ? DType::Float64 : kDefaultFloat);
  case OpKind::ArgMax:
  case OpKind::ArgMin: return DType::Int64;
  case OpKind::All:
  case OpKind::Any: return DType::Bool;
  default: return d;
  }
}

}  // namespace

Expr reduce(OpKind op, Expr x, Axes axes, bool keepdims) {
  DAMO_ASSERT(op_category(op) == OpCategory::Reduction,
              fmt::format("reduce() called for {}", op_name(op)));
  std::string name(op_name(op));
  detail::check_operands(name, {x});
  Attrs attrs;
  attrs.ints = detail::normalize_axes(axes, x.rank(), name);
  attrs.keepdims = keepdims;
  std::vector<Dim> dims;
  for (int i = 0; i < x.rank(); ++i) {
    bool reduced = std::binary_search(attrs.ints.begin(), attrs.ints.end(), i);
    if (!reduced) dims.push_back(x.shape()[i]);
    else if (keepdims) dims.emplace_back(1);
  }
  DType dtype = reduction_dtype(op, x);
  // The operand is converted first so that the reduction computes in the result dtype.
  Expr operand = x;
  if (op == OpKind::Sum || op == OpKind::Prod || op == OpKind::Mean || op == OpKind::LogSumExp)
    operand = detail::convert(x, dtype);
  return detail::make_node(op, dtype, Shape(std::move(dims)), {operand}, attrs, false);
}

Expr sum(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Sum, x, std::move(axes), keepdims); }
Expr mean(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Mean, x, std::move(axes), keepdims); }
Expr prod(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Prod, x, std::move(axes), keepdims); }
Expr max(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Max, x, std::move(axes), keepdims); }
Expr min(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Min, x, std::move(axes), keepdims); }
Expr argmax(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::ArgMax, x, std::move(axes), keepdims); }
Expr argmin(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::ArgMin, x, std::move(axes), keepdims); }
Expr logsumexp(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::LogSumExp, x, std::move(axes), keepdims); }
Expr all(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::All, x, std::move(axes), keepdims); }
Expr any(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Any, x, std::move(axes), keepdims); }

}  // namespace damo
