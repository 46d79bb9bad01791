// Element types of tensors and the scalar C++ types that store them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace damo {

enum class DType : std::uint8_t { Bool, Int32, Int64, Float32, Float64 };

inline constexpr DType kAllDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                                       DType::Float64};

/// Short name used in printed graphs and the expression language: bool, i32, i64, f32, f64.
std::string_view dtype_name(DType dtype);

/// Parses a short name (f32) or a NumPy-style long name (float32); nullopt when unknown.
std::optional<DType> parse_dtype(std::string_view text);

/// Size in bytes of one element. Bool is stored as one byte holding 0 or 1.
std::size_t dtype_size(DType dtype);

inline bool is_float(DType d) { return d == DType::Float32 || d == DType::Float64; }
inline bool is_integer(DType d) { return d == DType::Int32 || d == DType::Int64; }

/// Maps a C++ element type to its DType. Other element types do not compile.
template <class T> struct DTypeOf {
  static_assert(sizeof(T) == 0,
                "Damo tensors hold bool, std::int32_t, std::int64_t, float or double elements; "
                "convert the values to one of these types first");
};
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<std::int32_t> { static constexpr DType value = DType::Int32; };
template <> struct DTypeOf<std::int64_t> { static constexpr DType value = DType::Int64; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };

/// Calls fn with a value-initialized object of the C++ type that stores dtype.
template <class Fn> decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
  case DType::Bool: return fn(bool{});
  case DType::Int32: return fn(std::int32_t{});
  case DType::Int64: return fn(std::int64_t{});
  case DType::Float32: return fn(float{});
  case DType::Float64: break;
  }
  return fn(double{});
}

}  // namespace damo
