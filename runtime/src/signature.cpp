#include "damo/runtime/signature.h"

#include <fmt/format.h>

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

// "base-k": base an identifier, k a positive decimal without leading zeros that fits int64.
std::optional<DerivedSymbol> parse_derived_symbol(const std::string& symbol) {
  std::size_t dash = symbol.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == symbol.size() || symbol[dash + 1] == '0')
    return std::nullopt;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(symbol[0])) return std::nullopt;
  for (std::size_t i = 1; i < dash; ++i)
    if (!letter(symbol[i]) && (symbol[i] < '0' || symbol[i] > '9')) return std::nullopt;
  std::int64_t minus = 0;
  for (std::size_t i = dash + 1; i < symbol.size(); ++i) {
    char c = symbol[i];
    if (c < '0' || c > '9' || __builtin_mul_overflow(minus, 10, &minus) ||
        __builtin_add_overflow(minus, c - '0', &minus))
      return std::nullopt;
  }
  return DerivedSymbol{symbol.substr(0, dash), minus};
}

std::string derived_symbol_name(const std::string& base, std::int64_t minus) {
  return minus == 0 ? base : fmt::format("{}-{}", base, minus);
}

std::optional<std::int64_t> symbol_size(const SymbolSizes& sizes, const std::string& symbol) {
  if (auto it = sizes.find(symbol); it != sizes.end()) return it->second;
  std::optional<DerivedSymbol> derived = parse_derived_symbol(symbol);
  if (!derived) return std::nullopt;
  auto it = sizes.find(derived->base);
  if (it == sizes.end()) return std::nullopt;
  return it->second > derived->minus ? it->second - derived->minus : 0;
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
