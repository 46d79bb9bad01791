#include "damo/codegen/program.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "damo/graph/printer.h"
#include "damo/graph/traversal.h"

namespace damo {

int Program::symbol_index(const std::string& symbol) const {
  auto it = std::find(spec.symbols.begin(), spec.symbols.end(), symbol);
  DAMO_ASSERT(it != spec.symbols.end(), "unknown symbol '" + symbol + "'");
  return static_cast<int>(it - spec.symbols.begin());
}

namespace {

bool is_view(OpKind op) {
  return op == OpKind::Reshape || op == OpKind::ExpandDims || op == OpKind::Squeeze ||
         op == OpKind::StopGradient;
}

std::vector<ParameterDim> parameter_dims(const Shape& shape) {
  std::vector<ParameterDim> dims;
  for (const Dim& d : shape) dims.push_back({d.is_static() ? d.size() : 0, d.symbol()});
  return dims;
}

// Row separability: whether a call can run on blocks of rows of one symbolic dim (the
// batch) with the same result. See ExecutableSpec::row_block_symbol.

bool mentions(const std::vector<ParameterDim>& dims, const std::string& symbol) {
  return std::any_of(dims.begin(), dims.end(),
                     [&](const ParameterDim& d) { return d.symbol == symbol; });
}

// The symbol is the first dim and no other.
bool is_row(const std::vector<ParameterDim>& dims, const std::string& symbol) {
  if (dims.empty() || dims[0].symbol != symbol) return false;
  return std::none_of(dims.begin() + 1, dims.end(),
                      [&](const ParameterDim& d) { return d.symbol == symbol; });
}

std::int64_t normalized_axis(std::int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

// True when a scalar body (FusedElementwise, FusedReduction) or the node itself reads the
// size of symbol through dim_size.
bool reads_symbol_size(const Node* node, const std::string& symbol) {
  std::vector<const Node*> stack = {node};
  if (node->attrs().body != nullptr) stack.push_back(node->attrs().body);
  std::vector<const Node*> seen;
  while (!stack.empty()) {
    const Node* current = stack.back();
    stack.pop_back();
    if (std::find(seen.begin(), seen.end(), current) != seen.end()) continue;
    seen.push_back(current);
    if (current->op() == OpKind::DimSize && current->name() == symbol) return true;
    // Operands of the node itself are other kernels' slots; only a body is walked.
    if (current != node)
      for (const Node* input : current->inputs()) stack.push_back(input);
  }
  return false;
}

// For a kernel whose output and some operands are rows: true when output row i reads only
// row i of those operands. Ops that combine rows along axis 0 (softmax over axis 0, a slice
// or gather of rows) and the scatter ops of gradients are not row-wise.
bool kernel_is_row_wise(const Node& node, const std::vector<bool>& operand_is_row) {
  auto axis_is_zero = [&](std::int64_t axis, int rank) { return normalized_axis(axis, rank) == 0; };
  switch (op_category(node.op())) {
  case OpCategory::Unary:
  case OpCategory::Binary:
  case OpCategory::Ternary:
  case OpCategory::LinearAlgebra:
    return true;
  case OpCategory::Reduction:
    for (std::int64_t axis : node.attrs().ints)
      if (axis_is_zero(axis, node.input(0)->rank())) return false;
    return true;
  case OpCategory::Layout:
    switch (node.op()) {
    case OpKind::BroadcastTo:
    case OpKind::OneHot: return true;
    case OpKind::Transpose: return !node.attrs().ints.empty() && node.attr(0) == 0;
    case OpKind::Concatenate:
    case OpKind::TakeAlongAxis: return !axis_is_zero(node.attr(0), node.rank());
    case OpKind::Slice: return !axis_is_zero(node.attr(0), node.input(0)->rank());
    // Take gathers along axis 0 of its first operand: rows when that operand is a row slot,
    // an embedding lookup when only the indices are.
    case OpKind::Take: return !(operand_is_row[0] && axis_is_zero(node.attr(0), node.input(0)->rank()));
    default: return false;
    }
  case OpCategory::NeuralNet:
    if (node.op() == OpKind::Softmax || node.op() == OpKind::LogSoftmax)
      return !axis_is_zero(node.attr(0), node.rank());
    return node.input(0)->rank() >= 2;
  case OpCategory::Fused:
    switch (node.op()) {
    case OpKind::FusedMatMul:
      return node.attrs().ints.size() >= 1 && node.attr(0) == 0;  // a not transposed
    case OpKind::FusedElementwise: return true;
    case OpKind::FusedReduction:
      for (std::int64_t axis : node.attrs().ints)
        if (axis_is_zero(axis, node.input(0)->rank())) return false;
      return true;
    case OpKind::SoftmaxCrossEntropy:
    case OpKind::SparseSoftmaxCrossEntropy:
    case OpKind::SoftmaxCrossEntropyGrad:
    case OpKind::SparseSoftmaxCrossEntropyGrad: return node.input(0)->rank() >= 2;
    default: return false;
    }
  case OpCategory::Leaf:
  case OpCategory::Gradient: return false;
  }
  return false;
}

bool row_separable_in(const Program& program, const std::string& symbol) {
  const ExecutableSpec& spec = program.spec;
  if (!spec.update_copies.empty()) return false;
  for (const BufferSlot& slot : spec.slots) {
    bool uses = mentions(slot.dims, symbol);
    if (uses && !is_row(slot.dims, symbol)) return false;
    switch (slot.kind) {
    case BufferSlot::Kind::Output:
      if (!uses) return false;
      break;
    case BufferSlot::Kind::Shared:
    case BufferSlot::Kind::Constant:
      if (uses) return false;
      break;
    case BufferSlot::Kind::Alias:
      if (uses != mentions(spec.slots[static_cast<std::size_t>(slot.index)].dims, symbol)) return false;
      break;
    case BufferSlot::Kind::Temporary:
    case BufferSlot::Kind::Argument: break;
    }
  }
  for (const Kernel& kernel : program.kernels) {
    if (kernel.copy) continue;
    bool output_is_row = mentions(spec.slots[static_cast<std::size_t>(kernel.output)].dims, symbol);
    std::vector<bool> operand_is_row;
    for (int input : kernel.inputs)
      operand_is_row.push_back(mentions(spec.slots[static_cast<std::size_t>(input)].dims, symbol));
    bool any_row_operand = std::find(operand_is_row.begin(), operand_is_row.end(), true) !=
                           operand_is_row.end();
    if (reads_symbol_size(kernel.node, symbol)) return false;
    if (!output_is_row && any_row_operand) return false;  // combines rows, a sum over them
    if (output_is_row && any_row_operand && !kernel_is_row_wise(*kernel.node, operand_is_row))
      return false;
  }
  return true;
}

int row_block_symbol(const Program& program) {
  const std::vector<std::string>& symbols = program.spec.symbols;
  for (std::size_t i = 0; i < symbols.size(); ++i)
    if (row_separable_in(program, symbols[i])) return static_cast<int>(i);
  return -1;
}

class Lowering {
 public:
  Program run(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
              const std::vector<std::pair<Expr, Expr>>& updates) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      argument_index_[inputs[i].node()] = static_cast<int>(i);
      ParameterSpec p;
      p.name = inputs[i]->name();
      p.dtype = inputs[i].dtype();
      p.dims = parameter_dims(inputs[i].shape());
      program_.spec.parameters.push_back(p);
      for (const Dim& d : inputs[i].shape())
        if (d.is_symbolic() && std::find(symbols().begin(), symbols().end(), d.symbol()) == symbols().end())
          symbols().push_back(d.symbol());
    }

    std::vector<Expr> roots = outputs;
    for (const auto& [variable, value] : updates) roots.push_back(value);
    for (const Node* node : topo_order(roots)) lower_node(node);

    for (std::size_t i = 0; i < outputs.size(); ++i) bind_output(static_cast<int>(i), outputs[i].node());
    for (const auto& [variable, value] : updates) bind_update(variable.node(), value.node());
    compute_live_ranges();
    program_.spec.row_block_symbol = row_block_symbol(program_);
    return std::move(program_);
  }

