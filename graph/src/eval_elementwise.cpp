// Kernels of the elementwise ops: unary, binary (with NumPy broadcasting), where, clip
// and binary cross-entropy. Each computes in the operands' C++ type: float32 in float,
// float64 in double, integers in their own width with wrapping.
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "eval_broadcast.h"
#include "eval_scalar.h"

namespace damo::eval {

namespace {

[[noreturn]] void fail_dtype(OpKind op, DType dtype) {
  fail_internal("kernel", fmt::format("the evaluator has no {} kernel for dtype {}", op_name(op),
                                      dtype_name(dtype)));
}

// Unary ops whose result has the operand's dtype, for integer and float T.
template <class T>
void unary_numeric(OpKind op, Tensor& out, const Tensor& x) {
  switch (op) {
  case OpKind::Neg: return map_unary<T, T>(out, x, [](T v) { return neg_value(v); });
  case OpKind::Abs: return map_unary<T, T>(out, x, [](T v) { return abs_value(v); });
  case OpKind::Sign: return map_unary<T, T>(out, x, [](T v) { return sign_value(v); });
  case OpKind::Square: return map_unary<T, T>(out, x, [](T v) { return mul_values(v, v); });
  case OpKind::Relu: return map_unary<T, T>(out, x, [](T v) { return relu_value(v); });
  default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
    case OpKind::Exp: return map_unary<T, T>(out, x, [](T v) { return std::exp(v); });
    case OpKind::Expm1: return map_unary<T, T>(out, x, [](T v) { return std::expm1(v); });
    case OpKind::Log: return map_unary<T, T>(out, x, [](T v) { return std::log(v); });
    case OpKind::Log1p: return map_unary<T, T>(out, x, [](T v) { return std::log1p(v); });
    // In float64 and rounded once, as compiled code computes them.
    case OpKind::Log2:
      return map_unary<T, T>(out, x, [](T v) { return static_cast<T>(std::log2(static_cast<double>(v))); });
    case OpKind::Log10:
      return map_unary<T, T>(out, x, [](T v) { return static_cast<T>(std::log10(static_cast<double>(v))); });
    case OpKind::Erf: return map_unary<T, T>(out, x, [](T v) { return std::erf(v); });
    case OpKind::Erfc: return map_unary<T, T>(out, x, [](T v) { return std::erfc(v); });
    case OpKind::Sqrt: return map_unary<T, T>(out, x, [](T v) { return std::sqrt(v); });
    case OpKind::Reciprocal: return map_unary<T, T>(out, x, [](T v) { return T{1} / v; });
    case OpKind::Sin: return map_unary<T, T>(out, x, [](T v) { return std::sin(v); });
    case OpKind::Cos: return map_unary<T, T>(out, x, [](T v) { return std::cos(v); });
    case OpKind::Tanh: return map_unary<T, T>(out, x, [](T v) { return std::tanh(v); });
    case OpKind::Sigmoid:
      // From e = exp(-|x|), which cannot overflow: e / (1 + e) below zero keeps the tiny
      // values of large negative x, which 1 / (1 + exp(-x)) rounds to 0.
      return map_unary<T, T>(out, x, [](T v) {
        T e = std::exp(-std::fabs(v));
        T r = T{1} / (T{1} + e);
        return v < 0 ? e * r : r;
      });
    case OpKind::Softplus:
      // exp(-|x|) is at most 1, so this cannot overflow. NaN propagates through log1p.
      return map_unary<T, T>(
          out, x, [](T v) { return (v > 0 ? v : T{0}) + std::log1p(std::exp(-std::fabs(v))); });
    case OpKind::Floor: return map_unary<T, T>(out, x, [](T v) { return std::floor(v); });
    case OpKind::Ceil: return map_unary<T, T>(out, x, [](T v) { return std::ceil(v); });
    // nearbyint rounds halves to even in the default rounding mode, which Damo never changes.
    case OpKind::Round: return map_unary<T, T>(out, x, [](T v) { return std::nearbyint(v); });
    default: break;
    }
  } else if (op == OpKind::Floor || op == OpKind::Ceil || op == OpKind::Round) {
    return map_unary<T, T>(out, x, [](T v) { return v; });
  }
  fail_dtype(op, x.dtype());
}

// Unary ops with a bool result, for every T.
template <class T>
void unary_to_bool(OpKind op, Tensor& out, const Tensor& x) {
  if (op == OpKind::Not) return map_unary<bool, T>(out, x, [](T v) { return v == T{0}; });
  if constexpr (std::is_floating_point_v<T>) {
    if (op == OpKind::IsNan) return map_unary<bool, T>(out, x, [](T v) { return std::isnan(v); });
    return map_unary<bool, T>(out, x, [](T v) { return std::isinf(v); });
  } else {
    return map_unary<bool, T>(out, x, [](T) { return false; });
  }
}

// Converts x to dtype with Tensor::cast one piece at a time, so that the call's stop flag
// is read between pieces as in the other elementwise loops.
Tensor cast_in_pieces(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x.clone();
  Tensor out = Tensor::empty(dtype, x.shape());
  auto* from = static_cast<const char*>(x.raw_data());
  auto* to = static_cast<char*>(out.raw_data());
  std::size_t from_size = dtype_size(x.dtype());
  std::size_t to_size = dtype_size(dtype);
  for_each_chunk(x.numel(), [&](std::int64_t begin, std::int64_t end) {
    auto offset = static_cast<std::size_t>(begin);
    // The view only reads: Tensor::view takes a mutable pointer for views that write.
    Tensor piece = Tensor::view(const_cast<char*>(from + offset * from_size), x.dtype(), {end - begin});
    Tensor converted = piece.cast(dtype);
    std::memcpy(to + offset * to_size, converted.raw_data(), converted.nbytes());
  });
  return out;
}

}  // namespace

