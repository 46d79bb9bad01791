#include "damo/runtime/tensor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <new>

#include "allocation.h"

namespace damo {

namespace {

// Maximum number of elements printed in full; larger tensors show their edges only.
constexpr std::int64_t kPrintThreshold = 1000;
constexpr std::int64_t kPrintEdgeItems = 3;

// value as an element of type T: bool is value != 0, integers saturate and take 0 for NaN
// instead of the undefined behaviour of an out-of-range static_cast.
template <class T> T convert_element(double value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(value)) return 0;
    if (value <= static_cast<double>(std::numeric_limits<T>::min()))
      return std::numeric_limits<T>::min();
    if (value >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(value);
  } else {
    return static_cast<T>(value);
  }
}

// value as an element of type T: exact when T can represent it, saturating for a narrower integer
// type, and rounded to nearest for a floating-point type.
template <class T> T convert_element(std::int64_t value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (value < static_cast<std::int64_t>(std::numeric_limits<T>::min()))
      return std::numeric_limits<T>::min();
    if (value > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(value);
  } else {
    return static_cast<T>(value);
  }
}

}  // namespace

double NestedList::value() const {
  return std::visit([](auto number) { return static_cast<double>(number); }, number_);
}

void NestedList::throw_unsigned_too_large(std::uint64_t value) {
  throw UserError(fmt::format("NestedList: the integer {} is above the int64 maximum {}, and no "
                              "Damo dtype represents it exactly; pass it as a double, such as {}.0, "
                              "for a float tensor",
                              value, std::numeric_limits<std::int64_t>::max(), value));
}

struct Tensor::Storage {
  void* memory = nullptr;
  std::size_t bytes = 0;
  bool owned = false;

  ~Storage() {
    if (owned) detail::release_buffer(memory, bytes);
  }
};

std::int64_t dims_numel(const Dims& dims) {
  if (dims.size() > static_cast<std::size_t>(kMaxRank))
    throw UserError(fmt::format("a shape with {} axes is invalid; tensors have at most {}",
                                dims.size(), kMaxRank));
  for (std::int64_t d : dims)
    if (d < 0) throw UserError(fmt::format("negative dimension {} in shape {}", d, dims_to_string(dims)));
  // Sizes of 0 are left out of the overflow check, so that (0, 2^40, 2^40) is rejected like
  // (2^40, 2^40, 0): strides are products of sizes in either order.
  bool empty = std::find(dims.begin(), dims.end(), 0) != dims.end();
  std::int64_t count = 1;
  for (std::int64_t d : dims) {
    if (d == 0) continue;
    if (count > std::numeric_limits<std::int64_t>::max() / d)
      throw UserError(empty ? fmt::format("the nonzero sizes of shape {} multiply beyond int64",
                                          dims_to_string(dims))
                            : fmt::format("shape {} has more elements than fit in int64",
                                          dims_to_string(dims)));
    count *= d;
  }
  return empty ? 0 : count;
}

std::size_t release_unused_buffers() { return detail::drop_reusable_buffers(); }

std::string dims_to_string(const Dims& dims) {
  if (dims.size() == 1) return fmt::format("({},)", dims[0]);
  return fmt::format("({})", fmt::join(dims, ", "));
}

Tensor::Tensor(std::shared_ptr<Storage> storage, void* data, DType dtype, Dims shape)
    : storage_(std::move(storage)), data_(data), dtype_(dtype), shape_(std::move(shape)),
      numel_(dims_numel(shape_)) {}

Tensor Tensor::empty(DType dtype, Dims shape) {
  std::int64_t count = dims_numel(shape);
  std::size_t element = dtype_size(dtype);
  if (count > static_cast<std::int64_t>(std::numeric_limits<std::size_t>::max() / 2 / element))
    throw UserError(fmt::format("cannot allocate a {} tensor of shape {}: too many bytes",
                                dtype_name(dtype), dims_to_string(shape)));
  std::size_t bytes = static_cast<std::size_t>(count) * element;
  void* memory = detail::allocate_buffer(bytes);
  if (memory == nullptr)
    throw RuntimeError(fmt::format("out of memory: cannot allocate {} bytes for a {} tensor of "
                                   "shape {}",
                                   bytes, dtype_name(dtype), dims_to_string(shape)));
  auto storage = std::make_shared<Storage>();
  storage->memory = memory;
  storage->bytes = bytes;
  storage->owned = true;
  return Tensor(std::move(storage), memory, dtype, std::move(shape));
}

