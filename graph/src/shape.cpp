#include "damo/graph/shape.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>

#include "damo/runtime/signature.h"

namespace damo {

Dim::Dim(std::string symbol) : symbol_(std::move(symbol)) {
  bool valid = !symbol_.empty() &&
               (std::isalpha(static_cast<unsigned char>(symbol_[0])) || symbol_[0] == '_');
  for (char c : symbol_) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!valid)
    throw UserError(
        fmt::format("invalid symbolic dimension name '{}': use letters, digits and "
                    "underscores, starting with a letter",
                    symbol_));
}

namespace {

DerivedSymbol derived_of(const std::string& symbol) {
  std::optional<DerivedSymbol> derived = parse_derived_symbol(symbol);
  return derived ? *derived : DerivedSymbol{symbol};
}

}  // namespace

Dim Dim::minus(std::int64_t k) const {
  if (k < 0)
    throw UserError(fmt::format("Dim::minus: the amount {} is negative; a size can only shrink", k));
  if (is_static()) return Dim(size_ > k ? size_ - k : 0);
  if (k == 0) return *this;
  DerivedSymbol derived = derived_of(symbol_);
  if (k > INT64_MAX - derived.minus)
    throw UserError(fmt::format("the size {} less {} does not fit in 64 bits", symbol_, k));
  derived.minus += k;
  return Dim(Derived{}, derived_symbol_name(derived));
}

Dim Dim::times(std::int64_t k) const {
  if (k < 0)
    throw UserError(fmt::format("Dim::times: the factor {} is negative; a size cannot be negative", k));
  std::int64_t product = 0;
  if (is_static()) {
    if (__builtin_mul_overflow(size_, k, &product))
      throw UserError(fmt::format("the size {} times {} does not fit in 64 bits", size_, k));
    return Dim(product);
  }
  if (k == 0) return Dim(0);
  if (k == 1) return *this;
  // max(0, t n - m) k = max(0, (t k) n - m k) for k >= 0.
  DerivedSymbol derived = derived_of(symbol_);
  if (__builtin_mul_overflow(derived.times, k, &derived.times) ||
      __builtin_mul_overflow(derived.minus, k, &derived.minus))
    throw UserError(fmt::format("the size {} times {} does not fit in 64 bits", symbol_, k));
  return Dim(Derived{}, derived_symbol_name(derived));
}

std::optional<Dim> Dim::divided(std::int64_t k) const {
  if (k < 1) return std::nullopt;
  if (is_static()) return size_ % k == 0 ? std::optional<Dim>(Dim(size_ / k)) : std::nullopt;
  DerivedSymbol derived = derived_of(symbol_);
  if (derived.times % k != 0 || derived.minus % k != 0) return std::nullopt;
  derived.times /= k;
  derived.minus /= k;
  return Dim(Derived{}, derived_symbol_name(derived));
}

Dim Dim::from_symbol(const std::string& symbol) {
  std::optional<DerivedSymbol> derived = parse_derived_symbol(symbol);
  return derived ? Dim(derived->base).times(derived->times).minus(derived->minus) : Dim(symbol);
}

bool Dim::is_derived() const { return is_symbolic() && parse_derived_symbol(symbol_).has_value(); }

std::string Dim::base_symbol() const {
  std::optional<DerivedSymbol> derived = is_symbolic() ? parse_derived_symbol(symbol_) : std::nullopt;
  return derived ? derived->base : symbol_;
}

std::string Dim::to_string() const { return is_static() ? std::to_string(size_) : symbol_; }

Shape Shape::from_dims(const Dims& dims) {
  std::vector<Dim> out;
  out.reserve(dims.size());
  for (std::int64_t d : dims) out.emplace_back(d);
  return Shape(std::move(out));
}

void Shape::fail_axis(int axis) const {
  throw UserError(fmt::format("Shape: axis {} is out of range for shape {} of rank {}", axis,
                              to_string(), rank()));
}

bool Shape::is_static() const {
  for (const Dim& d : dims_)
    if (d.is_symbolic()) return false;
  return true;
}

Dims Shape::static_dims() const {
  Dims out;
  out.reserve(dims_.size());
  for (const Dim& d : dims_) {
    if (!d.is_static())
      throw UserError(
          fmt::format("static_dims(): the shape {} has symbolic dimensions; bind "
                      "them first or use is_static() to check",
                      to_string()));
    out.push_back(d.size());
  }
  return out;
}

std::optional<std::int64_t> Shape::static_numel() const {
  if (!is_static()) return std::nullopt;
  return dims_numel(static_dims());
}

bool Shape::is_statically_empty() const {
  for (const Dim& d : dims_)
    if (d.is_static() && d.size() == 0) return true;
  return false;
}

std::string Shape::to_string() const {
  std::string out = "(";
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i > 0) out += ", ";
    out += dims_[i].to_string();
  }
  if (dims_.size() == 1) out += ',';
  return out + ")";
}

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  int rank = std::max(a.rank(), b.rank());
  std::vector<Dim> out(static_cast<std::size_t>(rank), Dim(1));
  for (int i = 0; i < rank; ++i) {
    int ia = a.rank() - rank + i;
    int ib = b.rank() - rank + i;
    Dim da = ia >= 0 ? a[ia] : Dim(1);
    Dim db = ib >= 0 ? b[ib] : Dim(1);
    if (da == db)
      out[i] = da;
    else if (da.is_static() && da.size() == 1)
      out[i] = db;
    else if (db.is_static() && db.size() == 1)
      out[i] = da;
    else
      return std::nullopt;
  }
  return Shape(std::move(out));
}

int normalize_axis(std::int64_t axis, int rank, const std::string& op) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0 && axis != -1)) {
    if (rank == 0)
      throw UserError(fmt::format("{}: axis {} is out of range for a scalar (rank 0)", op, axis));
    throw UserError(fmt::format("{}: axis {} is out of range for rank {}; valid axes are {} to {}",
                                op, axis, rank, -rank, rank - 1));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace damo