 private:
  std::vector<std::string>& symbols() { return program_.spec.symbols; }

  int add_slot(BufferSlot::Kind kind, int index, const Node* node) {
    BufferSlot slot;
    slot.kind = kind;
    slot.index = index;
    slot.dtype = node->dtype();
    slot.dims = parameter_dims(node->shape());
    program_.spec.slots.push_back(slot);
    program_.slot_nodes.push_back(node);
    return static_cast<int>(program_.spec.slots.size()) - 1;
  }

  int root_of(int slot) const {
    while (program_.spec.slots[slot].kind == BufferSlot::Kind::Alias) slot = program_.spec.slots[slot].index;
    return slot;
  }

  void lower_node(const Node* node) {
    switch (node->op()) {
    case OpKind::Input: {
      auto it = argument_index_.find(node);
      DAMO_ASSERT(it != argument_index_.end(), "input '" + node->name() + "' is not an argument");
      slot_of_[node] = add_slot(BufferSlot::Kind::Argument, it->second, node);
      return;
    }
    case OpKind::Shared: {
      auto& list = program_.spec.shared;
      auto it = std::find(list.begin(), list.end(), node->shared());
      int index = static_cast<int>(it - list.begin());
      if (it == list.end()) list.push_back(node->shared());
      slot_of_[node] = add_slot(BufferSlot::Kind::Shared, index, node);
      return;
    }
    case OpKind::DimSize:
      if (std::find(symbols().begin(), symbols().end(), node->name()) == symbols().end())
        throw UserError(fmt::format("compile: dim_size({}) needs an input with the symbolic "
                                    "dimension '{}'; none of the inputs has it",
                                    node->name(), node->name()));
      break;
    case OpKind::Constant: {
      program_.spec.constants.push_back(node->value());
      int index = static_cast<int>(program_.spec.constants.size()) - 1;
      slot_of_[node] = add_slot(BufferSlot::Kind::Constant, index, node);
      return;
    }
    default: break;
    }
    if (is_view(node->op())) {
      slot_of_[node] = add_slot(BufferSlot::Kind::Alias, root_of(slot_of_.at(node->input(0))), node);
      return;
    }
    Kernel kernel;
    kernel.node = node;
    kernel.output = add_slot(BufferSlot::Kind::Temporary, 0, node);
    for (const Node* input : node->inputs()) kernel.inputs.push_back(slot_of_.at(input));
    slot_of_[node] = kernel.output;
    program_.kernels.push_back(kernel);
  }

