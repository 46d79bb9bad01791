// Builtins that transform or compile expressions: grad and the other derivatives, simplify
// and function.
#include <fmt/format.h>

#include "builtins.h"
#include "damo/optimizer/optimize.h"
#include "damo/graph/autodiff.h"

namespace damo {

namespace {

GradOptions grad_options(Args& a) {
  GradOptions options;
  if (a.has("disconnected")) {
    std::string policy = a.string("disconnected");
    if (policy == "zeros")
      options.disconnected = DisconnectedPolicy::Zeros;
    else if (policy == "warn")
      options.disconnected = DisconnectedPolicy::Warn;
    else if (policy != "raise")
      a.fail("disconnected",
             fmt::format("disconnected must be \"raise\", \"warn\" or \"zeros\", not \"{}\"", policy));
  }
  return options;
}

// Returns one tensor when param was one tensor, else a list with one item per result.
Value tensor_or_list(Args& a, const std::string& param, const std::vector<Expr>& results) {
  if (!a.value(param).is(Value::Kind::List)) return Value::tensor(results.at(0));
  std::vector<Value> out;
  for (const Expr& e : results) out.push_back(Value::tensor(e));
  return Value::list(std::move(out));
}

Value make_grad(Args& a) {
  Expr cost = a.tensor("cost");
  return tensor_or_list(a, "wrt", grad(cost, a.tensors("wrt"), grad_options(a)));
}

// Returns the tensors paired with argument first (cotangents with outputs, tangents with
// wrt). When first is one tensor, they are one tensor too, so a literal such as [1., 2.] is
// one cotangent. When first is a list, they are a list of the same length.
std::vector<Expr> paired(Args& a, const std::string& first, const std::string& second) {
  if (!a.value(first).is(Value::Kind::List)) {
    // [t] with t of the first's shape is a tensor with one more axis; name that mistake.
    const Value& argument = a.value(second);
    Expr target = a.tensor(first);
    bool one_item = argument.is(Value::Kind::List) && argument.list_size() == 1;
    Value item = one_item ? a.interpreter().list_items(argument)[0] : Value();
    if (item.is(Value::Kind::Tensor) && target.rank() > 0 && item.expr().shape() == target.shape())
      a.fail(second, fmt::format("{}() takes {} as one tensor when {} is one tensor, so a list of "
                                 "one tensor is a tensor of shape (1, ...); drop the brackets, or "
                                 "pass {} as a list too",
                                 a.name(), second, first, first));
    return {a.tensor(second)};
  }
  if (!a.value(second).is(Value::Kind::List))
    a.fail(second, fmt::format("{}() takes {} as a list when {} is a list, one per item", a.name(),
                               second, first));
  return a.tensors(second);
}

// The variable of jacobian and hessian, which take one tensor.
Expr single_variable(Args& a) {
  if (a.value("wrt").is(Value::Kind::List))
    a.fail("wrt", fmt::format("{}() takes one tensor as wrt, not a list; call it once per variable",
                              a.name()));
  return a.tensor("wrt");
}

Value make_vjp(Args& a) {
  std::vector<Expr> cotangents = paired(a, "outputs", "cotangents");
  return tensor_or_list(a, "wrt",
                        vjp(a.tensors("outputs"), cotangents, a.tensors("wrt"), grad_options(a)));
}

Value make_jvp(Args& a) {
  std::vector<Expr> tangents = paired(a, "wrt", "tangents");
  return tensor_or_list(a, "outputs",
                        jvp(a.tensors("outputs"), a.tensors("wrt"), tangents, grad_options(a)));
}

std::vector<Update> read_updates(Args& a) {
  std::vector<Update> updates;
  if (!a.has("updates")) return updates;
  const Value& value = a.value("updates");
  bool empty_list = value.is(Value::Kind::List) && value.list_size() == 0;
  if (empty_list) return updates;
  if (!value.is(Value::Kind::Map))
    a.fail("updates", "function() updates must be a map such as [W: W - 0.1 * grad(loss, W)]");

  Interpreter& interpreter = a.interpreter();
  std::size_t offset = a.offset("updates");
  for (const auto& [key, new_value] : value.entries()) {
    Expr variable = interpreter.to_expr(key, offset);
    if (variable->op() != OpKind::Shared)
      a.fail("updates", fmt::format("function(): an update target must be a shared variable, "
                                    "but '{}' is not; make it with shared(name, value)",
                                    variable.to_string()));
    // A number or a list of numbers takes the variable's dtype, and broadcasts to its shape,
    // as a literal does when it meets a typed tensor in arithmetic.
    // An integer or bool variable accepts only literals it represents exactly, so 2.5 or
    // 3000000000 for an i32 is an error rather than a silent change.
    Expr value = interpreter.to_expr(new_value, offset);
    if (value->weak()) {
      if (value.dtype() != variable.dtype() && !is_float(variable.dtype()) &&
          Interpreter::is_constant_expr(value)) {
        Tensor literal = interpreter.constant_value(value, offset);
        Tensor converted = literal.cast(variable.dtype());
        for (std::int64_t k = 0; k < literal.numel(); ++k)
          if (!(converted.get_double(k) == literal.get_double(k)))
            a.fail("updates", fmt::format("function(): the update of '{}' ({} {}) is the literal {}, "
                                          "which {} cannot represent; give a value that fits",
                                          variable->name(), dtype_name(variable.dtype()),
                                          variable.shape().to_string(), literal.get_double(k),
                                          dtype_name(variable.dtype())));
      }
      if (value.dtype() != variable.dtype()) value = cast(value, variable.dtype());
      if (value.shape() != variable.shape()) value = broadcast_to(value, variable.shape());
    }
    updates.push_back({variable, value});
  }
  return updates;
}

Value make_function(Args& a) {
  std::vector<Expr> inputs = a.tensors("inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i]->op() != OpKind::Input)
      a.fail("inputs", fmt::format("function(): input {} must be a symbolic input declared with "
                                   "vector, matrix, tensor or scalar, not '{}'",
                                   i, inputs[i].to_string()));

  bool list_outputs = a.value("outputs").is(Value::Kind::List);
  std::vector<Expr> outputs = a.tensors("outputs");
  std::vector<Update> updates = read_updates(a);

  auto compiled = std::make_shared<CompiledFunction>();
  compiled->list_outputs = list_outputs;
  compiled->has_updates = !updates.empty();
  CompileOptions options = a.interpreter().options().compile;
  options.nan_guard = a.boolean("nan_guard", options.nan_guard);
  compiled->function = compile(inputs, outputs, updates, options);
  return Value::function(std::move(compiled));
}

}  // namespace

void add_function_builtins(std::vector<Builtin>& out) {
  out.push_back(define("grad(cost, wrt, disconnected=\"raise\")",
                       "gradient of a scalar cost with respect to a tensor or a list of them; "
                       "disconnected=\"zeros\" (or \"warn\", which also logs) gives zeros for one the "
                       "cost does not depend on",
                       make_grad));
  out.push_back(define("vjp(outputs, cotangents, wrt, disconnected=\"raise\")",
                       "vector-Jacobian product: the gradient of sum(cotangent * output) over the "
                       "outputs, for each of wrt; tensors or lists",
                       make_vjp));
  out.push_back(define("jvp(outputs, wrt, tangents, disconnected=\"raise\")",
                       "Jacobian-vector product: the derivative of each output along the tangents "
                       "of wrt; tensors or lists",
                       make_jvp));
  out.push_back(define("jacobian(output, wrt, disconnected=\"raise\")",
                       "the Jacobian of output with respect to wrt, of shape output.shape + "
                       "wrt.shape; static shapes only",
                       [](Args& a) {
                         return Value::tensor(
                             jacobian(a.tensor("output"), single_variable(a), grad_options(a)));
                       }));
  out.push_back(define("hessian(cost, wrt, disconnected=\"raise\")",
                       "the Hessian of a scalar cost with respect to wrt, of shape wrt.shape + "
                       "wrt.shape; static shapes only",
                       [](Args& a) {
                         return Value::tensor(
                             hessian(a.tensor("cost"), single_variable(a), grad_options(a)));
                       }));
  out.push_back(define("simplify(e)", "e after algebraic simplification and stabilization",
                       [](Args& a) -> Value {
                         OptimizeOptions options;
                         options.pipeline = PipelineKind::Simplify;
                         return Value::tensor(optimize_exprs({a.tensor("e")}, options)[0]);
                       }));
  out.push_back(define("function(inputs, outputs, updates=none, nan_guard=false)",
                       "compiles outputs as a function of a list of inputs; calling it runs "
                       "the code and applies the updates to shared variables",
                       make_function));
}

}  // namespace damo
