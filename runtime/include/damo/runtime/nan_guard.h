// The NaN guard's scan and message, shared by the JIT backend (through the executable) and
// the reference backend. The guard stops a call at the first node whose output holds a NaN
// although none of its inputs does, or an infinity although all of its inputs are finite.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "damo/runtime/tensor.h"

namespace damo {

/// The NaN guard's rank of a buffer: a NaN ranks above an infinity, which ranks above
/// finite values only.
enum class Finiteness : std::int32_t { Finite = 0, HasInfinity = 1, HasNaN = 2 };

/// Ranks the count elements of dtype at data. Integer and bool elements are always finite.
Finiteness classify_finiteness(const void* data, DType dtype, std::int64_t count);

/// Finds the element the NaN guard reports among the count elements of dtype at data, for
/// operands of rank `inputs`: the first NaN or infinity when the operands are finite, else
/// the first NaN. Returns -1 when there is none.
std::int64_t find_reported_element(const void* data, DType dtype, std::int64_t count, Finiteness inputs);

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
/// shape `actual` in this call, contains the non-finite value at flat index element, and its
/// operands rank `inputs`. empty_operand is true when an operand had 0 elements in this call.
std::string nan_guard_message(const GuardedNode& node, const Dims& actual, std::int64_t element,
                              double value, Finiteness inputs, bool empty_operand = false);

}  // namespace damo