Tensor eval_unary(OpKind op, const Tensor& x, DType out_dtype) {
  if (op == OpKind::Cast) return cast_in_pieces(x, out_dtype);
  if (op == OpKind::StopGradient) return x.clone();

  Tensor out = Tensor::empty(out_dtype, x.shape());
  if (op == OpKind::IsNan || op == OpKind::IsInf || op == OpKind::Not) {
    visit_dtype(x.dtype(), [&](auto zero) { unary_to_bool<decltype(zero)>(op, out, x); });
    return out;
  }

  if (x.dtype() != out_dtype || x.dtype() == DType::Bool) fail_dtype(op, x.dtype());
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) unary_numeric<T>(op, out, x);
  });
  return out;
}

namespace {

template <class T>
void compare(OpKind op, Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
  case OpKind::Eq: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x == y; });
  case OpKind::Ne: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x != y; });
  case OpKind::Lt: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x < y; });
  case OpKind::Le: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x <= y; });
  case OpKind::Gt: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x > y; });
  case OpKind::Ge: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x >= y; });
  default: fail_dtype(op, a.dtype());
  }
}

// Arithmetic ops whose result has the operands' dtype, for integer and float T.
template <class T>
void arithmetic(OpKind op, Tensor& out, const Tensor& a, const Tensor& b) {
  auto map = [&](auto fn) { map_binary<T, T, T>(out, a, b, fn); };
  switch (op) {
  case OpKind::Add: return map([](T x, T y) { return add_values(x, y); });
  case OpKind::Sub: return map([](T x, T y) { return sub_values(x, y); });
  case OpKind::Mul: return map([](T x, T y) { return mul_values(x, y); });
  case OpKind::Maximum: return map([](T x, T y) { return maximum_value(x, y); });
  case OpKind::Minimum: return map([](T x, T y) { return minimum_value(x, y); });
  default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
    case OpKind::Div: return map([](T x, T y) { return x / y; });
    case OpKind::FloorDiv: return map([](T x, T y) { return float_floor_div(x, y); });
    case OpKind::Mod: return map([](T x, T y) { return float_mod(x, y); });
    case OpKind::Pow: return map([](T x, T y) { return std::pow(x, y); });
    default: break;
    }
  } else {
    switch (op) {
    case OpKind::FloorDiv: return map([](T x, T y) { return int_floor_div(x, y); });
    case OpKind::Mod: return map([](T x, T y) { return int_mod(x, y); });
    case OpKind::Pow: return map([](T x, T y) { return int_pow(x, y); });
    default: break;
    }
  }
  fail_dtype(op, a.dtype());
}

