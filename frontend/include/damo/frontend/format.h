// Text and JSON forms of tensors and types, as the damo program prints them.
#pragma once

#include <string>
#include <string_view>

#include "damo/graph/shape.h"
#include "damo/runtime/tensor.h"

namespace damo {

/// NumPy-style text of t's elements: nested brackets, one row per line, numbers aligned in
/// columns (floats at the decimal point), lines wrapped at 75 columns, and "..." for the
/// middle of each axis when t has more than 1000 elements. Floats print the shortest text
/// that reads back as the same value, with a trailing '.' when integral (2.), and nan, inf,
/// -inf; bools print true and false. The text parses back as a list literal of the language.
std::string format_tensor(const Tensor& t);

/// "f32 (n, 64)": a dtype and a shape.
std::string format_type(DType dtype, const Shape& shape);

/// format_tensor(t) followed by " : " and its type, such as "[1, 2] : i64 (2,)".
std::string format_tensor_with_type(const Tensor& t);

/// {"dtype": "f32", "shape": [2, 3], "data": [[...], [...]]}. The data nests like the
/// shape (a bare number for a scalar); NaN and infinities are the strings "nan", "inf" and
/// "-inf", because JSON has no literal for them.
std::string tensor_to_json(const Tensor& t);

/// A JSON array of the dimensions: static sizes as numbers, symbols as strings.
std::string shape_to_json(const Shape& shape);

/// text as a JSON string literal, with quotes, backslashes and control characters escaped.
std::string json_quote(std::string_view text);

}  // namespace damo
