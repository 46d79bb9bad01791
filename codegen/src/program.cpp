#include "damo/codegen/program.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

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

// True when symbol is the first dim and no other dim.
bool is_row(const std::vector<ParameterDim>& dims, const std::string& symbol) {
  if (dims.empty() || dims[0].symbol != symbol) return false;
  return std::none_of(dims.begin() + 1, dims.end(),
                      [&](const ParameterDim& d) { return d.symbol == symbol; });
}

std::int64_t normalized_axis(std::int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

// Calls visit once on node and on each node of its scalar body (FusedElementwise,
// FusedReduction). The operands of node itself are other kernels' slots, so they are skipped.
void for_each_kernel_node(const Node* node, const std::function<void(const Node*)>& visit) {
  std::vector<const Node*> stack = {node};
  if (node->attrs().body != nullptr) stack.push_back(node->attrs().body);
  std::unordered_set<const Node*> seen;
  while (!stack.empty()) {
    const Node* current = stack.back();
    stack.pop_back();
    if (!seen.insert(current).second) continue;
    visit(current);
    if (current != node)
      for (const Node* input : current->inputs()) stack.push_back(input);
  }
}

// True when a scalar body or the node itself reads the size of symbol through dim_size.
bool reads_symbol_size(const Node* node, const std::string& symbol) {
  bool reads = false;
  for_each_kernel_node(node, [&](const Node* current) {
    reads = reads || (current->op() == OpKind::DimSize && current->name() == symbol);
  });
  return reads;
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
    if (node.op() == OpKind::Softmax || node.op() == OpKind::LogSoftmax || node.op() == OpKind::CumSum ||
        node.op() == OpKind::ArgSort)
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

// A kernel whose output has no batch rows while an operand has them must sum over the
// rows, so that the partial results of blocks add up. A sum or mean over axis 0 does, and
// so does a product that contracts the rows (a^T b), each in floating point. Returns
// whether node does and sets mean when its partial results are means.
bool sums_over_rows(const Node& node, bool& mean) {
  if (!is_float(node.dtype())) return false;
  auto reduces_axis_zero = [&] {
    for (std::int64_t axis : node.attrs().ints)
      if (normalized_axis(axis, node.input(0)->rank()) == 0) return true;
    return false;
  };
  mean = node.op() == OpKind::Mean ||
         (node.op() == OpKind::FusedReduction && node.attrs().sub_op == OpKind::Mean);
  switch (node.op()) {
  case OpKind::Sum:
  case OpKind::Mean: return reduces_axis_zero();
  case OpKind::FusedReduction:
    return (node.attrs().sub_op == OpKind::Sum || node.attrs().sub_op == OpKind::Mean) && reduces_axis_zero();
  case OpKind::FusedMatMul:
    // a (rows, k) transposed times b (rows, m), with no bias and no activation.
    return node.input_count() == 2 && node.attrs().sub_op == OpKind::Param &&
           node.attrs().ints.size() == 2 && node.attr(0) == 1 && node.attr(1) == 0 &&
           node.input(0)->rank() == 2 && node.input(1)->rank() == 2;
  default: return false;
  }
}

// What a kernel computes relative to the batch rows, which decides when it runs in a call
// split into row blocks.
enum class RowPhase {
  Before,  // no rows, and reads no row value: runs once before the blocks
  Rows,    // row i of its output from row i of its operands: runs on each block
  Reduce,  // a sum over the rows: each block adds a partial result
  After,   // reads sums over rows: runs once after the blocks
};

// The phase of each kernel when the program can run in blocks of rows of symbol, else an
// empty vector.
std::vector<RowPhase> row_phases(const Program& program, const std::string& symbol,
                                 std::vector<RowReduction>& reductions) {
  const ExecutableSpec& spec = program.spec;
  reductions.clear();
  for (const BufferSlot& slot : spec.slots) {
    bool uses = mentions(slot.dims, symbol);
    if (uses && !is_row(slot.dims, symbol)) return {};
    if ((slot.kind == BufferSlot::Kind::Shared || slot.kind == BufferSlot::Kind::Constant) && uses)
      return {};
    if (slot.kind == BufferSlot::Kind::Alias &&
        uses != mentions(spec.slots[static_cast<std::size_t>(slot.index)].dims, symbol))
      return {};
  }
  auto root = [&](int slot) {
    while (spec.slots[static_cast<std::size_t>(slot)].kind == BufferSlot::Kind::Alias)
      slot = spec.slots[static_cast<std::size_t>(slot)].index;
    return slot;
  };
  // The phase of the kernel that writes each slot. Leaves count as Before.
  std::vector<RowPhase> slot_phase(spec.slots.size(), RowPhase::Before);
  for (std::size_t i = 0; i < spec.slots.size(); ++i)
    if (spec.slots[i].kind == BufferSlot::Kind::Argument && mentions(spec.slots[i].dims, symbol))
      slot_phase[i] = RowPhase::Rows;

  std::vector<RowPhase> phases;
  for (const Kernel& kernel : program.kernels) {
    bool output_is_row = mentions(spec.slots[static_cast<std::size_t>(kernel.output)].dims, symbol);
    std::vector<bool> operand_is_row;
    bool any_row = false, any_reduced = false;
    for (int input : kernel.inputs) {
      RowPhase phase = slot_phase[static_cast<std::size_t>(root(input))];
      operand_is_row.push_back(phase == RowPhase::Rows);
      any_row = any_row || phase == RowPhase::Rows;
      any_reduced = any_reduced || phase == RowPhase::Reduce || phase == RowPhase::After;
    }
    RowPhase phase;
    if (output_is_row) {
      // A row value that reads a sum over all rows (batch normalization, for example)
      // needs every block before any block.
      if (any_reduced) return {};
      if (!kernel.copy && any_row && !kernel_is_row_wise(*kernel.node, operand_is_row)) return {};
      phase = RowPhase::Rows;
    } else if (any_row) {
      bool mean = false;
      if (any_reduced || kernel.copy || !sums_over_rows(*kernel.node, mean)) return {};
      reductions.push_back({kernel.output, mean});
      phase = RowPhase::Reduce;
    } else {
      phase = any_reduced ? RowPhase::After : RowPhase::Before;
    }
    // Blocks bind the symbol to their own row count; only whole-call phases may read it.
    if ((phase == RowPhase::Rows || phase == RowPhase::Reduce) && !kernel.copy &&
        reads_symbol_size(kernel.node, symbol))
      return {};
    slot_phase[static_cast<std::size_t>(kernel.output)] = phase;
    phases.push_back(phase);
  }
  bool any_block = std::any_of(phases.begin(), phases.end(), [](RowPhase phase) {
    return phase == RowPhase::Rows || phase == RowPhase::Reduce;
  });
  if (!any_block) return {};
  return phases;
}

// Picks the first symbol whose rows the program can run in blocks, orders the kernels by
// phase (each phase keeps its order, so operands still come first) and records the block
// range in the spec.
void plan_row_blocks(Program& program) {
  ExecutableSpec& spec = program.spec;
  for (std::size_t s = 0; s < spec.symbols.size(); ++s) {
    // Blocks rebind the symbol's size, and a derived size such as n-1 would keep the
    // whole call's value.
    bool derived = std::any_of(spec.symbols.begin(), spec.symbols.end(), [&](const std::string& other) {
      std::optional<DerivedSymbol> d = parse_derived_symbol(other);
      return d && (d->base == spec.symbols[s] || other == spec.symbols[s]);
    });
    if (derived) continue;
    std::vector<RowReduction> reductions;
    std::vector<RowPhase> phases = row_phases(program, spec.symbols[s], reductions);
    if (phases.empty()) continue;
    std::vector<Kernel> ordered;
    for (RowPhase phase : {RowPhase::Before, RowPhase::Rows, RowPhase::After}) {
      if (phase == RowPhase::Rows) spec.row_kernels_begin = static_cast<int>(ordered.size());
      for (std::size_t k = 0; k < phases.size(); ++k) {
        bool in_block = phases[k] == RowPhase::Rows || phases[k] == RowPhase::Reduce;
        if (phase == RowPhase::Rows ? in_block : phases[k] == phase) ordered.push_back(program.kernels[k]);
      }
      if (phase == RowPhase::Rows) spec.row_kernels_end = static_cast<int>(ordered.size());
    }
    for (std::size_t k = 0; k < phases.size(); ++k) {
      const Kernel& kernel = program.kernels[k];
      OpKind op = kernel.node->op();
      bool product = !kernel.copy && (op == OpKind::MatMul || op == OpKind::FusedMatMul);
      if (!product || phases[k] == RowPhase::Before || phases[k] == RowPhase::After) continue;
      for (int input : kernel.inputs)
        if (!mentions(spec.slots[static_cast<std::size_t>(input)].dims, spec.symbols[s]) &&
            std::find(spec.row_block_weights.begin(), spec.row_block_weights.end(), input) ==
                spec.row_block_weights.end())
          spec.row_block_weights.push_back(input);
    }
    program.kernels = std::move(ordered);
    spec.row_block_symbol = static_cast<int>(s);
    spec.row_reductions = std::move(reductions);
    return;
  }
}

class Lowering {
 public:
  explicit Lowering(bool slices_in_place) : slices_in_place_(slices_in_place) {}

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
    add_derived_symbols();
    plan_row_blocks(program_);
    compute_live_ranges();
    add_iteration_shapes();
    return std::move(program_);
  }

 private:
  std::vector<std::string>& symbols() { return program_.spec.symbols; }

  // Appends each derived size such as n-1 (a slice) or n*3 (a reshape) that a buffer or a
  // kernel's dim_size reads. The runtime computes its size from its base symbol's.
  void add_derived_symbols() {
    auto add = [&](const std::string& symbol) {
      std::optional<DerivedSymbol> derived = parse_derived_symbol(symbol);
      if (!derived || std::find(symbols().begin(), symbols().end(), symbol) != symbols().end()) return;
      DAMO_ASSERT(std::find(symbols().begin(), symbols().end(), derived->base) != symbols().end(),
                  "the derived size " + symbol + " has a base that no input binds");
      symbols().push_back(symbol);
    };
    for (const BufferSlot& slot : program_.spec.slots)
      for (const ParameterDim& d : slot.dims) add(d.symbol);
    for (const Kernel& kernel : program_.kernels) {
      for_each_kernel_node(kernel.node, [&](const Node* current) {
        if (current->op() == OpKind::DimSize) add(current->name());
        for (const Dim& d : current->shape()) add(d.symbol());
      });
      // A slice read in place has no slot, but the kernel iterates over its shape.
      for (const Node* input : kernel.node->inputs())
        for (const Dim& d : input->shape()) add(d.symbol());
    }
  }

  // Records the broadcast of each kernel's operand shapes when it has a symbolic size and
  // is no operand's own shape: a fused kernel iterates over it without a buffer.
  void add_iteration_shapes() {
    std::vector<std::vector<ParameterDim>>& shapes = program_.spec.iteration_shapes;
    for (const Kernel& kernel : program_.kernels) {
      if (kernel.copy || kernel.node->inputs().size() < 2) continue;
      std::optional<Shape> domain = kernel.node->input(0)->shape();
      for (const Node* input : kernel.node->inputs())
        if (domain) domain = broadcast_shapes(*domain, input->shape());
      if (!domain || std::none_of(domain->begin(), domain->end(), [](const Dim& d) { return d.is_symbolic(); }))
        continue;
      bool an_operand = std::any_of(kernel.node->inputs().begin(), kernel.node->inputs().end(),
                                    [&](const Node* input) { return input->shape() == *domain; });
      std::vector<ParameterDim> dims = parameter_dims(*domain);
      if (!an_operand && std::find(shapes.begin(), shapes.end(), dims) == shapes.end())
        shapes.push_back(std::move(dims));
    }
  }

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
      if (std::find(symbols().begin(), symbols().end(), Dim::from_symbol(node->name()).base_symbol()) ==
          symbols().end())
        throw UserError(fmt::format("compile: dim_size({}) needs an input with the symbolic "
                                    "dimension '{}'; none of the inputs has it",
                                    node->name(), Dim::from_symbol(node->name()).base_symbol()));
      break;
    case OpKind::Constant: {
      program_.spec.constants.push_back(node->value());
      int index = static_cast<int>(program_.spec.constants.size()) - 1;
      slot_of_[node] = add_slot(BufferSlot::Kind::Constant, index, node);
      return;
    }
    case OpKind::Slice:
      // Gets a slot only when a consumer that cannot read it in place needs it (see
      // add_kernel).
      deferred_slices_.insert(node);
      return;
    default: break;
    }
    if (is_view(node->op())) {
      slot_of_[node] = add_slot(BufferSlot::Kind::Alias, root_of(slot_for(node->input(0))), node);
      return;
    }
    add_kernel(node);
  }

  void add_kernel(const Node* node) {
    Kernel kernel;
    kernel.node = node;
    bool elementwise = is_elementwise(node->op()) || node->op() == OpKind::FusedElementwise;
    // Reductions read slices of step 1 in place. A slice with another step keeps its copy,
    // because the reduction loops are tested on views of step 1 only.
    bool reduction = op_category(node->op()) == OpCategory::Reduction || node->op() == OpKind::FusedReduction;
    for (const Node* input : node->inputs()) {
      bool readable = elementwise || (reduction && input->op() == OpKind::Slice && input->attr(3) == 1);
      bool view = slices_in_place_ && readable && deferred_slices_.count(input) != 0 && slot_of_.count(input) == 0;
      kernel.inputs.push_back(slot_for(view ? input->input(0) : input));
      kernel.views.push_back(view ? input : nullptr);
    }
    if (std::none_of(kernel.views.begin(), kernel.views.end(), [](const Node* v) { return v != nullptr; }))
      kernel.views.clear();
    kernel.output = add_slot(BufferSlot::Kind::Temporary, 0, node);
    slot_of_[node] = kernel.output;
    program_.kernels.push_back(kernel);
  }

  // Returns the slot of node's value. A slice read only in place so far gets its kernel
  // here, after the kernels of the slices below it that have none yet. The walk down is a
  // loop, so a chain of 100,000 slices does not grow the stack.
  int slot_for(const Node* node) {
    auto it = slot_of_.find(node);
    if (it != slot_of_.end()) return it->second;
    std::vector<const Node*> chain;
    for (const Node* current = node; slot_of_.count(current) == 0; current = current->input(0)) {
      DAMO_ASSERT(deferred_slices_.count(current) != 0,
                  "node %" + std::to_string(current->id()) + " has no slot");
      chain.push_back(current);
    }
    for (auto slice = chain.rbegin(); slice != chain.rend(); ++slice) add_kernel(*slice);
    return slot_of_.at(node);
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
    int slot = slot_for(node);
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
    int slot = root_of(slot_for(value));
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
  std::unordered_set<const Node*> deferred_slices_;
  bool slices_in_place_ = true;
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
                         const std::vector<std::pair<Expr, Expr>>& updates, bool slices_in_place) {
  return Lowering(slices_in_place).run(inputs, outputs, updates);
}

