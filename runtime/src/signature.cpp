#include "damo/runtime/signature.h"

#include <fmt/format.h>

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

SymbolSizes bind_arguments(const std::vector<ParameterSpec>& parameters,
                           const std::vector<Tensor>& arguments) {
  if (arguments.size() != parameters.size()) {
    std::string names;
    for (const ParameterSpec& p : parameters) names += (names.empty() ? "" : ", ") + p.name;
    throw UserError(fmt::format("the function takes {} arguments ({}) but was called with {}",
                                parameters.size(), names, arguments.size()));
  }
  SymbolSizes sizes;
  std::unordered_map<std::string, std::string> bound_by;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSpec& p = parameters[i];
    const Tensor& a = arguments[i];
    std::string where = fmt::format("argument {} ('{}')", i + 1, p.name);
    if (!a.defined()) throw UserError(fmt::format("{} is an undefined tensor", where));
    std::string actual = fmt::format("{} {}", dtype_name(a.dtype()), dims_to_string(a.shape()));
    if (a.dtype() != p.dtype)
      throw UserError(fmt::format("{} expects {} but got {}: the dtype must be {}; convert with "
                                  "Tensor::cast",
                                  where, p.type_string(), actual, dtype_name(p.dtype)));
    if (a.rank() != static_cast<int>(p.dims.size()))
      throw UserError(fmt::format("{} expects {} but got {}: the rank must be {}", where,
                                  p.type_string(), actual, p.dims.size()));
    for (std::size_t axis = 0; axis < p.dims.size(); ++axis) {
      const ParameterDim& d = p.dims[axis];
      std::int64_t size = a.shape()[axis];
      if (d.symbol.empty()) {
        if (size != d.size)
          throw UserError(fmt::format("{} expects {} but got {}: axis {} must be {}", where,
                                      p.type_string(), actual, axis, d.size));
        continue;
      }
      auto [it, inserted] = sizes.emplace(d.symbol, size);
      if (inserted) {
        bound_by[d.symbol] = where;
      } else if (it->second != size) {
        throw UserError(fmt::format("{} expects {} but got {}: symbolic dimension '{}' is {} here "
                                    "but {} in {}",
                                    where, p.type_string(), actual, d.symbol, size, it->second,
                                    bound_by[d.symbol]));
      }
    }
  }
  return sizes;
}

}  // namespace damo
