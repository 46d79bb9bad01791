// Dtype promotion: the dtype an op computes in when its operands' dtypes differ.
//
// Typed operands promote to the later dtype in the order bool < i32 < i64 < f32 < f64.
// Weak operands are literals written without a dtype (a C++ number, a number in the
// expression language). A weak operand takes the dtype of the typed operand when its kind
// (bool, integer, float) is no higher than the typed operand's kind, so a plain number
// never widens a float32 tensor. When the weak operand's kind is higher, the result is the
// default dtype of that kind: i64 for integers, f32 for floats. Two weak operands promote
// like typed ones and the result stays weak.
//
//            | bool  i32   i64   f32   f64  | weak int  weak float
//   bool     | bool  i32   i64   f32   f64  | i64       f32
//   i32      | i32   i32   i64   f32   f64  | i32       f32
//   i64      | i64   i64   i64   f32   f64  | i64       f32
//   f32      | f32   f32   f32   f32   f64  | f32       f32
//   f64      | f64   f64   f64   f64   f64  | f64       f64
#pragma once

#include "damo/runtime/dtype.h"

namespace damo {

enum class DTypeKind { Bool, Integer, Float };

DTypeKind dtype_kind(DType dtype);

inline constexpr DType kDefaultInt = DType::Int64;
inline constexpr DType kDefaultFloat = DType::Float32;

/// The dtype and weakness of an operand.
struct OperandType {
  DType dtype;
  bool weak;

  bool operator==(const OperandType&) const = default;
};

/// Promotion of two typed dtypes: the later in bool < i32 < i64 < f32 < f64.
DType promote_types(DType a, DType b);

/// Promotion of two operands, following the table above.
OperandType promote(OperandType a, OperandType b);

}  // namespace damo