Tensor::Tensor(DType dtype, Dims shape) {
  *this = empty(dtype, std::move(shape));
  std::memset(data_, 0, nbytes());
}

Tensor Tensor::full(DType dtype, Dims shape, double value) {
  Tensor t = empty(dtype, std::move(shape));
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T converted = convert_element<T>(value);
    T* out = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) out[i] = converted;
  });
  return t;
}

namespace {

void collect_list(const NestedList& list, std::size_t depth, Dims& shape,
                  std::vector<NestedList::Number>& flat) {
  if (list.is_leaf()) {
    if (depth != shape.size())
      throw UserError("Tensor::from_list: a number appears where a nested list was expected "
                      "(rows must all have the same depth)");
    flat.push_back(list.number());
    return;
  }
  auto length = static_cast<std::int64_t>(list.items().size());
  if (depth == shape.size()) {
    // The first list seen at this depth fixes the dimension, unless a leaf came first.
    if (!flat.empty())
      throw UserError("Tensor::from_list: a nested list appears where a number was expected");
    // resize rather than push_back: GCC 12 reports a false out-of-bounds write
    // (-Warray-bounds) in push_back's reallocation here.
    shape.resize(shape.size() + 1, length);
  } else if (shape[depth] != length) {
    throw UserError(fmt::format("Tensor::from_list: a row at depth {} has {} items but an "
                                "earlier row has {}",
                                depth, length, shape[depth]));
  }
  for (const NestedList& item : list.items()) collect_list(item, depth + 1, shape, flat);
}

}  // namespace

Tensor Tensor::from_list(const NestedList& list, DType dtype) {
  Dims shape;
  std::vector<NestedList::Number> flat;
  collect_list(list, 0, shape, flat);
  Tensor t = empty(dtype, shape);
  if (static_cast<std::int64_t>(flat.size()) != t.numel())
    throw UserError("Tensor::from_list: rows of different depths");

  // Each leaf converts from its own type, so an int64 leaf reaches an int64 tensor exactly.
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* out = t.data<T>();
    for (std::size_t i = 0; i < flat.size(); ++i)
      out[i] = std::visit([](auto number) { return convert_element<T>(number); }, flat[i]);
  });
  return t;
}

Tensor Tensor::view(void* data, DType dtype, Dims shape) {
  std::int64_t count = dims_numel(shape);
  if (data == nullptr && count > 0)
    throw UserError(fmt::format("Tensor::view: null data pointer for shape {}", dims_to_string(shape)));
  if (count > static_cast<std::int64_t>(std::numeric_limits<std::size_t>::max() / 2 / dtype_size(dtype)))
    throw UserError(fmt::format("Tensor::view: a {} tensor of shape {} covers more bytes than memory "
                                "can hold; check the shape passed with the data pointer",
                                dtype_name(dtype), dims_to_string(shape)));
  if (reinterpret_cast<std::uintptr_t>(data) % dtype_size(dtype) != 0)
    throw UserError(fmt::format("Tensor::view: data pointer {} is not aligned to {} bytes for {}",
                                data, dtype_size(dtype), dtype_name(dtype)));
  auto storage = std::make_shared<Storage>();
  storage->memory = data;
  storage->owned = false;
  return Tensor(std::move(storage), data, dtype, std::move(shape));
}

bool Tensor::is_view() const { return storage_ && !storage_->owned; }

std::int64_t Tensor::dim(int axis) const {
  if (axis < 0 || axis >= rank())
    throw UserError(fmt::format("Tensor::dim: axis {} is out of range for a tensor of shape {} "
                                "(rank {}); pass an axis from 0 to rank - 1",
                                axis, dims_to_string(shape_), rank()));
  return shape_[static_cast<std::size_t>(axis)];
}

