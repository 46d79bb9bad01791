// Builtins that transform or compile expressions: grad, simplify and function.
#include <fmt/format.h>

#include "builtins.h"
#include "damo/optimizer/optimize.h"
#include "damo/graph/autodiff.h"

namespace damo {

namespace {

Value make_grad(Args& a) {
  Expr cost = a.tensor("cost");
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
  if (!a.value("wrt").is(Value::Kind::List)) return Value::tensor(grad(cost, a.tensor("wrt"), options));
  std::vector<Value> out;
  for (const Expr& g : grad(cost, a.tensors("wrt"), options)) out.push_back(Value::tensor(g));
  return Value::list(std::move(out));
}

std::vector<Update> read_updates(Args& a) {
  std::vector<Update> updates;
  if (!a.has("updates")) return updates;
  const Value& value = a.value("updates");
  bool empty_list = value.is(Value::Kind::List) && value.items().empty();
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
    updates.push_back({variable, interpreter.to_expr(new_value, offset)});
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
  compiled->function = compile(inputs, outputs, updates, a.interpreter().options().compile);
  return Value::function(std::move(compiled));
}

}  // namespace

void add_function_builtins(std::vector<Builtin>& out) {
  out.push_back(define("grad(cost, wrt, disconnected=\"raise\")",
                       "gradient of a scalar cost with respect to a tensor or a list of them; "
                       "disconnected=\"zeros\" (or \"warn\", which also logs) gives zeros for one the "
                       "cost does not depend on",
                       make_grad));
  out.push_back(define("simplify(e)", "e after algebraic simplification and stabilization",
                       [](Args& a) -> Value {
                         OptimizeOptions options;
                         options.pipeline = PipelineKind::Simplify;
                         return Value::tensor(optimize_exprs({a.tensor("e")}, options)[0]);
                       }));
  out.push_back(define("function(inputs, outputs, updates=none)",
                       "compiles outputs as a function of a list of inputs; calling it runs "
                       "the code and applies the updates to shared variables",
                       make_function));
}

}  // namespace damo
