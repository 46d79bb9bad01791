// Numbers, constant values and node attribute details as the printers write them.
#include "printer_text.h"

#include <fmt/format.h>

#include <cmath>

#include "damo/graph/ops.h"
#include "damo/graph/printer.h"

namespace damo::detail {

namespace {

// The shortest text that reads back as the same value of type T; 2.0 prints as 2.
template <class T> std::string format_float(T value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  return fmt::format("{}", value);
}

std::string format_bool(const char* key, bool value) {
  return value ? fmt::format(" {}=true", key) : std::string();
}

// Attributes of node as " key=value" pairs, in the order documented for dump().
std::string format_attributes(const Node& node) {
  const Attrs& attrs = node.attrs();
  switch (node.op()) {
  case OpKind::Transpose: return " perm=" + format_int_list(attrs.ints);
  case OpKind::Squeeze: return " axis=" + format_int_list(attrs.ints);
  case OpKind::OneHot: return fmt::format(" depth={}", attrs.ints.at(0));
  case OpKind::RandomUniform: return fmt::format(" stream={}", attrs.ints.at(0));
  case OpKind::Param: return fmt::format(" index={}", attrs.ints.at(0));
  case OpKind::Slice:
  case OpKind::SliceScatter: {
    std::int64_t stop = attrs.ints.at(2);
    std::string stop_text = std::to_string(stop);
    if (slice_counts_from_end(node)) stop_text = stop == 0 ? "end" : fmt::format("end{}", stop);
    return fmt::format(" axis={} start={} stop={} step={}", attrs.ints.at(0), attrs.ints.at(1),
                       stop_text, attrs.ints.at(3));
  }
  case OpKind::FusedMatMul: {
    std::string text;
    if (attrs.sub_op != OpKind::Param) text += fmt::format(" activation={}", op_name(attrs.sub_op));
    return text + format_bool("transpose_a", attrs.ints.at(0) != 0) +
           format_bool("transpose_b", attrs.ints.at(1) != 0);
  }
  case OpKind::CumSum:
    return fmt::format(" axis={}", attrs.ints.at(0)) + format_bool("reverse", attrs.ints.at(1) != 0);
  case OpKind::ArgSort:
    return fmt::format(" axis={}", attrs.ints.at(0)) + format_bool("descending", attrs.ints.at(1) != 0);
  case OpKind::FusedElementwise: return fmt::format(" body={{{}}}", to_infix(Expr(attrs.body)));
  case OpKind::FusedReduction:
    return fmt::format(" reduce={} axis={}{} body={{{}}}", op_name(attrs.sub_op),
                       format_int_list(attrs.ints), format_bool("keepdims", attrs.keepdims),
                       to_infix(Expr(attrs.body)));
  default: break;
  }

  if (op_category(node.op()) == OpCategory::Reduction)
    return " axis=" + format_int_list(attrs.ints) + format_bool("keepdims", attrs.keepdims);
  if (attrs.ints.size() == 1) return fmt::format(" axis={}", attrs.ints[0]);
  return attrs.ints.empty() ? std::string() : " ints=" + format_int_list(attrs.ints);
}

}  // namespace

std::string format_element(const Tensor& t, std::int64_t index) {
  switch (t.dtype()) {
  case DType::Bool: return t.data<bool>()[index] ? "true" : "false";
  case DType::Int32: return fmt::format("{}", t.data<std::int32_t>()[index]);
  case DType::Int64: return fmt::format("{}", t.data<std::int64_t>()[index]);
  case DType::Float32: return format_float(t.data<float>()[index]);
  case DType::Float64: break;
  }
  return format_float(t.data<double>()[index]);
}

std::optional<std::string> format_small_value(const Tensor& t) {
  if (!t.defined() || t.numel() == 0 || t.numel() > kMaxPrintedElements) return std::nullopt;

  // block[a] is the number of elements in one list along axis a. Such a list opens before
  // each element whose index is a multiple of block[a], and closes after its last element.
  std::vector<std::int64_t> block(static_cast<std::size_t>(t.rank()), 1);
  std::int64_t size = 1;
  for (int axis = t.rank() - 1; axis >= 0; --axis) {
    size *= t.dim(axis);
    block[static_cast<std::size_t>(axis)] = size;
  }

  std::string text;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (i > 0) text += ", ";
    for (std::int64_t b : block)
      if (i % b == 0) text += '[';
    text += format_element(t, i);
    for (std::int64_t b : block)
      if ((i + 1) % b == 0) text += ']';
  }
  return text;
}

std::string format_int_list(const std::vector<std::int64_t>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}

std::string format_dims_list(const Shape& shape) {
  std::vector<std::string> dims;
  for (const Dim& d : shape) dims.push_back(d.to_string());
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

std::string format_details(const Node& node) {
  std::string text = format_attributes(node);
  if (node.weak()) text += " weak";

  if (node.op() == OpKind::Input || node.op() == OpKind::Shared || node.op() == OpKind::DimSize) {
    text += ' ';
    text += node.name();
  } else if (node.is_constant()) {
    if (auto value = format_small_value(node.value())) text += ' ' + *value;
  }
  return text;
}

}  // namespace damo::detail