void Tensor::check_element_type(DType requested, const char* caller) const {
  if (requested == dtype_) return;
  throw UserError(fmt::format("{}: the tensor contains {} elements but was accessed as {}; use the "
                              "C++ type of its dtype, or convert it with cast()",
                              caller, dtype_name(dtype_), dtype_name(requested)));
}

void Tensor::check_defined(const char* caller) const {
  if (defined()) return;
  throw UserError(fmt::format("{}: the tensor is undefined (a default-constructed Tensor has no "
                              "dtype, shape or data); give it a value first, for example with "
                              "Tensor::empty() or Tensor::from_list()",
                              caller));
}

void Tensor::check_index(std::int64_t index, const char* caller) const {
  check_defined(caller);
  if (index >= 0 && index < numel_) return;
  throw UserError(fmt::format("{}: index {} is out of range for a tensor of shape {} with {} "
                              "elements",
                              caller, index, dims_to_string(shape_), numel_));
}

double Tensor::get_double(std::int64_t index) const {
  check_index(index, "Tensor::get_double");
  return visit_dtype(dtype_, [&](auto zero) {
    using T = decltype(zero);
    return static_cast<double>(static_cast<const T*>(data_)[index]);
  });
}

std::int64_t Tensor::get_int64(std::int64_t index) const {
  check_index(index, "Tensor::get_int64");
  return visit_dtype(dtype_, [&](auto zero) -> std::int64_t {
    using T = decltype(zero);
    T v = static_cast<const T*>(data_)[index];
    if constexpr (std::is_floating_point_v<T>) {
      // Out-of-range and NaN values would be undefined behaviour in a plain cast.
      if (!(v >= -9.2233720368547758e18 && v < 9.2233720368547758e18)) return 0;
    }
    return static_cast<std::int64_t>(v);
  });
}

void Tensor::set_double(std::int64_t index, double value) {
  check_index(index, "Tensor::set_double");
  visit_dtype(dtype_, [&](auto zero) {
    using T = decltype(zero);
    static_cast<T*>(data_)[index] = convert_element<T>(value);
  });
}

double Tensor::item() const {
  check_defined("Tensor::item");
  if (numel_ != 1)
    throw UserError(fmt::format("Tensor::item: tensor of shape {} has {} elements, not 1",
                                dims_to_string(shape_), numel_));
  return get_double(0);
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::cast(DType dtype) const {
  check_defined("Tensor::cast");
  if (dtype == dtype_) return clone();
  Tensor t = empty(dtype, shape_);
  visit_dtype(dtype_, [&](auto from_zero) {
    using From = decltype(from_zero);
    visit_dtype(dtype, [&](auto to_zero) {
      using To = decltype(to_zero);
      const From* in = static_cast<const From*>(data_);
      To* out = static_cast<To*>(t.data_);
      for (std::int64_t i = 0; i < numel_; ++i) {
        if constexpr (std::is_same_v<To, bool>) {
          out[i] = in[i] != From{};
        } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
          // Float to integer: NaN becomes 0 and out-of-range values saturate, as in the JIT.
          From v = in[i];
          if (std::isnan(v)) out[i] = 0;
          else if (v <= static_cast<From>(std::numeric_limits<To>::min())) out[i] = std::numeric_limits<To>::min();
          else if (v >= static_cast<From>(std::numeric_limits<To>::max())) out[i] = std::numeric_limits<To>::max();
          else out[i] = static_cast<To>(v);
        } else {
          out[i] = static_cast<To>(in[i]);
        }
      }
    });
  });
  return t;
}

Tensor Tensor::reshape(Dims shape) const {
  check_defined("Tensor::reshape");
  if (dims_numel(shape) != numel_)
    throw UserError(fmt::format("cannot reshape a tensor of shape {} ({} elements) to {}",
                                dims_to_string(shape_), numel_, dims_to_string(shape)));
  return Tensor(storage_, data_, dtype_, std::move(shape));
}