  // Adds a kernel that copies slot source into a new slot of the given kind.
  int add_copy(int source, BufferSlot::Kind kind, int index) {
    const Node* node = program_.slot_nodes[source];
    Kernel kernel;
    kernel.node = node;
    kernel.copy = true;
    kernel.inputs = {source};
    kernel.output = add_slot(kind, index, node);
    program_.kernels.push_back(kernel);
    return kernel.output;
  }

  void bind_output(int index, const Node* node) {
    int slot = slot_of_.at(node);
    BufferSlot& s = program_.spec.slots[slot];
    bool claimed = std::find(program_.spec.output_slots.begin(), program_.spec.output_slots.end(),
                             slot) != program_.spec.output_slots.end();
    if (s.kind == BufferSlot::Kind::Temporary && !claimed) {
      s.kind = BufferSlot::Kind::Output;
      s.index = index;
    } else {
      slot = add_copy(slot, BufferSlot::Kind::Output, index);
    }
    program_.spec.output_slots.push_back(slot);
  }

  void bind_update(const Node* variable, const Node* value) {
    auto& list = program_.spec.shared;
    auto it = std::find(list.begin(), list.end(), variable->shared());
    int shared_index = static_cast<int>(it - list.begin());
    if (it == list.end()) {
      list.push_back(variable->shared());
      add_slot(BufferSlot::Kind::Shared, shared_index, variable);
    }
    int slot = root_of(slot_of_.at(value));
    BufferSlot::Kind kind = program_.spec.slots[slot].kind;
    // A value that is not computed by a kernel of this call (a shared variable, argument or
    // constant) is copied first, so that no update reads memory another update writes.
    if (kind != BufferSlot::Kind::Temporary && kind != BufferSlot::Kind::Output)
      slot = add_copy(slot, BufferSlot::Kind::Temporary, 0);
    program_.spec.update_copies.emplace_back(shared_index, slot);
  }

