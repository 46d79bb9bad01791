// The builtin table and Args, which binds a call's arguments to a builtin's parameters and
// converts them.
#include "builtins.h"

#include <fmt/format.h>

namespace damo {

BuiltinTable::BuiltinTable() {
  std::vector<Builtin> list;
  add_op_builtins(list);
  add_value_builtins(list);
  add_function_builtins(list);
  for (Builtin& builtin : list) {
    std::string name = builtin.name;
    DAMO_ASSERT(builtins_.count(name) == 0, "builtin " + name + " is registered twice");
    builtins_.emplace(std::move(name), std::move(builtin));
  }
}

const Builtin* BuiltinTable::find(const std::string& name) const {
  auto it = builtins_.find(name);
  return it == builtins_.end() ? nullptr : &it->second;
}

std::vector<std::string> BuiltinTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, builtin] : builtins_) out.push_back(name);
  return out;
}

const BuiltinTable& builtin_table() {
  static const BuiltinTable table;
  return table;
}

Builtin define(const std::string& signature, const std::string& summary,
               std::function<Value(Args&)> call) {
  Builtin builtin;
  std::size_t open = signature.find('(');
  DAMO_ASSERT(open != std::string::npos && signature.back() == ')',
              "malformed builtin signature " + signature);
  builtin.name = signature.substr(0, open);
  std::string list = signature.substr(open + 1, signature.size() - open - 2);

  // Parameters are separated by ", "; defaults are plain words without commas.
  std::size_t start = 0;
  while (start < list.size()) {
    std::size_t comma = list.find(", ", start);
    std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t equals = item.find('=');
    Param param;
    param.name = item.substr(0, equals);
    param.required = equals == std::string::npos;
    // Shapes and sizes are read unevaluated, so that a name that is not a variable is a
    // symbolic size. permutation's n is such a size.
    param.shape = param.name == "shape" || param.name == "dimension" ||
                  (builtin.name == "permutation" && param.name == "n");
    builtin.params.push_back(param);
    if (comma == std::string::npos) break;
    start = comma + 2;
  }

  builtin.signature = signature;
  builtin.summary = summary;
  builtin.call = std::move(call);
  return builtin;
}

namespace {

std::vector<std::string> param_names(const Builtin& builtin) {
  std::vector<std::string> out;
  for (const Param& p : builtin.params) out.push_back(p.name);
  return out;
}

}  // namespace

Args::Args(Interpreter& interpreter, const Builtin& builtin, const ast::Call& call,
           std::size_t call_offset)
    : interpreter_(interpreter),
      builtin_(builtin),
      call_offset_(call_offset),
      slots_(builtin.params.size()) {
  std::size_t positional = 0;
  for (const ast::Argument& argument : call.arguments) {
    std::size_t index = 0;
    if (argument.keyword.empty()) {
      if (positional >= builtin.params.size())
        interpreter.fail(
            argument.offset,
            fmt::format("{}() takes at most {} argument{} ({}), but {} were given", builtin.name,
                        builtin.params.size(), builtin.params.size() == 1 ? "" : "s",
                        fmt::join(param_names(builtin), ", "), call.arguments.size()));
      index = positional++;
    } else {
      auto names = param_names(builtin);
      auto it = std::find(names.begin(), names.end(), argument.keyword);
      if (it == names.end()) {
        std::string parameter = closest_parameter(argument.keyword, names);
        std::string hint = parameter.empty() ? "" : fmt::format("; did you mean '{}'?", parameter);
        interpreter.fail(argument.offset, fmt::format("{}() has no argument named '{}'{}",
                                                      builtin.name, argument.keyword, hint));
      }
      index = static_cast<std::size_t>(it - names.begin());
      if (slots_[index].expr != nullptr)
        interpreter.fail(argument.offset, fmt::format("{}() got two values for argument '{}'",
                                                      builtin.name, argument.keyword));
    }
    // none as an argument leaves the parameter at its default, as the signatures write it.
    if (const auto* name = std::get_if<ast::Name>(&argument.value->node); name != nullptr && name->name == "none")
      continue;
    Slot& slot = slots_[index];
    slot.expr = argument.value.get();
    slot.offset = argument.value->offset;
    // Shape arguments are evaluated on request, in shape mode.
    if (!builtin.params[index].shape) slot.value = interpreter.evaluate(*argument.value);
  }

  for (std::size_t i = 0; i < builtin.params.size(); ++i)
    if (builtin.params[i].required && slots_[i].expr == nullptr)
      interpreter.fail(call_offset,
                       fmt::format("{}() is missing argument '{}'; call it as {}", builtin.name,
                                   builtin.params[i].name, builtin.signature));
}

const Args::Slot* Args::find(const std::string& param) const {
  for (std::size_t i = 0; i < builtin_.params.size(); ++i)
    if (builtin_.params[i].name == param) return &slots_[i];
  DAMO_ASSERT(false, "builtin " + builtin_.name + " has no parameter " + param);
  return nullptr;
}

