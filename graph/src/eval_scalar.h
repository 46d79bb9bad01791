// Scalar semantics of the elementwise ops, shared by the evaluator's kernels. Integer
// arithmetic wraps in two's complement: it is computed on the unsigned type of the same
// width, which is defined behaviour, and converted back, which C++20 defines as modular.
// docs/ops.md states every convention implemented here.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

namespace damo::eval {

/// True for the integer element types (i32, i64), false for bool and floats.
template <class T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}

template <class T>
T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}

template <class T>
T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

template <class T>
T add_values(T a, T b) {
  if constexpr (kIsInteger<T>)
    return wrap_add(a, b);
  else
    return a + b;
}

template <class T>
T sub_values(T a, T b) {
  if constexpr (kIsInteger<T>)
    return wrap_sub(a, b);
  else
    return a - b;
}

template <class T>
T mul_values(T a, T b) {
  if constexpr (kIsInteger<T>)
    return wrap_mul(a, b);
  else
    return a * b;
}

/// -x; the negation of the minimum integer is itself.
template <class T>
T neg_value(T x) {
  if constexpr (kIsInteger<T>)
    return wrap_sub(T{0}, x);
  else
    return -x;
}

/// |x|; abs of the minimum integer is itself, abs(-0.0) is +0.0.
template <class T>
T abs_value(T x) {
  if constexpr (kIsInteger<T>)
    return x < 0 ? wrap_sub(T{0}, x) : x;
  else
    return std::fabs(x);
}

/// -1, 0 or 1; a float zero of either sign gives +0 and NaN gives NaN.
template <class T>
T sign_value(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x)) return x;
  }
  if (x > 0) return T{1};
  if (x < 0) return T{-1};
  return T{0};
}

/// x where x > 0 or x is NaN, otherwise +0.
template <class T>
T relu_value(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x)) return x;
  }
  return x > 0 ? x : T{0};
}

/// Python's a // b for integers; b == 0 gives 0 and min // -1 gives min.
template <class T>
T int_floor_div(T a, T b) {
  if (b == 0) return 0;
  if (b == -1) return neg_value(a);
  T quotient = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

/// Python's a % b for integers: the result has b's sign; b == 0 gives 0.
template <class T>
T int_mod(T a, T b) {
  // b == -1 always leaves 0, and a % -1 is undefined behaviour for the minimum integer.
  if (b == 0 || b == -1) return 0;
  T remainder = a % b;
  if (remainder != 0 && ((remainder < 0) != (b < 0))) remainder += b;
  return remainder;
}

/// NumPy's float remainder: fmod(a, b) moved by b when it is nonzero and its sign differs
/// from b's; a zero result takes b's sign; b == 0 gives NaN.
template <class T>
T float_mod(T a, T b) {
  T remainder = std::fmod(a, b);
  if (b == 0) return remainder;
  if (remainder == 0) return std::copysign(T{0}, b);
  if ((b < 0) != (remainder < 0)) remainder += b;
  return remainder;
}

/// NumPy's float floor division, consistent with float_mod: (a - mod) / b rounded to the
/// nearest integer; b == 0 gives a / b (an infinity or NaN).
template <class T>
T float_floor_div(T a, T b) {
  if (b == 0) return a / b;
  T remainder = std::fmod(a, b);
  T quotient = (a - remainder) / b;
  if (remainder != 0 && ((b < 0) != (remainder < 0))) quotient -= 1;
  if (quotient == 0) return std::copysign(T{0}, a / b);
  // quotient is an integer up to rounding error; round it to the nearest one.
  T floored = std::floor(quotient);
  if (quotient - floored > T{0.5}) floored += 1;
  return floored;
}

/// base ** exponent for integers by repeated squaring, wrapping on overflow. A negative
/// exponent gives 0, except for base 1 (1) and base -1 (1 or -1 by parity).
template <class T>
T int_pow(T base, T exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent & 1) != 0 ? -1 : 1;
    return 0;
  }
  T result = 1;
  while (exponent > 0) {
    if ((exponent & 1) != 0) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exponent >>= 1;
  }
  return result;
}

/// The larger of a and b; NaN propagates from either side and +0 is greater than -0.
template <class T>
T maximum_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
    if (a == b) return std::signbit(a) ? b : a;
  }
  return a > b ? a : b;
}

/// The smaller of a and b; NaN propagates from either side and -0 is less than +0.
template <class T>
T minimum_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
    if (a == b) return std::signbit(a) ? a : b;
  }
  return a < b ? a : b;
}

/// The value that a max reduction over no elements gives: -inf, the minimum integer, false.
template <class T>
T lowest_value() {
  if constexpr (std::is_floating_point_v<T>)
    return -std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::lowest();
}

/// The value that a min reduction over no elements gives: +inf, the maximum integer, true.
template <class T>
T highest_value() {
  if constexpr (std::is_floating_point_v<T>)
    return std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::max();
}

}  // namespace damo::eval
