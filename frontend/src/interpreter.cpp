// Interpreter: statements, the scope, and the printed form of values.
#include "interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <new>
#include <utility>

#include "builtins.h"
#include "commands.h"
#include "damo/frontend/format.h"
#include "damo/frontend/parser.h"
#include "damo/graph/printer.h"
#include "damo/graph/traversal.h"

namespace damo {

namespace {

// :load may nest, but not without bound: a file that loads itself must stop.
constexpr int kMaxLoadDepth = 16;

// Makes source the current source for as long as it lives, then restores the previous one.
class SourceScope {
 public:
  SourceScope(const SourceFile*& current, const SourceFile& source, int& depth)
      : current_(current), previous_(current), depth_(depth) {
    // Unlocated, so that the :load command that nests too deep adds its own location.
    if (depth_ >= kMaxLoadDepth)
      throw UserError(
          fmt::format(":load would open source {}, but at most {} are open at once (the script and "
                      "the files that :load opened from it), as when a file loads itself; check "
                      "the :load lines",
                      kMaxLoadDepth + 1, kMaxLoadDepth));
    ++depth_;
    current_ = &source;
  }
  ~SourceScope() {
    current_ = previous_;
    --depth_;
  }
  SourceScope(const SourceScope&) = delete;
  SourceScope& operator=(const SourceScope&) = delete;

 private:
  const SourceFile*& current_;
  const SourceFile* previous_;
  int& depth_;
};

}  // namespace

Interpreter::Interpreter(SessionOptions options) : options_(std::move(options)) {}

void Interpreter::fail(std::size_t offset, const std::string& message) const {
  if (source_ == nullptr) throw UserError(message);
  source_->fail(offset, message);
}

void Interpreter::run(const SourceFile& source, const OutputSink& print) {
  SourceScope scope(source_, source, run_depth_);
  Parser parser(source);
  while (!quit_requested_) {
    std::optional<ast::Statement> statement = parser.next_statement();
    if (!statement) break;
    // An allocation that fails while the statement runs becomes a located error.
    std::string out_of_memory;
    try {
      execute(*statement, print);
    } catch (const std::bad_alloc&) {
      out_of_memory = "out of memory";
    } catch (const RuntimeError& error) {
      if (!std::string_view(error.what()).starts_with("out of memory")) throw;
      out_of_memory = error.what();
    }
    if (!out_of_memory.empty()) {
      // The statement's syntax tree goes first, so that the message has memory to use.
      std::size_t offset = statement->offset;
      statement.reset();
      fail(offset, fmt::format("{} while running this statement; use smaller shapes or inputs, "
                               "and note that {}",
                               out_of_memory, kLargeDataHint));
    }
  }
}

Value Interpreter::evaluate(const SourceFile& source, const ast::Expr& expr) {
  SourceScope scope(source_, source, run_depth_);
  return evaluate(expr);
}

void Interpreter::execute(const ast::Statement& statement, const OutputSink& print) {
  if (const auto* command = std::get_if<ast::Command>(&statement.node)) {
    run_command(*this, *command, statement.offset, print);
    return;
  }
  if (const auto* assign = std::get_if<ast::Assign>(&statement.node)) {
    // Input declarations such as x = vector(f32) take their name from the assignment.
    if (std::holds_alternative<ast::Call>(assign->value->node)) pending_target_ = assign->name;
    Value value;
    try {
      value = evaluate(*assign->value);
    } catch (...) {
      pending_target_.reset();
      throw;
    }
    pending_target_.reset();
    assign_name(assign->name, std::move(value), statement.offset);
    return;
  }
  const auto& expr = *std::get<ast::ExprStatement>(statement.node).expr;
  Value value = evaluate(expr);
  // A list literal prints as the tensor it makes. A list that a builtin returns, such as
  // the gradients of grad(cost, [W, b]), prints item by item.
  const auto* list = std::get_if<ast::List>(&expr.node);
  if (list != nullptr && !list->is_map) value = Value::tensor(to_expr(value, expr.offset));
  std::string text = print_value(value, expr.offset);
  if (!text.empty()) print(text);
}

void Interpreter::assign_name(const std::string& name, Value value, std::size_t offset) {
  if (builtin_table().find(name) != nullptr)
    fail(offset, fmt::format("cannot assign to '{}': it names a builtin function; choose "
                             "another name",
                             name));
  if (name == "none")
    fail(offset, "cannot assign to 'none': it means a builtin argument left at its default; "
                 "choose another name");
  if (parse_dtype(name) && dtype_name(*parse_dtype(name)) == name)
    fail(offset, fmt::format("cannot assign to '{}': it names a dtype; choose another name", name));
  if (value.is(Value::Kind::None))
    fail(offset, fmt::format("the right side of '{} = ...' has no value", name));
  scope_[name] = std::move(value);
}

const Value* Interpreter::lookup(const std::string& name) const {
  auto it = scope_.find(name);
  return it == scope_.end() ? nullptr : &it->second;
}

std::vector<std::string> Interpreter::scope_names() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : scope_) out.push_back(name);
  return out;
}

std::vector<std::string> Interpreter::known_names() const {
  std::vector<std::string> out = scope_names();
  for (const std::string& name : builtin_table().names()) out.push_back(name);
  for (DType d : kAllDTypes) out.emplace_back(dtype_name(d));
  return out;
}

std::vector<Expr> Interpreter::free_inputs(const Expr& expr) {
  std::vector<Expr> inputs;
  for (const Node* node : topo_order(std::vector<Expr>{expr}))
    if (node->op() == OpKind::Input) inputs.emplace_back(node);
  return inputs;
}

