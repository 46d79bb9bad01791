#include "damo/frontend/function.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "damo/graph/printer.h"
#include "damo/graph/traversal.h"
#include "damo/optimizer/optimize.h"
#include "damo/runtime/log.h"
#include "damo/runtime/stop.h"
#include "function_impl.h"

namespace damo {

Function::Function() = default;
Function::~Function() = default;
Function::Function(const Function&) = default;
Function& Function::operator=(const Function&) = default;
Function::Function(Function&&) noexcept = default;
Function& Function::operator=(Function&&) noexcept = default;
Function::Function(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

const Function::Impl& checked(const std::shared_ptr<Function::Impl>& impl) {
  if (!impl) throw UserError("this Function is empty: create it with damo::compile()");
  return *impl;
}

[[noreturn]] void fail_destroyed(const char* caller) {
  throw UserError(fmt::format("{}: the Graph this function was compiled from has been "
                              "destroyed; keep the Graph alive while the function is used",
                              caller));
}

// Throws UserError when the Graph that the function's Exprs point into has been destroyed.
const Function::Impl& with_graph(const std::shared_ptr<Function::Impl>& impl, const char* caller) {
  const Function::Impl& f = checked(impl);
  if (f.has_graph && f.graph_lifetime.expired()) fail_destroyed(caller);
  return f;
}

ParameterSpec parameter_spec(const Expr& input) {
  ParameterSpec spec;
  spec.name = input->name();
  spec.dtype = input.dtype();
  for (const Dim& d : input.shape())
    spec.dims.push_back({d.is_static() ? d.size() : 0, d.symbol()});
  return spec;
}

void check_inputs(const std::vector<Expr>& inputs) {
  std::unordered_set<const Node*> seen;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Expr& e = inputs[i];
    if (!e.defined()) throw UserError(fmt::format("compile: input {} is undefined", i + 1));
    if (e->op() != OpKind::Input)
      throw UserError(
          fmt::format("compile: input {} is not a symbolic input but {}; list only "
                      "nodes made by Graph::input()",
                      i + 1, to_infix(e)));
    if (!seen.insert(e.node()).second)
      throw UserError(fmt::format("compile: input '{}' is listed twice", e->name()));
  }
}

// Names the first output or update whose value reads node: "output 2" or "the update of
// 'w'".
std::string user_of(const Node* node, const std::vector<Expr>& outputs,
                    const std::vector<Update>& updates) {
  auto reads = [node](const Expr& root) {
    std::vector<const Node*> order = topo_order(std::vector<Expr>{root});
    return std::find(order.begin(), order.end(), node) != order.end();
  };
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (reads(outputs[i])) return fmt::format("output {}", i + 1);
  for (const Update& u : updates)
    if (reads(u.value)) return fmt::format("the update of '{}'", u.variable->name());
  return "the function";
}

// Throws UserError when the Exprs come from more than one Graph. Each Graph interns its own
// nodes and shared variables, so a function must stay within one.
void check_single_graph(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                        const std::vector<Update>& updates) {
  const Graph* graph = nullptr;
  std::string first;
  auto check = [&](const Expr& e, const std::string& what) {
    if (!e.defined()) return;
    if (graph == nullptr) {
      graph = &e.graph();
      first = what;
    } else if (&e.graph() != graph) {
      throw UserError(fmt::format("compile: {} belongs to another Graph than {}; build the "
                                  "inputs, outputs and updates of one function in one Graph",
                                  what, first));
    }
  };
  for (std::size_t i = 0; i < inputs.size(); ++i)
    check(inputs[i], fmt::format("input {}", i + 1));
  for (std::size_t i = 0; i < outputs.size(); ++i)
    check(outputs[i], fmt::format("output {}", i + 1));
  for (const Update& u : updates) {
    std::string name = u.variable.defined() ? u.variable->name() : "?";
    check(u.variable, fmt::format("the variable of the update of '{}'", name));
    check(u.value, fmt::format("the value of the update of '{}'", name));
  }
}

void check_outputs_and_updates(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                               const std::vector<Update>& updates) {
  std::vector<Expr> roots;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined())
      throw UserError(fmt::format("compile: output {} is undefined", i + 1));
    roots.push_back(outputs[i]);
  }
  std::unordered_set<const Node*> updated;
  for (const Update& u : updates) {
    if (!u.variable.defined() || !u.value.defined())
      throw UserError("compile: an update has an undefined variable or value");
    if (u.variable->op() != OpKind::Shared)
      throw UserError(fmt::format("compile: the update target {} is not a shared variable",
                                  to_infix(u.variable)));
    if (!updated.insert(u.variable.node()).second)
      throw UserError(
          fmt::format("compile: shared variable '{}' is updated twice", u.variable->name()));
    if (u.value.dtype() != u.variable.dtype() || u.value.shape() != u.variable.shape())
      throw UserError(fmt::format(
          "compile: the update of '{}' ({} {}) has a value of {} {}; "
          "it must keep the variable's dtype and shape",
          u.variable->name(), dtype_name(u.variable.dtype()), u.variable.shape().to_string(),
          dtype_name(u.value.dtype()), u.value.shape().to_string()));
    roots.push_back(u.value);
  }
  std::unordered_set<const Node*> listed;
  std::unordered_set<std::string> bound_symbols;
  for (const Expr& e : inputs) {
    listed.insert(e.node());
    for (const Dim& d : e.shape())
      if (d.is_symbolic()) bound_symbols.insert(d.symbol());
  }
  std::vector<const Node*> order = topo_order(roots);
  for (const Node* n : order) {
    if (n->op() == OpKind::Param)
      throw UserError(fmt::format("compile: the outputs or updates contain param({}), which is an operand placeholder "
                                  "of a fused_elementwise body and has no value elsewhere; use an "
                                  "input instead",
                                  n->attr(0)));
    if (n->op() == OpKind::Input && listed.count(n) == 0)
      throw UserError(
          fmt::format("compile: {} needs input '{}' ({} {}), which is not in "
                      "the list of inputs; add it",
                      user_of(n, outputs, updates), n->name(), dtype_name(n->dtype()),
                      n->shape().to_string()));
  }
  // Only the arguments give symbols their sizes (broadcast_to and random draws can introduce
  // new ones). A missing input is reported first, because adding it may bind the symbol.
  for (const Node* n : order) {
    for (const Dim& d : n->shape())
      if (d.is_symbolic() && bound_symbols.count(d.base_symbol()) == 0)
        throw UserError(fmt::format(
            "compile: {} {} {}{} uses symbolic dimension '{}', which no "
            "input has, so no call can give its size; add an input with "
            "that dimension or use a static size",
            op_name(n->op()), dtype_name(n->dtype()), n->shape().to_string(),
            n->op() == OpKind::RandomUniform
                ? " (the draw behind random_uniform, random_normal, bernoulli, randint and dropout)"
                : "",
            d.symbol()));
  }
}

}  // namespace

