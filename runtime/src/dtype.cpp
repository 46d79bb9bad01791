#include "damo/runtime/dtype.h"

namespace damo {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
  case DType::Bool: return "bool";
  case DType::Int32: return "i32";
  case DType::Int64: return "i64";
  case DType::Float32: return "f32";
  case DType::Float64: return "f64";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view text) {
  if (text == "bool") return DType::Bool;
  if (text == "i32" || text == "int32") return DType::Int32;
  if (text == "i64" || text == "int64") return DType::Int64;
  if (text == "f32" || text == "float32") return DType::Float32;
  if (text == "f64" || text == "float64") return DType::Float64;
  return std::nullopt;
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
  case DType::Bool: return 1;
  case DType::Int32: return 4;
  case DType::Int64: return 8;
  case DType::Float32: return 4;
  case DType::Float64: return 8;
  }
  return 0;
}

}  // namespace damo