std::optional<Expr> Interpreter::list_literal_tensor(const Value& list, std::size_t offset) {
  if (!list.literal()) return std::nullopt;
  for (const Value& item : list.items())
    if (!item.is(Value::Kind::List) && !item.is(Value::Kind::Tensor)) return std::nullopt;
  // A number list has no items() to check, and its numbers always form a tensor.
  try {
    return list_to_expr(list, offset);
  } catch (const UserError&) {
    // Items of different shapes, or nested lists of other values, stay a list.
  }
  return std::nullopt;
}

void Interpreter::check_literal_fits(const Expr& x, DType dtype, std::size_t offset) const {
  // A literal that i32 cannot hold is an error, as NumPy's int32(3000000000) is, rather than
  // a value that wraps around.
  if (!x->is_constant() || !x->weak() || x.dtype() != DType::Int64 || dtype != DType::Int32) return;
  const Tensor& value = x->value();
  for (std::int64_t i = 0; i < value.numel(); ++i)
    if (value.get_int64(i) != static_cast<std::int32_t>(value.get_int64(i)))
      fail(offset, fmt::format("the integer literal {} does not fit i32 (-2147483648 to 2147483647); "
                               "use i64",
                               value.get_int64(i)));
}

bool Interpreter::is_constant_expr(const Expr& expr) {
  for (const Node* node : topo_order(std::vector<Expr>{expr}))
    if (node->op() == OpKind::Input || node->op() == OpKind::Param || node->op() == OpKind::Shared)
      return false;
  return true;
}

bool Interpreter::has_value(const Expr& expr) {
  for (const Node* node : topo_order(std::vector<Expr>{expr}))
    if (node->op() == OpKind::Input || node->op() == OpKind::Param) return false;
  return true;
}

std::string Interpreter::print_value(const Value& value, std::size_t offset) {
  bool json = options_.json;
  switch (value.kind()) {
  case Value::Kind::None: return "";
  case Value::Kind::Tensor: return print_tensor(value.expr(), offset);
  case Value::Kind::DType: {
    std::string name(dtype_name(value.dtype()));
    return json ? json_quote(name) : name;
  }
  case Value::Kind::String: return json_quote(value.text());
  case Value::Kind::List: {
    // A list literal, also one bound by c = [[1, 2], [3, 4]], prints as the tensor it makes
    // when its items have one shape.
    if (std::optional<Expr> tensor = list_literal_tensor(value, offset)) return print_tensor(*tensor, offset);
    std::vector<std::string> items;
    for (const Value& item : list_items(value)) items.push_back(print_value(item, offset));
    if (json) return fmt::format("[{}]", fmt::join(items, ", "));
    return fmt::format("{}", fmt::join(items, "\n"));
  }
  case Value::Kind::Map: {
    std::vector<std::string> items;
    for (const auto& [key, item] : value.entries()) {
      std::string name = to_infix(to_expr(key, offset));
      items.push_back(json ? fmt::format("{}: {}", json_quote(name), print_value(item, offset))
                           : fmt::format("{}: {}", name, print_value(item, offset)));
    }
    if (json) return fmt::format("{{{}}}", fmt::join(items, ", "));
    return fmt::format("{}", fmt::join(items, "\n"));
  }
  case Value::Kind::Function: {
    std::string text = print_function(*value.compiled());
    return json ? fmt::format("{{\"function\": {}}}", json_quote(text)) : text;
  }
  case Value::Kind::Builtin: {
    const Builtin* builtin = builtin_table().find(value.text());
    std::string text = builtin != nullptr ? builtin->signature : value.text();
    return json ? fmt::format("{{\"builtin\": {}}}", json_quote(text)) : "builtin " + text;
  }
  }
  return "";
}

namespace {

// True when some node below expr has a symbolic dimension or reads the size of one, such as
// the first element of the gradient of sum(x) for x of shape (n,).
bool depends_on_symbol(const Expr& expr) {
  for (const Node* node : topo_order(std::vector<Expr>{expr}))
    if (!node->shape().is_static() || node->op() == OpKind::DimSize) return true;
  return false;
}

}  // namespace

std::string Interpreter::print_tensor(const Expr& expr, std::size_t offset) {
  // Without inputs but with a symbolic dimension (the gradient of sum(x) is ones of x's
  // shape), there is no size to compute with, so such an expression prints as text.
  if (has_value(expr) && !depends_on_symbol(expr)) {
    Tensor t = constant_value(expr, offset);
    return options_.json ? tensor_to_json(t) : format_tensor_with_type(t);
  }
  std::string infix = to_infix(expr);
  if (!options_.json) return fmt::format("{} : {}", infix, format_type(expr.dtype(), expr.shape()));
  return fmt::format("{{\"expr\": {}, \"dtype\": \"{}\", \"shape\": {}}}", json_quote(infix),
                     dtype_name(expr.dtype()), shape_to_json(expr.shape()));
}

std::string Interpreter::print_function(const CompiledFunction& compiled) const {
  const Function& f = compiled.function;
  std::vector<std::string> inputs;
  for (const Expr& input : f.inputs())
    inputs.push_back(
        fmt::format("{}: {}", input->name(), format_type(input.dtype(), input.shape())));
  std::vector<std::string> outputs;
  for (const Expr& output : f.outputs())
    outputs.push_back(format_type(output.dtype(), output.shape()));
  std::string result = fmt::format("{}", fmt::join(outputs, ", "));
  if (compiled.list_outputs) result = "[" + result + "]";
  return fmt::format("function({}) -> {}", fmt::join(inputs, ", "), result);
}

}  // namespace damo
