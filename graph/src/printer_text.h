// Text pieces shared by the printers: numbers, constant values, integer lists and the
// attribute details that dump() and to_dot() show for a node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "damo/graph/node.h"

namespace damo::detail {

/// Constants with at most this many elements print their value.
inline constexpr std::int64_t kMaxPrintedElements = 8;

/// Element index of t as the expression language writes it: true, 2, 0.5, nan, -inf.
std::string format_element(const Tensor& t, std::int64_t index);

/// The value of t as a number (rank 0) or nested list, or nullopt when t has no elements
/// or more than kMaxPrintedElements.
std::optional<std::string> format_small_value(const Tensor& t);

/// "[0, 1]".
std::string format_int_list(const std::vector<std::int64_t>& values);

/// The dimensions of shape as a list, "[n, 3]".
std::string format_dims_list(const Shape& shape);

/// The attributes, weak mark and leaf name or value of node, each preceded by a space,
/// such as " axis=[1] keepdims=true"; empty when there are none. See dump() for the format.
std::string format_details(const Node& node);

}  // namespace damo::detail
