// Tensor: a dense, row-major, 64-byte aligned array with a dtype and a shape.
//
// Copies of a Tensor share its storage, as in NumPy and PyTorch; clone() makes an
// independent copy. A tensor is either owning (allocated by Damo) or a view of memory
// that the caller owns and keeps alive.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "damo/runtime/dtype.h"
#include "damo/runtime/error.h"

namespace damo {

using Dims = std::vector<std::int64_t>;

/// Number of elements of a shape; throws UserError when the count overflows int64.
std::int64_t dims_numel(const Dims& dims);

/// The maximum number of axes of a tensor or a graph node.
constexpr int kMaxRank = 64;

/// "(2, 3)" for {2, 3}; "()" for a scalar.
std::string dims_to_string(const Dims& dims);

/// Frees the released tensor and workspace buffers of 4 MiB or more that Damo keeps, up to
/// 64 MiB in all, for reuse by the next allocation of the same size, and returns their
/// bytes. A long-running program calls it after its large tensors are gone for good.
std::size_t release_unused_buffers();

/// Nested braces of numbers that build a Tensor: {{1, 2}, {3, 4}} is a 2 x 2 matrix.
/// An integer leaf keeps its exact value as an int64, so 2^53 + 1 stays exact in an int64
/// tensor. A floating-point leaf is a double.
class NestedList {
 public:
  /// A leaf's number: int64 for C++ integer types and bool, double for floating-point types.
  using Number = std::variant<std::int64_t, double>;

  /// A leaf. Throws UserError for an unsigned value above the int64 maximum, because no Damo
  /// dtype represents it exactly.
  template <class T>
    requires std::is_arithmetic_v<T>
  NestedList(T value) : number_(to_number(value)), is_leaf_(true) {}
  NestedList(std::initializer_list<NestedList> items) : items_(items) {}

  bool is_leaf() const { return is_leaf_; }
  const Number& number() const { return number_; }
  /// The leaf's number converted to double, which rounds integers beyond 2^53.
  double value() const;
  const std::vector<NestedList>& items() const { return items_; }

 private:
  template <class T> static Number to_number(T value) {
    if constexpr (std::is_floating_point_v<T>) {
      return static_cast<double>(value);
    } else if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (value > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
        throw_unsigned_too_large(static_cast<std::uint64_t>(value));
      return static_cast<std::int64_t>(value);
    } else {
      return static_cast<std::int64_t>(value);
    }
  }
  [[noreturn]] static void throw_unsigned_too_large(std::uint64_t value);

  Number number_ = std::int64_t{0};
  bool is_leaf_ = false;
  std::vector<NestedList> items_;
};

class Tensor {
 public:
  /// An undefined tensor: no storage, defined() is false.
  Tensor() = default;
  /// A zero-filled tensor.
  Tensor(DType dtype, Dims shape);

  /// A tensor whose contents are left uninitialized.
  static Tensor empty(DType dtype, Dims shape);
  static Tensor zeros(DType dtype, Dims shape) { return Tensor(dtype, std::move(shape)); }
  /// A tensor with every element set to value, converted to dtype.
  static Tensor full(DType dtype, Dims shape, double value);
  static Tensor scalar(DType dtype, double value) { return full(dtype, {}, value); }
  /// Builds from nested braces; all rows must have the same length.
  static Tensor from_list(const NestedList& list, DType dtype = DType::Float32);
  /// Copies values into a new tensor of the given shape; the sizes must agree.
  template <class T> static Tensor from_vector(const std::vector<T>& values, Dims shape);
  /// Wraps caller memory without copying; the caller keeps it alive and aligned for dtype.
  static Tensor view(void* data, DType dtype, Dims shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Dims& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  /// Size of one axis, 0 <= axis < rank(); throws UserError for another axis.
  std::int64_t dim(int axis) const;
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }
  bool is_view() const;

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  /// Typed element pointer; throws UserError when T is not the C++ type of the dtype.
  template <class T> T* data();
  template <class T> const T* data() const;

  /// Element at a flat row-major index, converted to double or int64. Throws UserError
  /// when index is outside [0, numel()).
  double get_double(std::int64_t index) const;
  std::int64_t get_int64(std::int64_t index) const;
  /// Stores value, converted to the tensor's dtype, at a flat row-major index; the index is
  /// checked as in get_double().
  void set_double(std::int64_t index, double value);
  /// Value of a one-element tensor, converted to double.
  double item() const;

  Tensor clone() const;
  /// A new tensor with the values converted as static_cast would (bool is value != 0).
  Tensor cast(DType dtype) const;
  /// A tensor sharing this storage with a new shape of the same element count.
  Tensor reshape(Dims shape) const;
  /// A new tensor with axes permuted: result axis i is this tensor's axis perm[i].
  Tensor permute(const std::vector<int>& perm) const;

  /// True when dtype, shape and every element match; NaN matches NaN and +0 matches -0.
  bool equals(const Tensor& other) const;
  /// True when dtype, shape and the element bytes match exactly, so +0 differs from -0.
  bool bitwise_equals(const Tensor& other) const;
  /// Hash of dtype, shape and element bytes, consistent with bitwise_equals().
  std::size_t content_hash() const;

  /// NumPy-like text: [[1, 2], [3, 4]]; large tensors are summarized with "...".
  std::string to_string() const;

 private:
  struct Storage;
  Tensor(std::shared_ptr<Storage> storage, void* data, DType dtype, Dims shape);
  /// Throws UserError naming caller when T is not the C++ type of the tensor's dtype.
  void check_element_type(DType requested, const char* caller) const;
  /// Throws UserError naming caller when index is outside [0, numel()).
  void check_defined(const char* caller) const;
  void check_index(std::int64_t index, const char* caller) const;

  std::shared_ptr<Storage> storage_;
  void* data_ = nullptr;
  DType dtype_ = DType::Float32;
  Dims shape_;
  std::int64_t numel_ = 0;
};

template <class T> T* Tensor::data() {
  if (DTypeOf<T>::value != dtype_) check_element_type(DTypeOf<T>::value, "Tensor::data");
  return static_cast<T*>(data_);
}

template <class T> const T* Tensor::data() const {
  if (DTypeOf<T>::value != dtype_) check_element_type(DTypeOf<T>::value, "Tensor::data");
  return static_cast<const T*>(data_);
}

template <class T> Tensor Tensor::from_vector(const std::vector<T>& values, Dims shape) {
  Tensor t = empty(DTypeOf<T>::value, std::move(shape));
  if (static_cast<std::int64_t>(values.size()) != t.numel())
    throw UserError("Tensor::from_vector: " + std::to_string(values.size()) +
                    " values do not fill shape " + dims_to_string(t.shape()) + " of " +
                    std::to_string(t.numel()) + " elements");
  T* out = t.data<T>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace damo