namespace {

// Expressions with up to this many node occurrences print as infix in node_label(), with
// their middle cut past kLabelChars.
constexpr std::size_t kLabelNodes = 200;
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
    // The middle is dropped, because the end contains the outermost op's last operand, as in
    // "(...) @ W2".
    if (text.size() > kLabelChars) {
      std::size_t head = kLabelChars / 2;
      std::size_t tail = kLabelChars - head - 5;
      text = text.substr(0, head) + " ... " + text.substr(text.size() - tail);
    }
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
    // The guard checks each operand whole, which a slice read in place is not.
    DAMO_ASSERT(kernel.views.empty(), "the NaN guard needs a program lowered without slices read in place");
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
    std::vector<std::string> operands;
    for (std::size_t j = 0; j < kernel.inputs.size(); ++j) {
      const Node* view = kernel.views.empty() ? nullptr : kernel.views[j];
      operands.push_back(view == nullptr ? std::to_string(kernel.inputs[j])
                                         : fmt::format("{} sliced on axis {} {}:{}:{}", kernel.inputs[j],
                                                       view->attr(0), view->attr(1), view->attr(2),
                                                       view->attr(3)));
    }
    out += fmt::format("kernel {}: slot {} = {}({})\n", k, kernel.output,
                       kernel.copy ? "copy" : op_name(kernel.node->op()), fmt::join(operands, ", "));
  }
  if (spec.row_block_symbol >= 0) {
    std::vector<int> sums;
    for (const RowReduction& r : spec.row_reductions) sums.push_back(r.slot);
    out += fmt::format("row blocks over '{}': kernels {} to {}, sums over rows in slots [{}]\n",
                       spec.symbols[static_cast<std::size_t>(spec.row_block_symbol)],
                       spec.row_kernels_begin, spec.row_kernels_end - 1, fmt::join(sums, ", "));
  }
  return out;
}

}  // namespace damo
