// Values of Damo's expression language: what a name is bound to and what an expression
// evaluates to. A tensor value is an Expr, symbolic or constant; the interpreter evaluates
// constant ones when it prints them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/graph/expr.h"
#include "damo/runtime/tensor.h"

namespace damo {

/// A function compiled by function(...) in the language. Calling it runs the compiled code
/// and updates its shared variables.
struct CompiledFunction {
  Function function;
  /// True when the outputs were given as a list, so a call returns a list even for one.
  bool list_outputs = false;
  /// True when a call updates shared variables.
  bool has_updates = false;
};

class Value {
 public:
  enum class Kind {
    None,      // the result of a statement with nothing to print
    Tensor,    // an Expr
    DType,     // f32, i64, ...
    String,    // "W"
    List,      // [a, b]
    Map,       // [W: new_W, b: new_b]
    Function,  // a CompiledFunction
    Builtin,   // a builtin function such as softmax, by name
  };

  Value() = default;
  static Value tensor(Expr expr);
  static Value dtype(DType dtype);
  static Value string(std::string text);
  /// literal marks a list written as [a, b] in the code, not one that a builtin returned.
  static Value list(std::vector<Value> items, bool literal = false);
  /// A list literal of numbers, such as [1, 2.5], kept as one rank-1 tensor: int64 when every
  /// number is an integer, else float64. It stores no Value per item, so a list of a million
  /// numbers takes 8 bytes per number; Interpreter::list_items() makes its items.
  static Value number_list(Tensor numbers);
  static Value map(std::vector<std::pair<Value, Value>> entries);
  static Value function(std::shared_ptr<const CompiledFunction> function);
  static Value builtin(std::string name);

  Kind kind() const { return kind_; }
  bool is(Kind kind) const { return kind_ == kind; }

  const Expr& expr() const { return expr_; }
  DType dtype() const { return dtype_; }
  /// The text of a String, the name of a Builtin.
  const std::string& text() const { return text_; }
  /// The items of a list; empty for a number list, whose items are in numbers().
  const std::vector<Value>& items() const { return items_; }
  bool is_number_list() const { return numbers_.defined(); }
  /// The numbers of a number list; an undefined tensor for other values.
  const Tensor& numbers() const { return numbers_; }
  /// The number of items of a list, a number list included.
  std::size_t list_size() const;
  bool literal() const { return literal_; }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  const std::shared_ptr<const CompiledFunction>& compiled() const { return function_; }

  /// "tensor", "dtype", "list", ... for error messages.
  std::string kind_name() const;

 private:
  Kind kind_ = Kind::None;
  Expr expr_;
  DType dtype_ = DType::Float32;
  std::string text_;
  std::vector<Value> items_;
  Tensor numbers_;
  bool literal_ = false;
  std::vector<std::pair<Value, Value>> entries_;
  std::shared_ptr<const CompiledFunction> function_;
};

}  // namespace damo