std::vector<LabelRead> sparse_label_reads(const std::vector<Expr>& roots) {
  std::vector<LabelRead> reads;
  for (const Node* node : topo_order(roots)) {
    OpKind op = node->op();
    if (op != OpKind::SparseCategoricalCrossentropy && op != OpKind::SparseSoftmaxCrossEntropy &&
        op != OpKind::SparseSoftmaxCrossEntropyGrad)
      continue;
    const Node* values = node->input(0);
    reads.push_back({node->input(1), values->shape()[values->rank() - 1]});
  }
  return reads;
}

namespace {

// The arguments that a sparse cross-entropy reads as labels, directly or through ops that
// move every element to one place (reshape, expand_dims, squeeze, transpose), with the
// class count: static, or a symbol that the call gives a size. A computed label is not
// checked, so one outside the classes gives NaN. A broadcast_to is not looked through,
// because it may read no element at all.
std::vector<LabelCheck> find_label_checks(const std::vector<Expr>& inputs,
                                          const std::vector<Expr>& roots) {
  std::vector<LabelCheck> checks;
  for (const LabelRead& read : sparse_label_reads(roots)) {
    const Dim& classes = read.classes;
    const Node* source = read.labels;
    while (source->op() == OpKind::Reshape || source->op() == OpKind::ExpandDims ||
           source->op() == OpKind::Squeeze || source->op() == OpKind::Transpose)
      source = source->input(0);
    auto input = std::find_if(inputs.begin(), inputs.end(),
                              [&](const Expr& e) { return e.node() == source; });
    if (input == inputs.end()) continue;
    LabelCheck check{static_cast<std::size_t>(input - inputs.begin()),
                     classes.is_static() ? classes.size() : 0,
                     classes.is_static() ? std::string() : classes.symbol()};
    bool known = std::any_of(checks.begin(), checks.end(), [&](const LabelCheck& c) {
      return c.argument == check.argument && c.classes == check.classes && c.class_symbol == check.class_symbol;
    });
    if (!known) checks.push_back(check);
  }
  return checks;
}

template <class T>
void check_label_values(const Tensor& labels, const LabelCheck& check, std::int64_t classes,
                        const ParameterSpec& parameter) {
  const T* data = labels.data<T>();
  for (std::int64_t i = 0; i < labels.numel(); ++i) {
    auto label = static_cast<std::int64_t>(data[i]);
    if (label >= 0 && label < classes) continue;
    throw ArgumentError(fmt::format("argument {} ('{}') contains the class label {} at flat index {}, "
                                    "outside [0, {}): a cross-entropy of the function reads it as one "
                                    "of {} classes, counted from 0; fix the label or give the model "
                                    "more classes",
                                    check.argument + 1, parameter.name, label, i, classes, classes),
                        check.argument);
  }
}

}  // namespace

std::vector<Tensor> Function::operator()(const std::vector<Tensor>& arguments) const {
  return call(arguments, CallOptions{});
}

