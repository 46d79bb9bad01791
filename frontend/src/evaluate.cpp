// Interpreter::evaluate: syntax tree to values, building graph nodes through the op
// factories. Errors from a factory are re-raised at the operator or call that built it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <cstring>
#include <optional>
#include <utility>

#include "builtins.h"
#include "damo/graph/printer.h"
#include "interpreter.h"

namespace damo {

namespace {

Expr apply_binary(ast::BinaryOp op, Expr a, Expr b) {
  switch (op) {
  case ast::BinaryOp::Or: return logical_or(a, b);
  case ast::BinaryOp::And: return logical_and(a, b);
  case ast::BinaryOp::Equal: return eq(a, b);
  case ast::BinaryOp::NotEqual: return ne(a, b);
  case ast::BinaryOp::Less: return lt(a, b);
  case ast::BinaryOp::LessEqual: return le(a, b);
  case ast::BinaryOp::Greater: return gt(a, b);
  case ast::BinaryOp::GreaterEqual: return ge(a, b);
  case ast::BinaryOp::Add: return add(a, b);
  case ast::BinaryOp::Sub: return sub(a, b);
  case ast::BinaryOp::Mul: return mul(a, b);
  case ast::BinaryOp::Div: return div(a, b);
  case ast::BinaryOp::FloorDiv: return floor_div(a, b);
  case ast::BinaryOp::Mod: return mod(a, b);
  case ast::BinaryOp::MatMul: return matmul(a, b);
  case ast::BinaryOp::Pow: return pow(a, b);
  }
  return Expr();
}

std::optional<DType> dtype_named(const std::string& name) {
  std::optional<DType> d = parse_dtype(name);
  // Only the short names are language names; parse_dtype also reads float32.
  if (d && dtype_name(*d) == name) return d;
  return std::nullopt;
}

Expr integer_literal(Graph& graph, std::int64_t value) {
  // Built through the storage, because Tensor::scalar would round through double.
  Tensor t = Tensor::empty(DType::Int64, {});
  t.data<std::int64_t>()[0] = value;
  return graph.weak_constant(t);
}

// The numbers of a list literal whose items are all number literals, such as [1, 2.5], as
// int64 when every one is an integer and else as float64; nullopt for other lists.
std::optional<Tensor> pack_numbers(const ast::List& list) {
  if (list.is_map || list.items.empty()) return std::nullopt;
  bool all_integers = true;
  for (const ast::ListItem& item : list.items) {
    const auto* number = std::get_if<ast::Number>(&item.value->node);
    if (number == nullptr) return std::nullopt;
    all_integers = all_integers && number->is_integer;
  }

  auto count = static_cast<std::int64_t>(list.items.size());
  Tensor numbers = Tensor::empty(all_integers ? DType::Int64 : DType::Float64, {count});
  for (std::int64_t i = 0; i < count; ++i) {
    const auto& number = std::get<ast::Number>(list.items[static_cast<std::size_t>(i)].value->node);
    if (all_integers)
      numbers.data<std::int64_t>()[i] = number.integer;
    else
      numbers.data<double>()[i] =
          number.is_integer ? static_cast<double>(number.integer) : number.real;
  }
  return numbers;
}

}  // namespace

Value Interpreter::evaluate(const ast::Expr& expr) {
  if (const auto* number = std::get_if<ast::Number>(&expr.node)) {
    if (number->is_integer) return Value::tensor(integer_literal(graph_, number->integer));
    return Value::tensor(graph_.literal(number->real, false));
  }
  if (const auto* boolean = std::get_if<ast::Bool>(&expr.node))
    return Value::tensor(graph_.weak_constant(Tensor::scalar(DType::Bool, boolean->value)));
  if (const auto* string = std::get_if<ast::String>(&expr.node))
    return Value::string(string->value);
  if (const auto* name = std::get_if<ast::Name>(&expr.node)) return evaluate_name(expr, *name);
  if (const auto* list = std::get_if<ast::List>(&expr.node)) return evaluate_list(*list);
  if (const auto* unary = std::get_if<ast::Unary>(&expr.node)) return evaluate_unary(expr, *unary);
  if (const auto* binary = std::get_if<ast::Binary>(&expr.node)) return evaluate_binary(*binary);
  if (const auto* call = std::get_if<ast::Call>(&expr.node)) return evaluate_call(expr, *call);
  if (const auto* param = std::get_if<ast::Param>(&expr.node)) return evaluate_param(expr, *param);
  if (const auto* fused = std::get_if<ast::Fused>(&expr.node)) return evaluate_fused(expr, *fused);
  return evaluate_index(expr, std::get<ast::Index>(expr.node));
}

Value Interpreter::evaluate_name(const ast::Expr& expr, const ast::Name& name) {
  if (const Value* value = lookup(name.name)) return *value;
  if (builtin_table().find(name.name) != nullptr) return Value::builtin(name.name);
  if (std::optional<DType> d = dtype_named(name.name)) return Value::dtype(*d);
  if (name.name == "none")
    fail(expr.offset, "none has no value: it is written only as a builtin's argument, which then "
                      "keeps its default, as in slice(x, 0, 1, none, 2)");
  // Python and NumPy spellings get the name this language uses.
  static const std::pair<std::string_view, std::string_view> kPythonNames[] = {
      {"True", "true"},   {"False", "false"}, {"None", "none"},   {"NaN", "nan"},
      {"float32", "f32"}, {"float64", "f64"}, {"int32", "i32"},   {"int64", "i64"},
      {"float", "f64"},   {"int", "i64"},     {"bool_", "bool"}};
  for (const auto& [python, damo_name] : kPythonNames)
    if (name.name == python)
      fail(expr.offset, fmt::format("unknown variable '{}'; this language writes '{}'", name.name, damo_name));
  // A REPL command typed without its colon.
  for (std::string_view command : {"help", "quit", "exit", "type", "graph", "load"})
    if (name.name == command)
      fail(expr.offset, fmt::format("unknown variable '{}'; REPL commands start with a colon: "
                                    "type :{}",
                                    name.name, command == "exit" ? "quit" : command));
  fail(expr.offset,
       fmt::format("unknown variable '{}'{}", name.name, did_you_mean(name.name, known_names())));
}

Value Interpreter::evaluate_list(const ast::List& list) {
  if (list.is_map) {
    std::vector<std::pair<Value, Value>> entries;
    for (const ast::ListItem& item : list.items) {
      // A map lists updates, so each key is a shared variable to update.
      Value key = evaluate(*item.key);
      if (!key.is(Value::Kind::Tensor) || key.expr()->op() != OpKind::Shared)
        fail(item.key->offset,
             fmt::format("the key of an update map must be a shared variable, but this is {}; make "
                         "one with shared(name, value), as in [W: W - 0.1 * grad(loss, W)]",
                         key.is(Value::Kind::Tensor) ? fmt::format("'{}'", key.expr().to_string())
                                                     : key.kind_name()));
      entries.emplace_back(std::move(key), evaluate(*item.value));
    }
    return Value::map(std::move(entries));
  }
  // A list of number literals becomes one tensor, without a value and a graph node per item.
  if (std::optional<Tensor> numbers = pack_numbers(list)) return Value::number_list(*numbers);
  std::vector<Value> items;
  for (const ast::ListItem& item : list.items) items.push_back(evaluate(*item.value));
  return Value::list(std::move(items), true);
}

std::vector<Value> Interpreter::list_items(const Value& list) {
  if (!list.is_number_list()) return list.items();
  const Tensor& numbers = list.numbers();
  std::vector<Value> items;
  items.reserve(static_cast<std::size_t>(numbers.numel()));
  for (std::int64_t i = 0; i < numbers.numel(); ++i) {
    if (numbers.dtype() == DType::Int64)
      items.push_back(Value::tensor(integer_literal(graph_, numbers.data<std::int64_t>()[i])));
    else
      items.push_back(Value::tensor(graph_.literal(numbers.data<double>()[i], false)));
  }
  return items;
}

Value Interpreter::evaluate_unary(const ast::Expr& expr, const ast::Unary& unary) {
  Expr operand = to_expr(evaluate(*unary.operand), unary.operand->offset);
  return Value::tensor(with_location(*this, expr.offset, [&] {
    return unary.op == ast::UnaryOp::Neg ? neg(operand) : logical_not(operand);
  }));
}

Value Interpreter::evaluate_binary(const ast::Binary& binary) {
  Expr lhs = to_expr(evaluate(*binary.lhs), binary.lhs->offset);
  Expr rhs = to_expr(evaluate(*binary.rhs), binary.rhs->offset);
  return Value::tensor(with_location(*this, binary.operator_offset,
                                     [&] { return apply_binary(binary.op, lhs, rhs); }));
}

Value Interpreter::evaluate_call(const ast::Expr& expr, const ast::Call& call) {
  // The assignment target belongs to this call only, not to calls in its arguments.
  std::optional<std::string> target = std::exchange(pending_target_, std::nullopt);

  Value callee;
  const auto* name = std::get_if<ast::Name>(&call.callee->node);
  if (name != nullptr && lookup(name->name) == nullptr && !builtin_table().find(name->name) &&
      !dtype_named(name->name)) {
    fail(call.callee->offset, fmt::format("unknown function '{}'{}", name->name,
                                          did_you_mean(name->name, known_names())));
  }
  callee = evaluate(*call.callee);

  switch (callee.kind()) {
  case Value::Kind::Builtin: {
    const Builtin& builtin = *builtin_table().find(callee.text());
    Args args(*this, builtin, call, expr.offset);
    // A builtin may evaluate nested calls lazily (shape arguments), so the enclosing
    // call's target is restored afterwards.
    std::optional<std::string> enclosing = std::exchange(assignment_target_, std::move(target));
    try {
      Value result = with_location(*this, expr.offset, [&] { return builtin.call(args); });
      assignment_target_ = std::move(enclosing);
      return result;
    } catch (...) {
      assignment_target_ = std::move(enclosing);
      throw;
    }
  }
  case Value::Kind::DType: {
    if (call.arguments.size() != 1 || !call.arguments[0].keyword.empty())
      fail(expr.offset, fmt::format("{}(x) converts one tensor to {}; give exactly one argument",
                                    dtype_name(callee.dtype()), dtype_name(callee.dtype())));
    const ast::Expr& argument = *call.arguments[0].value;
    Expr x = to_expr(evaluate(argument), argument.offset);
    // A literal that has the dtype already stays weak through cast(); the call makes it
    // typed, as f64([1.5, 2]) promises.
    if (x->weak() && x.dtype() == callee.dtype())
      return Value::tensor(graph_.constant(constant_value(x, argument.offset)));
    check_literal_fits(x, callee.dtype(), argument.offset);
    return Value::tensor(
        with_location(*this, expr.offset, [&] { return cast(x, callee.dtype()); }));
  }
  case Value::Kind::Function: return call_function(*callee.compiled(), call, expr.offset);
  default:
    fail(expr.offset, fmt::format("{} is not callable; only builtins, dtypes and compiled "
                                  "functions can be called",
                                  callee.kind_name()));
  }
}

Value Interpreter::call_function(const CompiledFunction& compiled, const ast::Call& call,
                                 std::size_t offset) {
  const Function& function = compiled.function;
  const std::vector<Expr>& params = function.inputs();
  for (const ast::Argument& argument : call.arguments)
    if (!argument.keyword.empty())
      fail(argument.offset, "a compiled function takes its arguments by position only");
  if (call.arguments.size() != params.size())
    fail(offset, fmt::format("the function takes {} argument{}, but {} {} given", params.size(),
                             params.size() == 1 ? "" : "s", call.arguments.size(),
                             call.arguments.size() == 1 ? "was" : "were"));

  std::vector<Tensor> arguments;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ast::Expr& argument = *call.arguments[i].value;
    Expr e = to_expr(evaluate(argument), argument.offset);
    Tensor t = constant_value(e, argument.offset);
    const Expr& param = params[i];
    // A literal such as [[1, 2]] takes the parameter's dtype, as it would in an expression.
    if (t.dtype() != param.dtype() && e->weak()) {
      Tensor converted = t.cast(param.dtype());
      // An integer or bool parameter accepts only literals it represents exactly, so
      // 1.5, nan or 3e9 for an i32 is an error rather than a silent change.
      if (!is_float(param.dtype()))
        for (std::int64_t k = 0; k < t.numel(); ++k)
          if (!(converted.get_double(k) == t.get_double(k)))
            fail(argument.offset,
                 fmt::format("argument {} ('{}') is {}, but the literal holds {}, which {} "
                             "cannot represent; pass values that fit",
                             i + 1, param->name(), dtype_name(param.dtype()), t.get_double(k),
                             dtype_name(param.dtype())));
      // A finite literal beyond float32's range would become infinity.
      if (param.dtype() == DType::Float32)
        for (std::int64_t k = 0; k < t.numel(); ++k)
          if (std::isfinite(t.get_double(k)) && !std::isfinite(converted.get_double(k)))
            fail(argument.offset,
                 fmt::format("argument {} ('{}') is f32, but the literal holds {}, beyond f32's "
                             "largest value 3.4e38; pass values that fit or declare the input f64",
                             i + 1, param->name(), t.get_double(k)));
      t = std::move(converted);
    }
    if (t.dtype() != param.dtype())
      fail(argument.offset, fmt::format("argument {} ('{}') must be {}, not {}; convert it with "
                                        "{}(...)",
                                        i + 1, param->name(), dtype_name(param.dtype()),
                                        dtype_name(t.dtype()), dtype_name(param.dtype())));
    if (t.rank() != param.rank())
      fail(argument.offset,
           fmt::format("argument {} ('{}') must have rank {}, as in shape {}, not shape {}", i + 1,
                       param->name(), param.rank(), param.shape().to_string(), dims_to_string(t.shape())));
    arguments.push_back(std::move(t));
  }

