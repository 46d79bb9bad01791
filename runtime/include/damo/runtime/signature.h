// Parameter specifications of a compiled function and the checks every call runs on its
// arguments.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "damo/runtime/tensor.h"

namespace damo {

/// One dimension of a parameter: a static size, or a symbol bound at call time.
struct ParameterDim {
  std::int64_t size = 0;
  std::string symbol;  // empty for a static size

  bool operator==(const ParameterDim& other) const = default;
};

struct ParameterSpec {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<ParameterDim> dims;

  /// "f32 (n, 6)".
  std::string type_string() const;
};

/// Sizes bound to symbolic dimensions during one call.
using SymbolSizes = std::unordered_map<std::string, std::int64_t>;

/// Checks the argument count, each argument's dtype, rank and static sizes, and that each
/// symbol takes one size across all arguments. Returns the symbol sizes. Throws UserError
/// naming the parameter, the expected and the actual type.
SymbolSizes bind_arguments(const std::vector<ParameterSpec>& parameters,
                           const std::vector<Tensor>& arguments);

}  // namespace damo