std::vector<Tensor> Function::call(const std::vector<Tensor>& arguments,
                                   const CallOptions& options) const {
  const Impl& impl = checked(impl_);
  // The reference backend reads the graph's nodes, so the Graph may not go away meanwhile.
  std::optional<GraphUse> use;
  if (impl.reads_graph_when_called && impl.has_graph) {
    use = Graph::try_use(impl.graph_lifetime);
    if (!use) fail_destroyed("calling a reference-backend function");
  }
  SymbolSizes sizes = bind_arguments(impl.parameters, arguments);
  for (const LabelCheck& check : impl.label_checks) {
    const Tensor& labels = arguments[check.argument];
    const ParameterSpec& parameter = impl.parameters[check.argument];
    std::int64_t classes = check.classes;
    if (!check.class_symbol.empty()) {
      // compile() checked that an input binds every symbol, so the size is found.
      std::optional<std::int64_t> size = symbol_size(sizes, check.class_symbol);
      if (!size) continue;
      classes = *size;
    }
    if (labels.dtype() == DType::Int32) check_label_values<std::int32_t>(labels, check, classes, parameter);
    else if (labels.dtype() == DType::Int64) check_label_values<std::int64_t>(labels, check, classes, parameter);
  }
  StopScope stop_scope(options.stop);
  return impl.executor->run(arguments, sizes, options.borrow_outputs);
}

const std::vector<Expr>& Function::inputs() const { return with_graph(impl_, "inputs()").inputs; }
const std::vector<Expr>& Function::outputs() const {
  return with_graph(impl_, "outputs()").outputs;
}
const CompileStats& Function::stats() const { return checked(impl_).stats; }
std::string Function::optimized_graph() const { return checked(impl_).optimized_graph; }
std::string Function::llvm_ir(bool optimized) const {
  return checked(impl_).executor->llvm_ir(optimized);
}
std::string Function::assembly() const { return checked(impl_).executor->assembly(); }

Function compile(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                 const std::vector<Update>& updates, const CompileOptions& options) {
  auto start = std::chrono::steady_clock::now();
  if (options.opt_level < 0 || options.opt_level > 3)
    throw UserError(fmt::format("compile: opt_level {} is not between 0 and 3", options.opt_level));
  // Another thread may destroy the Graph once this compile has begun; its destructor then
  // waits for the compile to end.
  std::optional<GraphUse> use;
  for (const std::vector<Expr>* list : {&outputs, &inputs})
    if (!use && !list->empty() && list->front().defined()) use.emplace(list->front().graph().use());
  if (!use && !updates.empty() && updates.front().value.defined())
    use.emplace(updates.front().value.graph().use());
  check_inputs(inputs);
  check_single_graph(inputs, outputs, updates);
  check_outputs_and_updates(inputs, outputs, updates);

  auto impl = std::make_shared<Function::Impl>();
  impl->inputs = inputs;
  impl->outputs = outputs;
  impl->updates = updates;
  for (const Expr& e : inputs) impl->parameters.push_back(parameter_spec(e));

  // The optimizer rewrites outputs and update values together, as one graph.
  std::vector<Expr> roots = outputs;
  for (const Update& u : updates) roots.push_back(u.value);
  impl->label_checks = find_label_checks(inputs, roots);
  OptimizeOptions optimize_options;
  optimize_options.pipeline = updates.empty() ? PipelineKind::Inference : PipelineKind::Training;
  optimize_options.fast_math = options.fast_math;
  optimize_options.pipeline_options.disabled_passes = options.disabled_passes;
  // The NaN guard checks each kernel's output. Without elementwise and matmul fusion every
  // op is a kernel of its own, so the guard names the op that produced the value.
  if (options.nan_guard)
    for (const char* pass : {"fuse_elementwise", "fuse_matmul"})
      optimize_options.pipeline_options.disabled_passes.emplace_back(pass);
  PipelineResult optimized = optimize(roots, optimize_options);
  impl->stats.rewrite_ms = optimized.milliseconds;
  impl->optimized_graph = dump(optimized.roots);
  std::vector<Expr> optimized_outputs(optimized.roots.begin(),
                                      optimized.roots.begin() + static_cast<long>(outputs.size()));
  std::vector<Update> optimized_updates = updates;
  for (std::size_t i = 0; i < updates.size(); ++i)
    optimized_updates[i].value = optimized.roots[outputs.size() + i];

  impl->has_graph = !outputs.empty() || !inputs.empty();
  if (impl->has_graph)
    impl->graph_lifetime = (outputs.empty() ? inputs : outputs).front().graph().lifetime();
  impl->reads_graph_when_called = options.backend == Backend::Reference;
  if (options.backend == Backend::Reference)
    impl->executor =
        make_reference_executor(inputs, optimized_outputs, optimized_updates, options.nan_guard);
  else
    impl->executor =
        make_jit_executor(inputs, optimized_outputs, optimized_updates, options, impl->stats);

  impl->stats.total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  log_at(1, "compile: {} inputs, {} outputs, {} updates in {:.2f} ms", inputs.size(),
         outputs.size(), updates.size(), impl->stats.total_ms);
  return Function(std::move(impl));
}

}  // namespace damo
