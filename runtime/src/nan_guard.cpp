// The NaN guard's scan for non-finite values and the message it raises.
#include "damo/runtime/nan_guard.h"

#include <fmt/format.h>

#include <cmath>

namespace damo {

namespace {

template <class T>
std::int64_t first_nonfinite(const T* values, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    if (!std::isfinite(values[i])) return i;
  return -1;
}

std::string value_name(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "+inf" : "-inf";
}

}  // namespace

std::int64_t find_nonfinite(const void* data, DType dtype, std::int64_t count) {
  if (dtype == DType::Float32) return first_nonfinite(static_cast<const float*>(data), count);
  if (dtype == DType::Float64) return first_nonfinite(static_cast<const double*>(data), count);
  return -1;
}

std::string nan_guard_message(const GuardedNode& node, const Dims& actual, std::int64_t element,
                              double value) {
  return fmt::format(
      "NaN guard: {} produced {} at element {} of {} {} (op {}, shape {} in this call); its "
      "inputs were finite",
      node.expression, value_name(value), element, dtype_name(node.dtype), node.shape, node.op,
      dims_to_string(actual));
}

}  // namespace damo