const Args::Slot& Args::slot(const std::string& param) const {
  const Slot* s = find(param);
  if (s->expr == nullptr)
    interpreter_.fail(call_offset_,
                      fmt::format("{}() is missing argument '{}'", builtin_.name, param));
  return *s;
}

bool Args::has(const std::string& param) const { return find(param)->expr != nullptr; }

std::size_t Args::offset(const std::string& param) const {
  const Slot* s = find(param);
  return s->expr != nullptr ? s->offset : call_offset_;
}

void Args::fail(const std::string& param, const std::string& message) const {
  interpreter_.fail(offset(param), message);
}

std::string Args::description(const std::string& param) const {
  return fmt::format("{}() argument '{}'", builtin_.name, param);
}

const Value& Args::value(const std::string& param) const { return slot(param).value; }

Expr Args::tensor(const std::string& param) {
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::Tensor) && !s.value.is(Value::Kind::List))
    fail(param,
         fmt::format("{} must be a tensor, not {}", description(param), s.value.kind_name()));
  return interpreter_.to_expr(s.value, s.offset);
}

std::vector<Expr> Args::tensors(const std::string& param) {
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::List)) return {tensor(param)};
  std::vector<Expr> out;
  for (const Value& item : interpreter_.list_items(s.value)) {
    if (!item.is(Value::Kind::Tensor) && !item.is(Value::Kind::List))
      fail(param, fmt::format("{} must be a list of tensors, but an item is {}", description(param),
                              item.kind_name()));
    out.push_back(interpreter_.to_expr(item, s.offset));
  }
  return out;
}

std::int64_t Args::integer(const std::string& param) {
  const Slot& s = slot(param);
  return interpreter_.to_int(s.value, s.offset, description(param));
}

std::int64_t Args::integer(const std::string& param, std::int64_t fallback) {
  return has(param) ? integer(param) : fallback;
}

std::optional<std::int64_t> Args::optional_integer(const std::string& param) {
  if (!has(param)) return std::nullopt;
  return integer(param);
}

double Args::number(const std::string& param) {
  const Slot& s = slot(param);
  return interpreter_.to_number(s.value, s.offset, description(param));
}

bool Args::boolean(const std::string& param, bool fallback) {
  if (!has(param)) return fallback;
  const Slot& s = slot(param);
  return interpreter_.to_bool(s.value, s.offset, description(param));
}

DType Args::dtype(const std::string& param) {
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::DType))
    fail(param, fmt::format("{} must be a dtype (bool, i32, i64, f32 or f64), not {}",
                            description(param), s.value.kind_name()));
  return s.value.dtype();
}

DType Args::dtype(const std::string& param, DType fallback) {
  return has(param) ? dtype(param) : fallback;
}

Axes Args::axes(const std::string& param) {
  if (!has(param)) return Axes();
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::List)) return Axes(std::vector<std::int64_t>{integer(param)});
  std::vector<std::int64_t> list;
  for (const Value& item : interpreter_.list_items(s.value))
    list.push_back(interpreter_.to_int(item, s.offset, description(param)));
  return Axes(std::move(list));
}

std::vector<int> Args::int_list(const std::string& param) {
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::List))
    fail(param, fmt::format("{} must be a list of integers, such as [1, 0]", description(param)));
  std::vector<int> out;
  for (const Value& item : interpreter_.list_items(s.value)) {
    std::int64_t v = interpreter_.to_int(item, s.offset, description(param));
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(param, fmt::format("{}: {} is out of range", description(param), v));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<Dim> Args::shape(const std::string& param) {
  const Slot& s = slot(param);
  return interpreter_.evaluate_shape(*s.expr);
}

Dim Args::dimension(const std::string& param) {
  const Slot& s = slot(param);
  return interpreter_.evaluate_dim(*s.expr);
}

Dims Args::static_shape(const std::string& param) {
  Dims dims;
  for (const Dim& d : shape(param)) {
    if (d.is_symbolic())
      fail(param, fmt::format("{} must have static sizes, but '{}' is not a variable holding "
                              "an integer",
                              description(param), d.symbol()));
    if (d.size() < 0)
      fail(param, fmt::format("{}: size {} is negative", description(param), d.size()));
    dims.push_back(d.size());
  }
  return dims;
}

std::string Args::string(const std::string& param) {
  const Slot& s = slot(param);
  if (!s.value.is(Value::Kind::String))
    fail(param, fmt::format("{} must be a string in quotes, not {}", description(param),
                            s.value.kind_name()));
  return s.value.text();
}

OpKind Args::op(const std::string& param) {
  const Slot& s = slot(param);
  std::optional<OpKind> kind;
  if (s.value.is(Value::Kind::Builtin)) kind = op_from_name(s.value.text());
  if (s.value.is(Value::Kind::String)) kind = op_from_name(s.value.text());
  if (!kind)
    fail(param, fmt::format("{} must name an op, such as relu or sum", description(param)));
  return *kind;
}

}  // namespace damo