  if (compiled.has_updates && !inspecting_.empty())
    fail(offset, fmt::format(":{} shows an expression without running its updates, but this call "
                             "updates shared variables; call the function on its own line",
                             inspecting_));
  CallOptions call_options;
  call_options.stop = options_.stop;
  // A size or label error points at the argument it names.
  std::vector<Tensor> results = with_location(*this, offset, [&] {
    try {
      return function.call(arguments, call_options);
    } catch (const ArgumentError& error) {
      if (error.argument() >= call.arguments.size()) throw;
      fail(call.arguments[error.argument()].offset, error.message());
    }
  });
  std::vector<Value> values;
  for (const Tensor& t : results) values.push_back(Value::tensor(graph_.constant(t)));
  if (!compiled.list_outputs && values.size() == 1) return values[0];
  return Value::list(std::move(values));
}

std::int64_t Interpreter::constant_int(const ast::Expr& expr, const std::string& what) {
  return to_int(evaluate(expr), expr.offset, what);
}


namespace {

// The axes that an index tensor's take put into a subscripted tensor: rank axes from start.
// next_subscript is the subscript that may pair with it.
struct PairedIndex {
  int start = 0;
  int rank = 0;
  const void* next_subscript = nullptr;
};

// Pairs index j with the block of an earlier index tensor in x: x's axes are
// before + block + (size of j's axis) + rest. Element p of the block takes element j[p] of
// that axis, as take_along_axis does, and the axis goes away. Widens the block when j's
// shape broadcasts it.
Expr pair_index(Expr x, Expr j, PairedIndex& paired) {
  std::vector<Dim> dims = x.shape().dims();
  auto begin = dims.begin() + paired.start;
  Shape block(std::vector<Dim>(begin, begin + paired.rank));
  std::optional<Shape> both = broadcast_shapes(block, j.shape());
  if (!both)
    throw UserError(fmt::format("paired index tensors of shapes {} and {} do not broadcast; give "
                                "them shapes that broadcast, as NumPy requires",
                                block.to_string(), j.shape().to_string()));
  if (*both != block) {
    // The block's axes align with the last axes of the wider shape, as in broadcasting, so
    // new axes go in front of the block before it widens.
    for (int a = paired.rank; a < both->rank(); ++a) x = expand_dims(x, paired.start);
    dims.erase(begin, begin + paired.rank);
    dims.insert(dims.begin() + paired.start, both->dims().begin(), both->dims().end());
    x = broadcast_to(x, Shape(dims));
    paired.rank = both->rank();
  }
  // j as x's rank: 1 before the block, the block's shape, 1 for the axis and each axis after.
  Expr index = broadcast_to(j, *both);
  for (int a = 0; a < paired.start; ++a) index = expand_dims(index, 0);
  for (int a = paired.start + paired.rank; a < x.rank(); ++a) index = expand_dims(index, a);
  int axis = paired.start + paired.rank;
  return squeeze(take_along_axis(x, index, axis), Axes({axis}));
}

}  // namespace