bool is_comparison(OpKind op) {
  return op == OpKind::Eq || op == OpKind::Ne || op == OpKind::Lt || op == OpKind::Le ||
         op == OpKind::Gt || op == OpKind::Ge;
}

}  // namespace

Tensor eval_binary(OpKind op, const Tensor& a, const Tensor& b, DType out_dtype) {
  DAMO_ASSERT(a.dtype() == b.dtype(), "binary operands must share a dtype");
  Tensor out = Tensor::empty(out_dtype, broadcast_dims(a.shape(), b.shape(), op));

  if (op == OpKind::And || op == OpKind::Or) {
    if (a.dtype() != DType::Bool) fail_dtype(op, a.dtype());
    if (op == OpKind::And)
      map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x && y; });
    else
      map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x || y; });
    return out;
  }

  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (is_comparison(op)) return compare<T>(op, out, a, b);
    if (out_dtype != a.dtype()) fail_dtype(op, a.dtype());
    if constexpr (std::is_same_v<T, bool>) {
      if (op == OpKind::Maximum)
        return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x || y; });
      if (op == OpKind::Minimum)
        return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x && y; });
      fail_dtype(op, a.dtype());
    } else {
      arithmetic<T>(op, out, a, b);
    }
  });
  return out;
}

Tensor eval_ternary(OpKind op, const Tensor& a, const Tensor& b, const Tensor& c, DType out_dtype) {
  Dims dims = broadcast_dims(broadcast_dims(a.shape(), b.shape(), op), c.shape(), op);
  Tensor out = Tensor::empty(out_dtype, dims);

  if (op == OpKind::Where) {
    DAMO_ASSERT(a.dtype() == DType::Bool && b.dtype() == out_dtype && c.dtype() == out_dtype,
                "where: the condition must be bool and the branches of the result dtype");
    visit_dtype(out_dtype, [&](auto zero) {
      using T = decltype(zero);
      map_ternary<T, bool, T, T>(out, a, b, c, [](bool cond, T x, T y) { return cond ? x : y; });
    });
    return out;
  }

  DAMO_ASSERT(op == OpKind::Clip, "eval_ternary handles where and clip");
  DAMO_ASSERT(a.dtype() == out_dtype && b.dtype() == out_dtype && c.dtype() == out_dtype,
              "clip: every operand must have the result dtype");
  visit_dtype(out_dtype, [&](auto zero) {
    using T = decltype(zero);
    map_ternary<T, T, T, T>(out, a, b, c, [](T x, T low, T high) {
      return minimum_value(maximum_value(x, low), high);
    });
  });
  return out;
}

Tensor eval_binary_crossentropy(const Tensor& p, const Tensor& t) {
  DAMO_ASSERT(p.dtype() == t.dtype() && is_float(p.dtype()),
              "binary_crossentropy: the operands must share a float dtype");
  Tensor out =
      Tensor::empty(p.dtype(), broadcast_dims(p.shape(), t.shape(), OpKind::BinaryCrossentropy));
  visit_dtype(p.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      map_binary<T, T, T>(out, p, t, [](T prob, T target) {
        return -(target * std::log(prob) + (T{1} - target) * std::log1p(-prob));
      });
    }
  });
  return out;
}

}  // namespace damo::eval
