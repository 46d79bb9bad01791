#include "damo/graph/promotion.h"

#include <algorithm>

namespace damo {

DTypeKind dtype_kind(DType dtype) {
  if (dtype == DType::Bool) return DTypeKind::Bool;
  return is_integer(dtype) ? DTypeKind::Integer : DTypeKind::Float;
}

DType promote_types(DType a, DType b) {
  return static_cast<DType>(std::max(static_cast<int>(a), static_cast<int>(b)));
}

OperandType promote(OperandType a, OperandType b) {
  if (a.weak == b.weak) return {promote_types(a.dtype, b.dtype), a.weak};
  const OperandType& weak = a.weak ? a : b;
  const OperandType& typed = a.weak ? b : a;
  DTypeKind weak_kind = dtype_kind(weak.dtype);
  if (weak_kind <= dtype_kind(typed.dtype)) return {typed.dtype, false};
  return {weak_kind == DTypeKind::Float ? kDefaultFloat : kDefaultInt, false};
}

}  // namespace damo