Value Interpreter::evaluate_index(const ast::Expr& expr, const ast::Index& index) {
  Value target = evaluate(*index.target);
  // A list written in the code whose items form one tensor is indexed as that tensor. Other
  // lists take one integer subscript, which picks an item. Lists that a builtin or a compiled
  // function returned, such as grad(cost, [W, b]), are among them even when W and b share a
  // shape and dtype.
  bool forms_tensor = true;
  if (target.is(Value::Kind::List)) {
    forms_tensor = target.literal();
    if (forms_tensor) {
      try {
        to_expr(target, index.target->offset);
      } catch (const UserError&) {
        forms_tensor = false;
      }
    }
  }
  bool item_subscript = index.subscripts.size() == 1 && !index.subscripts[0].is_slice &&
                        !index.subscripts[0].is_ellipsis && index.subscripts[0].index != nullptr;
  if (target.is(Value::Kind::List) && !target.literal() && !item_subscript)
    fail(index.subscripts.empty() ? expr.offset : index.subscripts[0].offset,
         fmt::format("a list of {} item{} from a builtin or a compiled function takes one integer subscript, which "
                     "picks an item; index the item next, as in r[0][1:]",
                     target.list_size(), target.list_size() == 1 ? "" : "s"));
  if (!forms_tensor && item_subscript) {
    const ast::Subscript& s = index.subscripts[0];
    std::int64_t k = constant_int(*s.index, "a list subscript");
    auto count = static_cast<std::int64_t>(target.list_size());
    if (k < -count || k >= count)
      fail(s.offset, fmt::format("index {} is out of range for a list of {} item{}", k, count, count == 1 ? "" : "s"));
    return list_items(target)[static_cast<std::size_t>(k < 0 ? k + count : k)];
  }
  Expr x = to_expr(target, index.target->offset);

  // none inserts an axis of size 1, as NumPy's None does, and one ... stands for full
  // slices of the axes that the other subscripts leave out.
  auto is_new_axis = [](const ast::Subscript& s) {
    if (s.is_slice || s.is_ellipsis) return false;
    const auto* name = std::get_if<ast::Name>(&s.index->node);
    return name != nullptr && name->name == "none";
  };
  const ast::Subscript* ellipsis = nullptr;
  int consumed = 0;  // subscripts that read an axis of x
  for (const ast::Subscript& s : index.subscripts) {
    if (s.is_ellipsis) {
      if (ellipsis != nullptr) fail(s.offset, "an index can have only one '...'");
      ellipsis = &s;
    } else if (!is_new_axis(s) && ++consumed > x.rank()) {
      fail(s.offset, fmt::format("too many subscripts: the tensor has rank {} ({}) but {} were given",
                                 x.rank(), x.shape().to_string(),
                                 std::count_if(index.subscripts.begin(), index.subscripts.end(),
                                               [&](const ast::Subscript& t) {
                                                 return !t.is_ellipsis && !is_new_axis(t);
                                               })));
    }
  }

  int left_out = x.rank() - consumed;  // the axes that ... or the end of the index keeps
  int axis = 0;
  std::vector<std::int64_t> squeezed;  // axes of the result that integer subscripts removed
  int index_tensors = 0;
  std::optional<PairedIndex> paired;  // the block of the last index tensor
  for (const ast::Subscript& s : index.subscripts) {
    if (s.is_ellipsis) {
      axis += left_out;
      continue;
    }
    if (is_new_axis(s)) {
      x = with_location(*this, s.offset, [&] { return expand_dims(x, axis); });
      ++axis;
      continue;
    }
    if (s.is_slice) {
      std::optional<std::int64_t> start, stop;
      if (s.start) start = constant_int(*s.start, "a slice start");
      if (s.stop) stop = constant_int(*s.stop, "a slice stop");
      std::int64_t step = s.step ? constant_int(*s.step, "a slice step") : 1;
      x = with_location(*this, s.offset, [&] { return slice(x, axis, start, stop, step); });
      ++axis;
      continue;
    }

    Expr i = to_expr(evaluate(*s.index), s.index->offset);
    if (!is_integer(i.dtype()))
      fail(s.offset,
           fmt::format("a subscript must be an integer, a slice, none, ... or an integer index tensor, "
                       "not {}",
                       dtype_name(i.dtype())));
    const Dim& d = x.shape()[axis];
    bool constant_scalar = i.rank() == 0 && has_value(i);
    if (constant_scalar && d.is_static()) {
      // An integer subscript is a slice of length 1 whose axis is then squeezed.
      std::int64_t k = constant_int(*s.index, "a subscript");
      if (k < -d.size() || k >= d.size())
        fail(s.offset,
             fmt::format("index {} is out of range for axis {} of size {}", k, axis, d.size()));
      std::int64_t start = k < 0 ? k + d.size() : k;
      x = with_location(*this, s.offset, [&] { return slice(x, axis, start, start + 1, 1); });
      squeezed.push_back(axis);
      ++axis;
      continue;
    }
    if (i.rank() > 0 && paired.has_value() && paired->next_subscript == &s) {
      // An index tensor right after another pairs with it element by element, as in NumPy
      // (x[[0, 2], [1, 3]] is [x[0, 1], x[2, 3]]): their shapes broadcast into one block
      // that replaces both axes.
      x = with_location(*this, s.offset, [&] { return pair_index(x, i, *paired); });
      paired->next_subscript = &s + 1;
      axis = paired->start + paired->rank;
      continue;
    }
    if (i.rank() > 0 && ++index_tensors > 1)
      fail(s.offset, "index tensors in one subscript list must be next to each other, with no "
                     "slice or integer between them, because Damo pairs only adjacent ones; index "
                     "one axis at a time (x[i][:, :, j]) or use take_along_axis");
    // A symbolic axis, or an index tensor: NumPy's take, which replaces the axis by the
    // index's axes.
    x = with_location(*this, s.offset, [&] { return take(x, i, axis); });
    if (i.rank() > 0) paired = PairedIndex{axis, i.rank(), &s + 1};
    axis += i.rank();
  }
  if (!squeezed.empty())
    x = with_location(*this, expr.offset, [&] { return squeeze(x, Axes(squeezed)); });
  return Value::tensor(x);
}

}  // namespace damo

