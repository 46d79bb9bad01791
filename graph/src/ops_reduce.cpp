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
// Two passes (the mean, then the squared deviations from it), which keep their digits
// where the one-pass mean(x^2) - mean(x)^2 cancels.
Expr var(Expr x, Axes axes, bool keepdims, std::int64_t ddof) {
  detail::check_operands("var", {x});
  if (ddof < 0)
    throw UserError(fmt::format("var: ddof {} is negative; pass 0 for the population variance or "
                                "1 for the sample variance",
                                ddof));
  std::vector<std::int64_t> reduced = detail::normalize_axes(axes, x.rank(), "var");
  Expr values = detail::convert(x, reduction_dtype(OpKind::Mean, x));
  Expr squares = square(values - mean(values, axes, true));
  if (ddof == 0) return mean(squares, axes, keepdims);

  // The count of reduced elements, with symbolic sizes read at run time.
  std::int64_t count = 1;
  Expr symbolic_count;
  for (std::int64_t axis : reduced) {
    const Dim& d = x.shape()[static_cast<std::size_t>(axis)];
    if (d.is_static()) {
      count *= d.size();
      continue;
    }
    Expr size = dim_size(x.graph(), d.symbol());
    symbolic_count = symbolic_count.defined() ? symbolic_count * size : size;
  }
  // As in NumPy, a count of ddof or less divides by 0: inf, or NaN for no elements.
  auto rest = static_cast<double>(count) - static_cast<double>(ddof);
  Expr divisor = literal_like(values, std::max(rest, 0.0));
  if (symbolic_count.defined())
    divisor = maximum(cast(symbolic_count, values.dtype()) * static_cast<double>(count) -
                          static_cast<double>(ddof),
                      0.0);
  return sum(squares, axes, keepdims) / divisor;
}

namespace {

// sqrt(v) for v >= 0 whose gradient is 0 where v is 0, as PyTorch's std and norm give, in
// place of inf * 0 = NaN. The sqrt reads 1 there, so its own gradient is finite, and the
// outer where passes it a zero gradient. NaN fails the test for 0 and stays NaN.
Expr sqrt_with_zero_gradient_at_zero(Expr v) {
  Expr zero = v == 0.0;
  return where(zero, 0.0, sqrt(where(zero, 1.0, v)));
}

}  // namespace

Expr stddev(Expr x, Axes axes, bool keepdims, std::int64_t ddof) {
  return sqrt_with_zero_gradient_at_zero(var(x, std::move(axes), keepdims, ddof));
}

Expr norm(Expr x, Axes axes, bool keepdims) {
  detail::check_operands("norm", {x});
  Expr values = detail::convert(x, reduction_dtype(OpKind::Mean, x));
  return sqrt_with_zero_gradient_at_zero(sum(square(values), std::move(axes), keepdims));
}

Expr all(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::All, x, std::move(axes), keepdims); }
Expr any(Expr x, Axes axes, bool keepdims) { return reduce(OpKind::Any, x, std::move(axes), keepdims); }

}  // namespace damo