  void compute_live_ranges() {
    auto& slots = program_.spec.slots;
    int end = static_cast<int>(program_.kernels.size());
    for (BufferSlot& s : slots) s.first_use = s.last_use = -1;
    for (int k = 0; k < end; ++k) {
      const Kernel& kernel = program_.kernels[k];
      BufferSlot& out = slots[kernel.output];
      if (out.first_use < 0) out.first_use = k;
      out.last_use = std::max(out.last_use, k);
      for (int input : kernel.inputs) {
        BufferSlot& in = slots[root_of(input)];
        in.last_use = std::max(in.last_use, k);
      }
    }
    for (const auto& [shared_index, slot] : program_.spec.update_copies) slots[slot].last_use = end;
  }

  Program program_;
  std::unordered_map<const Node*, int> argument_index_;
  std::unordered_map<const Node*, int> slot_of_;
};

std::string_view kind_name(BufferSlot::Kind kind) {
  switch (kind) {
  case BufferSlot::Kind::Argument: return "argument";
  case BufferSlot::Kind::Output: return "output";
  case BufferSlot::Kind::Shared: return "shared";
  case BufferSlot::Kind::Constant: return "constant";
  case BufferSlot::Kind::Temporary: return "temporary";
  case BufferSlot::Kind::Alias: return "alias";
  }
  return "?";
}

}  // namespace

Program lower_to_program(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                         const std::vector<std::pair<Expr, Expr>>& updates) {
  return Lowering().run(inputs, outputs, updates);
}

namespace {

// Expressions with up to this many node occurrences print in full in node_label().
constexpr std::size_t kLabelNodes = 24;
constexpr std::size_t kLabelChars = 80;

// True when the expression tree below node, counted with repeats, has at most limit nodes.
// Stops counting past the limit, so it costs O(limit) on any graph.
bool tree_within(const Node& node, std::size_t limit) {
  std::vector<const Node*> stack = {&node};
  std::size_t seen = 0;
  while (!stack.empty()) {
    const Node* current = stack.back();
    stack.pop_back();
    if (++seen > limit) return false;
    for (const Node* input : current->inputs()) stack.push_back(input);
  }
  return true;
}

}  // namespace

std::string node_label(const Node& node) {
  if (tree_within(node, kLabelNodes)) {
    std::string text = to_infix(Expr(&node));
    if (text.size() > kLabelChars) text = text.substr(0, kLabelChars - 3) + "...";
    return text;
  }
  std::vector<std::string> operands;
  for (const Node* input : node.inputs()) operands.push_back(fmt::format("%{}", input->id()));
  return fmt::format("{}({})", op_name(node.op()), fmt::join(operands, ", "));
}

void enable_nan_guard(Program& program) {
  program.spec.guarded_kernels.clear();
  for (std::size_t k = 0; k < program.kernels.size(); ++k) {
    const Kernel& kernel = program.kernels[k];
    if (kernel.copy || !is_float(kernel.node->dtype())) continue;
    GuardedKernel guarded;
    guarded.kernel = static_cast<int>(k);
    guarded.output = kernel.output;
    guarded.inputs = kernel.inputs;
    guarded.node.expression = node_label(*kernel.node);
    guarded.node.op = op_name(kernel.node->op());
    guarded.node.dtype = kernel.node->dtype();
    guarded.node.shape = kernel.node->shape().to_string();
    program.spec.guarded_kernels.push_back(std::move(guarded));
  }
}

std::string Program::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < spec.slots.size(); ++i) {
    const BufferSlot& s = spec.slots[i];
    ParameterSpec p{"", s.dtype, s.dims};
    out += fmt::format("slot {}: {} {} {}\n", i, kind_name(s.kind), s.index, p.type_string());
  }
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    const Kernel& kernel = kernels[k];
    out += fmt::format("kernel {}: slot {} = {}({})\n", k, kernel.output,
                       kernel.copy ? "copy" : op_name(kernel.node->op()),
                       fmt::join(kernel.inputs, ", "));
  }
  if (spec.row_block_symbol >= 0)
    out += fmt::format("row blocks over '{}'\n", spec.symbols[static_cast<std::size_t>(spec.row_block_symbol)]);
  return out;
}

}  // namespace damo