Tensor Tensor::permute(const std::vector<int>& perm) const {
  check_defined("Tensor::permute");
  int n = rank();
  if (static_cast<int>(perm.size()) != n)
    throw UserError(fmt::format("permute: {} axes given for a tensor of rank {}", perm.size(), n));
  Dims out_shape(n);
  Dims in_strides(n, 1);
  for (int i = n - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * shape_[i + 1];
  std::vector<bool> seen(n, false);
  for (int i = 0; i < n; ++i) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]])
      throw UserError(fmt::format("permute: the axes ({}) are not a permutation of 0 to {}; "
                                  "name each axis of the rank-{} tensor once",
                                  fmt::join(perm, ", "), n - 1, n));
    seen[perm[i]] = true;
    out_shape[i] = shape_[perm[i]];
  }
  Tensor t = empty(dtype_, out_shape);
  std::size_t element = dtype_size(dtype_);
  Dims index(n, 0);
  auto* out = static_cast<unsigned char*>(t.data_);
  const auto* in = static_cast<const unsigned char*>(data_);
  for (std::int64_t flat = 0; flat < numel_; ++flat) {
    std::int64_t offset = 0;
    for (int i = 0; i < n; ++i) offset += index[i] * in_strides[perm[i]];
    std::memcpy(out + flat * element, in + offset * element, element);
    for (int i = n - 1; i >= 0; --i) {
      if (++index[i] < out_shape[i]) break;
      index[i] = 0;
    }
  }
  return t;
}

bool Tensor::equals(const Tensor& other) const {
  if (defined() != other.defined()) return false;
  if (!defined()) return true;
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  for (std::int64_t i = 0; i < numel_; ++i) {
    double a = get_double(i), b = other.get_double(i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (a != b) return false;
    if (is_integer(dtype_) && get_int64(i) != other.get_int64(i)) return false;
  }
  return true;
}

bool Tensor::bitwise_equals(const Tensor& other) const {
  if (defined() != other.defined()) return false;
  if (!defined()) return true;
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  return nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0;
}

std::size_t Tensor::content_hash() const {
  std::size_t h = std::hash<int>{}(static_cast<int>(dtype_));
  auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  for (std::int64_t d : shape_) mix(std::hash<std::int64_t>{}(d));
  const auto* bytes = static_cast<const unsigned char*>(data_);
  // FNV-1a over the element bytes: a fast, well-spread hash for constant interning.
  std::uint64_t fnv = 1469598103934665603ULL;
  for (std::size_t i = 0; i < nbytes(); ++i) fnv = (fnv ^ bytes[i]) * 1099511628211ULL;
  mix(fnv);
  return h;
}

namespace {

std::string format_element(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
  case DType::Bool: return t.data<bool>()[i] ? "true" : "false";
  case DType::Int32: return fmt::format("{}", t.data<std::int32_t>()[i]);
  case DType::Int64: return fmt::format("{}", t.data<std::int64_t>()[i]);
  case DType::Float32: return fmt::format("{}", t.data<float>()[i]);
  case DType::Float64: return fmt::format("{}", t.data<double>()[i]);
  }
  return "?";
}

void format_axis(const Tensor& t, int axis, std::int64_t offset, const Dims& strides,
                 bool summarize, std::string& out) {
  if (axis == t.rank()) {
    out += format_element(t, offset);
    return;
  }
  std::int64_t n = t.dim(axis);
  out += '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kPrintEdgeItems && i == kPrintEdgeItems) {
      out += "..., ";
      i = n - kPrintEdgeItems - 1;
      continue;
    }
    format_axis(t, axis + 1, offset + i * strides[axis], strides, summarize, out);
    if (i + 1 < n) out += ", ";
  }
  out += ']';
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "<undefined tensor>";
  Dims strides(shape_.size(), 1);
  for (int i = rank() - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape_[i + 1];
  std::string out;
  format_axis(*this, 0, 0, strides, numel_ > kPrintThreshold, out);
  return out;
}

}  // namespace damo
