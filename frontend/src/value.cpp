// Constructors and kind names of language values.
#include "damo/frontend/value.h"

namespace damo {

Value Value::tensor(Expr expr) {
  Value v;
  v.kind_ = Kind::Tensor;
  v.expr_ = expr;
  return v;
}

Value Value::dtype(DType dtype) {
  Value v;
  v.kind_ = Kind::DType;
  v.dtype_ = dtype;
  return v;
}

Value Value::string(std::string text) {
  Value v;
  v.kind_ = Kind::String;
  v.text_ = std::move(text);
  return v;
}

Value Value::list(std::vector<Value> items, bool literal) {
  Value v;
  v.kind_ = Kind::List;
  v.items_ = std::move(items);
  v.literal_ = literal;
  return v;
}

Value Value::number_list(Tensor numbers) {
  Value v;
  v.kind_ = Kind::List;
  v.numbers_ = std::move(numbers);
  v.literal_ = true;
  return v;
}

std::size_t Value::list_size() const {
  if (is_number_list()) return static_cast<std::size_t>(numbers_.numel());
  return items_.size();
}

Value Value::map(std::vector<std::pair<Value, Value>> entries) {
  Value v;
  v.kind_ = Kind::Map;
  v.entries_ = std::move(entries);
  return v;
}

Value Value::function(std::shared_ptr<const CompiledFunction> function) {
  Value v;
  v.kind_ = Kind::Function;
  v.function_ = std::move(function);
  return v;
}

Value Value::builtin(std::string name) {
  Value v;
  v.kind_ = Kind::Builtin;
  v.text_ = std::move(name);
  return v;
}

std::string Value::kind_name() const {
  switch (kind_) {
  case Kind::None: return "nothing";
  case Kind::Tensor: return "a tensor";
  case Kind::DType: return "a dtype";
  case Kind::String: return "a string";
  case Kind::List: return "a list";
  case Kind::Map: return "an update map";
  case Kind::Function: return "a compiled function";
  case Kind::Builtin: return "a builtin function";
  }
  return "a value";
}

}  // namespace damo
