// The NaN guard's scan and message, shared by the JIT backend (through the executable) and
// the reference backend. The guard stops a call at the first node whose output holds a NaN
// or an infinity although none of its inputs does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "damo/runtime/tensor.h"

namespace damo {

/// Index of the first NaN or infinity among the count elements of dtype at data, or -1
/// when there is none. Integer and bool elements are always finite.
std::int64_t find_nonfinite(const void* data, DType dtype, std::int64_t count);

/// The node that the NaN guard names in its message.
struct GuardedNode {
  /// The node as an expression, already shortened (see node_label() in codegen/program.h).
  std::string expression;
  std::string op;
  DType dtype = DType::Float32;
  /// The declared shape, with symbols: "(n, 3)".
  std::string shape;
};

/// Builds the message of the RuntimeError the NaN guard raises when node's output, of
/// shape `actual` in this call, holds the non-finite value at flat index element.
std::string nan_guard_message(const GuardedNode& node, const Dims& actual, std::int64_t element,
                              double value);

}  // namespace damo
