// Parameter specifications of a compiled function and the checks every call runs on its
// arguments.
#pragma once

#include <cstdint>
#include <optional>
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

/// A derived symbolic size "n*t-k": t times the size bound to the symbol n, less k, and 0
/// when that is negative (t >= 1, k >= 0; "n-k" and "n*t" leave out t = 1 and k = 0).
/// Slices of a symbolic axis such as x[1:] have one, and so does a reshape that merges a
/// symbolic axis with static ones, such as (n, 3) to (n*3,). No argument binds a derived
/// symbol, because its size follows from its base symbol's.
struct DerivedSymbol {
  std::string base;
  std::int64_t times = 1;
  std::int64_t minus = 0;
};

/// The derived symbol that symbol names, or nullopt for a plain symbol and other text.
std::optional<DerivedSymbol> parse_derived_symbol(const std::string& symbol);
/// The name of a derived symbol: "n*3-2" for ("n", 3, 2), "n-2", "n*3", and base itself for
/// times 1 and minus 0.
std::string derived_symbol_name(const DerivedSymbol& derived);
/// The size of symbol under sizes. A derived symbol is computed from its base. Returns
/// nullopt when the symbol, or the base of a derived one, is not bound. Throws UserError
/// when a derived size does not fit in 64 bits.
std::optional<std::int64_t> symbol_size(const SymbolSizes& sizes, const std::string& symbol);

/// Checks the argument count, each argument's dtype, rank and static sizes, and that each
/// symbol takes one size across all arguments. Returns the symbol sizes. Throws UserError
/// naming the parameter, the expected and the actual type.
SymbolSizes bind_arguments(const std::vector<ParameterSpec>& parameters,
                           const std::vector<Tensor>& arguments);

}  // namespace damo
