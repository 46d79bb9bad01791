// The NaN guard's scan for non-finite values and the message it raises.
#include "damo/runtime/nan_guard.h"

#include <fmt/format.h>

#include <cmath>

namespace damo {

namespace {

template <class T>
Finiteness classify(const T* values, std::int64_t count) {
  Finiteness worst = Finiteness::Finite;
  for (std::int64_t i = 0; i < count; ++i) {
    if (std::isnan(values[i])) return Finiteness::HasNaN;
    if (std::isinf(values[i])) worst = Finiteness::HasInfinity;
  }
  return worst;
}

template <class T>
std::int64_t first_reported(const T* values, std::int64_t count, bool nan_only) {
  for (std::int64_t i = 0; i < count; ++i)
    if (nan_only ? std::isnan(values[i]) : !std::isfinite(values[i])) return i;
  return -1;
}

std::string value_name(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "+inf" : "-inf";
}

}  // namespace

Finiteness classify_finiteness(const void* data, DType dtype, std::int64_t count) {
  if (dtype == DType::Float32) return classify(static_cast<const float*>(data), count);
  if (dtype == DType::Float64) return classify(static_cast<const double*>(data), count);
  return Finiteness::Finite;
}

std::int64_t find_reported_element(const void* data, DType dtype, std::int64_t count, Finiteness inputs) {
  bool nan_only = inputs != Finiteness::Finite;
  if (dtype == DType::Float32) return first_reported(static_cast<const float*>(data), count, nan_only);
  if (dtype == DType::Float64) return first_reported(static_cast<const double*>(data), count, nan_only);
  return -1;
}

std::string nan_guard_message(const GuardedNode& node, const Dims& actual, std::int64_t element,
                              double value, Finiteness inputs, bool empty_operand) {
  return fmt::format(
      "NaN guard: {} produced {} at element {} of {} {} (op {}, shape {} in this call); its "
      "inputs {}{}",
      node.expression, value_name(value), element, dtype_name(node.dtype), node.shape, node.op,
      dims_to_string(actual), inputs == Finiteness::Finite ? "were finite" : "held no NaN",
      empty_operand ? ", but one of them was empty, and a mean over 0 elements is NaN" : "");
}

}  // namespace damo
