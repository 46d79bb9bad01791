// Symbolic shapes: each dimension is a static size or a named symbolic size such as "n".
//
// Broadcasting follows NumPy: shapes align at the trailing axis, and a static 1 stretches
// to the other size. A symbolic dimension is never taken to be 1, so it broadcasts only
// against a static 1 or the same symbol; that keeps broadcasting decided when the graph is
// built. At call time the runtime binds each symbol to one size, which may be 0 or 1.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "damo/runtime/tensor.h"

namespace damo {

class Dim {
 public:
  /// A static size. In a reshape request, -1 stands for the size to infer.
  template <std::integral T>
  Dim(T size) : size_(static_cast<std::int64_t>(size)) {}
  /// A symbolic size named by symbol; the name must be an identifier.
  Dim(const char* symbol) : Dim(std::string(symbol)) {}
  Dim(std::string symbol);

  bool is_static() const { return symbol_.empty(); }
  bool is_symbolic() const { return !symbol_.empty(); }
  /// The static size; meaningful only when is_static().
  std::int64_t size() const { return size_; }
  const std::string& symbol() const { return symbol_; }

  /// This size less k (k >= 0), and 0 where that is negative: a static size, or for a
  /// symbolic one the derived symbol "n-k" of runtime/signature.h, whose size follows from
  /// n at call time. x[1:] of an axis of symbolic size n has size n.minus(1).
  Dim minus(std::int64_t k) const;
  /// This size times k (k >= 0): a static size, or for a symbolic one the derived symbol
  /// "n*k" of runtime/signature.h. Reshaping (n, 3) to (-1,) gives n.times(3); (n-1)
  /// times 3 is "n*3-3". Throws UserError when a static product does not fit in int64.
  Dim times(std::int64_t k) const;
  /// This size divided by k (k >= 1) when the quotient is a size of the same kind: a static
  /// size divisible by k, or a derived size "n*t-m" with t and m divisible by k. nullopt
  /// otherwise; "n*6-3" divided by 3 is "n*2-1", and "n" divided by 2 has no name.
  std::optional<Dim> divided(std::int64_t k) const;
  /// The symbolic size that symbol names: an identifier, or a derived size such as "n-1"
  /// or "n*3" from to_string(). Throws UserError for other names.
  static Dim from_symbol(const std::string& symbol);
  /// True for a derived symbolic size such as "n-1" or "n*3".
  bool is_derived() const;
  /// The symbol that argument shapes bind: "n" for "n", "n-2" and "n*3". Empty when static.
  std::string base_symbol() const;

  bool operator==(const Dim& other) const = default;
  std::string to_string() const;

 private:
  struct Derived {};
  Dim(Derived, std::string symbol) : symbol_(std::move(symbol)) {}

  std::int64_t size_ = 0;
  std::string symbol_;
};

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<Dim> dims) : dims_(dims) {}
  explicit Shape(std::vector<Dim> dims) : dims_(std::move(dims)) {}
  /// A fully static shape.
  static Shape from_dims(const Dims& dims);

  int rank() const { return static_cast<int>(dims_.size()); }
  /// Dimension axis, 0 <= axis < rank(); throws UserError for another axis.
  const Dim& operator[](int axis) const {
    if (axis < 0 || axis >= rank()) fail_axis(axis);
    return dims_[static_cast<std::size_t>(axis)];
  }
  const std::vector<Dim>& dims() const { return dims_; }
  auto begin() const { return dims_.begin(); }
  auto end() const { return dims_.end(); }

  bool is_static() const;
  /// Static sizes; throws UserError when a dimension is symbolic.
  Dims static_dims() const;
  /// Element count when static, nullopt otherwise.
  std::optional<std::int64_t> static_numel() const;
  /// True when some dimension is a static 0, so the tensor is empty for every binding.
  bool is_statically_empty() const;

  bool operator==(const Shape& other) const = default;
  /// "(n, 6)"; "()" for a scalar; "(3,)" for rank 1.
  std::string to_string() const;

 private:
  [[noreturn]] void fail_axis(int axis) const;

  std::vector<Dim> dims_;
};

/// Broadcast shape of a and b, or nullopt when they do not broadcast.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);

/// Normalizes axis (negative counts from the end) for the given rank, or throws UserError
/// naming op and the valid range.
int normalize_axis(std::int64_t axis, int rank, const std::string& op);

}  // namespace damo
