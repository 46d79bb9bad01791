#include "damo/runtime/signature.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace damo {

std::string ParameterSpec::type_string() const {
  std::string shape = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) shape += ", ";
    shape += dims[i].symbol.empty() ? std::to_string(dims[i].size) : dims[i].symbol;
  }
  if (dims.size() == 1) shape += ',';
  shape += ')';
  return fmt::format("{} {}", dtype_name(dtype), shape);
}

namespace {

// Parses text[begin, end) as a positive decimal without leading zeros that fits int64.
std::optional<std::int64_t> parse_count(const std::string& text, std::size_t begin, std::size_t end) {
  if (begin >= end || text[begin] == '0') return std::nullopt;
  std::int64_t value = 0;
  for (std::size_t i = begin; i < end; ++i) {
    char c = text[i];
    if (c < '0' || c > '9' || __builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, c - '0', &value))
      return std::nullopt;
  }
  return value;
}

}  // namespace

// Parses "base*t-k", "base*t" or "base-k": base an identifier, t >= 2 and k >= 1 decimals.
std::optional<DerivedSymbol> parse_derived_symbol(const std::string& symbol) {
  std::size_t star = symbol.find('*');
  std::size_t dash = symbol.find('-');
  std::size_t base_end = std::min(star, dash);
  if (base_end == std::string::npos || base_end == 0) return std::nullopt;
  if (star != std::string::npos && dash != std::string::npos && dash < star) return std::nullopt;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(symbol[0])) return std::nullopt;
  for (std::size_t i = 1; i < base_end; ++i)
    if (!letter(symbol[i]) && (symbol[i] < '0' || symbol[i] > '9')) return std::nullopt;
  DerivedSymbol derived{symbol.substr(0, base_end)};
  if (star != std::string::npos) {
    std::optional<std::int64_t> times =
        parse_count(symbol, star + 1, dash == std::string::npos ? symbol.size() : dash);
    if (!times || *times < 2) return std::nullopt;
    derived.times = *times;
  }
  if (dash != std::string::npos) {
    std::optional<std::int64_t> minus = parse_count(symbol, dash + 1, symbol.size());
    if (!minus) return std::nullopt;
    derived.minus = *minus;
  }
  return derived;
}

std::string derived_symbol_name(const DerivedSymbol& derived) {
  std::string name = derived.base;
  if (derived.times != 1) name += fmt::format("*{}", derived.times);
  if (derived.minus != 0) name += fmt::format("-{}", derived.minus);
  return name;
}

std::optional<std::int64_t> symbol_size(const SymbolSizes& sizes, const std::string& symbol) {
  if (auto it = sizes.find(symbol); it != sizes.end()) return it->second;
  std::optional<DerivedSymbol> derived = parse_derived_symbol(symbol);
  if (!derived) return std::nullopt;
  auto it = sizes.find(derived->base);
  if (it == sizes.end()) return std::nullopt;
  // In 128 bits, because t n may overflow where t n - k fits.
  __int128 size = static_cast<__int128>(it->second) * derived->times - derived->minus;
  if (size > INT64_MAX)
    throw UserError(fmt::format("the size {} does not fit in 64 bits when {} is {}; give {} a "
                                "smaller size",
                                symbol, derived->base, it->second, derived->base));
  return size > 0 ? static_cast<std::int64_t>(size) : 0;
}

SymbolSizes bind_arguments(const std::vector<ParameterSpec>& parameters,
                           const std::vector<Tensor>& arguments) {
  if (arguments.size() != parameters.size()) {
    std::string names;
    for (const ParameterSpec& p : parameters) names += (names.empty() ? "" : ", ") + p.name;
    throw UserError(fmt::format("the function takes {} argument{} ({}) but was called with {}",
                                parameters.size(), parameters.size() == 1 ? "" : "s", names,
                                arguments.size()));
  }
  // Messages are built only when a check fails, because this runs on every call.
  SymbolSizes sizes;
  // The argument and axis that first gave each symbol its size.
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> first_binding;
  auto argument_name = [&](std::size_t i) {
    return fmt::format("argument {} ('{}')", i + 1, parameters[i].name);
  };
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSpec& p = parameters[i];
    const Tensor& a = arguments[i];
    if (!a.defined())
      throw ArgumentError(fmt::format("{} is an undefined tensor", argument_name(i)), i);
    auto actual_type = [&] {
      return fmt::format("{} {}", dtype_name(a.dtype()), dims_to_string(a.shape()));
    };
    if (a.dtype() != p.dtype)
      throw ArgumentError(
          fmt::format("{} expects {} but got {}: the dtype must be {}; convert with "
                      "Tensor::cast",
                      argument_name(i), p.type_string(), actual_type(), dtype_name(p.dtype)),
          i);
    if (a.rank() != static_cast<int>(p.dims.size()))
      throw ArgumentError(
          fmt::format("{} expects {} but got {}: the rank must be {}", argument_name(i),
                      p.type_string(), actual_type(), p.dims.size()),
          i);
    for (std::size_t axis = 0; axis < p.dims.size(); ++axis) {
      const ParameterDim& d = p.dims[axis];
      std::int64_t size = a.shape()[axis];
      if (d.symbol.empty()) {
        if (size != d.size)
          throw ArgumentError(
              fmt::format("{} expects {} but got {}: axis {} must be {}", argument_name(i),
                          p.type_string(), actual_type(), axis, d.size),
              i);
        continue;
      }
      auto [it, inserted] = sizes.emplace(d.symbol, size);
      if (inserted) {
        first_binding[d.symbol] = {i, axis};
      } else if (it->second != size) {
        auto [first_argument, first_axis] = first_binding[d.symbol];
        std::string first = first_argument == i
                                ? fmt::format("at axis {} of this argument", first_axis)
                                : fmt::format("in {}", argument_name(first_argument));
        throw ArgumentError(
            fmt::format("{} expects {} but got {}: symbolic dimension '{}' is {} at axis {} "
                        "but {} {}",
                        argument_name(i), p.type_string(), actual_type(), d.symbol, size, axis,
                        it->second, first),
            i);
      }
    }
  }
  return sizes;
}

}  // namespace damo
