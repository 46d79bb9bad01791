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

/// Lowers outputs and shared-variable updates (variable, value) to a Program whose
/// arguments are inputs, in order. Reshapes, expand_dims, squeeze and stop_gradient reuse
/// their operand's memory; every other op gets a kernel.
Program lower_to_program(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                         const std::vector<std::pair<Expr, Expr>>& updates);

}  // namespace damo
