// NumPy-style and JSON printing of tensors.
#include "damo/frontend/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace damo {

namespace {

constexpr std::int64_t kSummarizeAbove = 1000;  // elements; NumPy's default threshold
constexpr std::int64_t kEdgeItems = 3;          // items kept at each end of a summarized axis
constexpr std::size_t kLineWidth = 75;          // NumPy's default line width

std::string format_real(double value, bool single) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest text that reads back as the same float32 or float64.
  std::string text =
      single ? fmt::format("{}", static_cast<float>(value)) : fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += '.';
  return text;
}

std::string format_element(const Tensor& t, std::int64_t index) {
  switch (t.dtype()) {
  case DType::Bool: return t.get_double(index) != 0 ? "true" : "false";
  case DType::Int32:
  case DType::Int64: return fmt::format("{}", t.get_int64(index));
  case DType::Float32: return format_real(t.get_double(index), true);
  case DType::Float64: return format_real(t.get_double(index), false);
  }
  return "?";
}

// Indices printed along an axis of size n: all, or the edges with -1 marking "...".
std::vector<std::int64_t> printed_indices(std::int64_t n, bool summarize) {
  std::vector<std::int64_t> out;
  if (summarize && n > 2 * kEdgeItems) {
    for (std::int64_t i = 0; i < kEdgeItems; ++i) out.push_back(i);
    out.push_back(-1);
    for (std::int64_t i = n - kEdgeItems; i < n; ++i) out.push_back(i);
    return out;
  }
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
  return out;
}

class TensorFormatter {
 public:
  TensorFormatter(const Tensor& t) : t_(t), strides_(t.shape().size(), 1) {
    for (int i = t.rank() - 2; i >= 0; --i) strides_[i] = strides_[i + 1] * t.dim(i + 1);
    summarize_ = t.numel() > kSummarizeAbove;
    measure(0, 0);
  }

  std::string format() {
    std::string out;
    write(0, 0, out);
    return out;
  }

 private:
  // Finds the widest printed element, so that every column lines up. Floats line up at
  // the decimal point, so the widths before and after it are measured apart.
  void measure(int axis, std::int64_t offset) {
    if (axis == t_.rank()) {
      std::string text = format_element(t_, offset);
      std::size_t point = decimal_point(text);
      if (point == std::string::npos) {
        width_ = std::max(width_, text.size());
      } else {
        integer_width_ = std::max(integer_width_, point);
        fraction_width_ = std::max(fraction_width_, text.size() - point);
        width_ = std::max(width_, integer_width_ + fraction_width_);
      }
      return;
    }
    for (std::int64_t i : printed_indices(t_.dim(axis), summarize_))
      if (i >= 0) measure(axis + 1, offset + i * strides_[axis]);
  }

  void write(int axis, std::int64_t offset, std::string& out) {
    if (axis == t_.rank()) {
      std::string text = format_element(t_, offset);
      std::size_t point = decimal_point(text);
      if (point == std::string::npos) {
        // Integers, bools, nan and inf are right aligned.
        out.append(width_ - text.size(), ' ');
        out += text;
        return;
      }
      std::size_t right = fraction_width_ - (text.size() - point);
      out.append(width_ - text.size() - right, ' ');
      out += text;
      out.append(right, ' ');
      return;
    }
    out += '[';
    std::vector<std::int64_t> indices = printed_indices(t_.dim(axis), summarize_);
    if (axis == t_.rank() - 1)
      write_row(axis, offset, indices, out);
    else
      write_block(axis, offset, indices, out);
    out += ']';
  }

  // The innermost axis: elements separated by ", ", wrapped at the line width.
  void write_row(int axis, std::int64_t offset, const std::vector<std::int64_t>& indices,
                 std::string& out) {
    std::size_t indent = static_cast<std::size_t>(axis) + 1;
    std::size_t column = indent;
    for (std::size_t k = 0; k < indices.size(); ++k) {
      std::size_t item_width = indices[k] < 0 ? 3 : width_;
      if (k > 0) {
        out += ',';
        ++column;
        if (column + 1 + item_width + 1 > kLineWidth) {
          out += '\n';
          out.append(indent, ' ');
          column = indent;
        } else {
          out += ' ';
          ++column;
        }
      }
      if (indices[k] < 0)
        out += "...";
      else
        write(axis + 1, offset + indices[k] * strides_[axis], out);
      column += item_width;
    }
  }