namespace damo {

Value Interpreter::evaluate_param(const ast::Expr& expr, const ast::Param& p) {
  if (param_dtypes_.empty())
    fail(expr.offset, fmt::format("${} names operand {} of a fused body, so it is valid only "
                                  "inside fused{{...}}",
                                  p.index, p.index));
  const std::vector<DType>& dtypes = param_dtypes_.back();
  if (p.index >= static_cast<std::int64_t>(dtypes.size()))
    fail(expr.offset, fmt::format("${} is out of range: the fused op has {} operand{}", p.index,
                                  dtypes.size(), dtypes.size() == 1 ? "" : "s"));
  DType dtype = dtypes[static_cast<std::size_t>(p.index)];
  return Value::tensor(param(graph_, static_cast<int>(p.index), dtype));
}

Value Interpreter::evaluate_fused(const ast::Expr& expr, const ast::Fused& fused) {
  // The reduction comes from the name: fused_sum{...} reduces with sum.
  std::optional<OpKind> reduction;
  if (fused.name != "fused") {
    reduction = op_from_name(fused.name.substr(std::strlen("fused_")));
    if (!reduction || !is_fused_reduction_op(*reduction))
      fail(expr.offset, fmt::format("unknown fused op '{}': write fused{{...}} or fused_sum, "
                                    "fused_mean, fused_max, fused_min or fused_prod",
                                    fused.name));
  }

  std::vector<Expr> operands;
  std::optional<Axes> axes;
  bool keepdims = false;
  for (const ast::Argument& argument : fused.arguments) {
    Value value = evaluate(*argument.value);
    if (argument.keyword.empty()) {
      operands.push_back(to_expr(value, argument.offset));
    } else if (reduction && argument.keyword == "axis") {
      std::vector<std::int64_t> list;
      if (value.is(Value::Kind::List))
        for (const Value& item : list_items(value))
          list.push_back(to_int(item, argument.offset, "axis"));
      else
        list.push_back(to_int(value, argument.offset, "axis"));
      axes = Axes(std::move(list));
    } else if (reduction && argument.keyword == "keepdims") {
      keepdims = to_bool(value, argument.offset, "keepdims");
    } else {
      fail(argument.offset,
           fmt::format("{} has no argument named '{}'", fused.name, argument.keyword));
    }
  }

  std::vector<DType> dtypes;
  for (const Expr& operand : operands) dtypes.push_back(operand.dtype());
  param_dtypes_.push_back(std::move(dtypes));
  Expr body;
  try {
    body = to_expr(evaluate(*fused.body), fused.body->offset);
  } catch (...) {
    param_dtypes_.pop_back();
    throw;
  }
  param_dtypes_.pop_back();

  std::string problem = fused_body_problem(fused.name, body, operands);
  if (problem.empty() && reduction) problem = fused_reduction_problem(*reduction, body);
  if (!problem.empty()) fail(expr.offset, problem);
  return Value::tensor(with_location(*this, expr.offset, [&] {
    if (!reduction) return fused_elementwise(body, operands);
    return fused_reduction(*reduction, body, operands, axes.value_or(Axes()), keepdims);
  }));
}

}  // namespace damo
