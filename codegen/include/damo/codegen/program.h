// Program: an optimized graph lowered to a list of kernels over numbered buffer slots,
// the form the LLVM emitter and the runtime Executable share. No LLVM types appear here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "damo/graph/expr.h"
#include "damo/runtime/executable.h"

namespace damo {

/// One loop nest of the compiled function: computes node into the output slot.
struct Kernel {
  const Node* node = nullptr;
  int output = -1;
  /// Slot of each input of node, in order; for a copy, the single source slot.
  std::vector<int> inputs;
  /// Copies inputs[0] into output instead of computing node.
  bool copy = false;
  /// Slices read in place, one entry per input or none. Entry j is the Slice node that an
  /// elementwise kernel reads as operand j, from the slot of the slice's operand. It is
  /// nullptr for an operand read whole.
  std::vector<const Node*> views;
};

struct Program {
  ExecutableSpec spec;
  std::vector<Kernel> kernels;
  /// The node whose value each slot holds (for a copy's output, the copied node).
  std::vector<const Node*> slot_nodes;

  /// Index of symbol in spec.symbols.
  int symbol_index(const std::string& symbol) const;
  /// Text listing slots and kernels, for logs and tests.
  std::string to_string() const;
};

/// Names node in messages: its infix text when the expression below it has at most 200
/// node occurrences, with its middle cut to keep 80 characters, else the op applied to its
/// operands' dump ids, "log(%12)".
std::string node_label(const Node& node);

/// Turns the NaN guard on: lists every kernel that computes a floating-point node (copies
/// excluded) in program.spec.guarded_kernels, so that the entry point checks its output.
/// The program must come from lower_to_program with slices_in_place false.
void enable_nan_guard(Program& program);

/// Lowers outputs and shared-variable updates (variable, value) to a Program whose
/// arguments are inputs, in order. Reshapes, expand_dims, squeeze and stop_gradient reuse
/// their operand's memory. With slices_in_place, elementwise kernels read a slice in place,
/// and so do reductions a slice of step 1, so a slice gets its own kernel only when
/// another consumer needs it. Every other op gets a kernel.
Program lower_to_program(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                         const std::vector<std::pair<Expr, Expr>>& updates, bool slices_in_place = true);

}  // namespace damo