  // An outer axis: one sub-block per line, with a blank line per extra level of nesting.
  void write_block(int axis, std::int64_t offset, const std::vector<std::int64_t>& indices,
                   std::string& out) {
    std::string separator = ",\n";
    separator.append(static_cast<std::size_t>(t_.rank() - axis - 2), '\n');
    separator.append(static_cast<std::size_t>(axis) + 1, ' ');
    for (std::size_t k = 0; k < indices.size(); ++k) {
      if (k > 0) out += separator;
      if (indices[k] < 0)
        out += "...";
      else
        write(axis + 1, offset + indices[k] * strides_[axis], out);
    }
  }

  // Position of the '.' of a float element, or npos for other elements.
  std::size_t decimal_point(const std::string& text) const {
    return is_float(t_.dtype()) ? text.find('.') : std::string::npos;
  }

  const Tensor& t_;
  Dims strides_;
  bool summarize_ = false;
  std::size_t integer_width_ = 0;   // widest text before the decimal point
  std::size_t fraction_width_ = 0;  // widest text from the decimal point on
  std::size_t width_ = 0;           // widest element
};

std::string json_element(const Tensor& t, std::int64_t index) {
  switch (t.dtype()) {
  case DType::Bool: return t.get_double(index) != 0 ? "true" : "false";
  case DType::Int32:
  case DType::Int64: return fmt::format("{}", t.get_int64(index));
  case DType::Float32:
  case DType::Float64: {
    double value = t.get_double(index);
    if (std::isnan(value)) return "\"nan\"";
    if (std::isinf(value)) return value > 0 ? "\"inf\"" : "\"-inf\"";
    if (t.dtype() == DType::Float32) return fmt::format("{}", static_cast<float>(value));
    return fmt::format("{}", value);
  }
  }
  return "null";
}

void json_data(const Tensor& t, int axis, std::int64_t offset, const Dims& strides,
               std::string& out) {
  if (axis == t.rank()) {
    out += json_element(t, offset);
    return;
  }
  out += '[';
  for (std::int64_t i = 0; i < t.dim(axis); ++i) {
    if (i > 0) out += ", ";
    json_data(t, axis + 1, offset + i * strides[axis], strides, out);
  }
  out += ']';
}

}  // namespace

std::string format_tensor(const Tensor& t) {
  if (!t.defined()) return "<undefined>";
  // An empty tensor prints as [] whatever its shape, as NumPy prints it: a shape such as
  // (100000000, 0) would otherwise print a line per row. The type beside it gives the shape.
  if (t.numel() == 0 && t.rank() > 0) return "[]";
  return TensorFormatter(t).format();
}

std::string format_type(DType dtype, const Shape& shape) {
  return fmt::format("{} {}", dtype_name(dtype), shape.to_string());
}

std::string format_tensor_with_type(const Tensor& t) {
  return fmt::format("{} : {}", format_tensor(t),
                     format_type(t.dtype(), Shape::from_dims(t.shape())));
}

std::string tensor_to_json(const Tensor& t) {
  Dims strides(t.shape().size(), 1);
  for (int i = t.rank() - 2; i >= 0; --i) strides[i] = strides[i + 1] * t.dim(i + 1);
  std::string data = "[]";
  if (t.numel() > 0 || t.rank() == 0) {
    data.clear();
    json_data(t, 0, 0, strides, data);
  }
  return fmt::format("{{\"dtype\": \"{}\", \"shape\": {}, \"data\": {}}}", dtype_name(t.dtype()),
                     shape_to_json(Shape::from_dims(t.shape())), data);
}

std::string shape_to_json(const Shape& shape) {
  std::string out = "[";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) out += ", ";
    const Dim& d = shape[i];
    out += d.is_static() ? fmt::format("{}", d.size()) : json_quote(d.symbol());
  }
  return out + "]";
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (byte < 0x20)
        out += fmt::format("\\u{:04x}", byte);
      else
        out += c;
    }
  }
  return out + "\"";
}

}  // namespace damo
