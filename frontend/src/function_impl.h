// The state behind damo::Function, shared by its backends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/runtime/signature.h"

namespace damo {

/// Runs one compiled function: reads arguments, writes outputs, applies updates.
class Executor {
 public:
  virtual ~Executor() = default;
  /// Returns the outputs; arguments have been checked against the signature. With borrow,
  /// the outputs may live inside the executor until its next borrowing call.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& arguments, const SymbolSizes& sizes,
                                  bool borrow) const = 0;
  virtual std::string llvm_ir(bool optimized) const { return {}; }
  virtual std::string assembly() const { return {}; }
};

/// A node that a sparse cross-entropy reads as class labels, with the size of the class axis.
struct LabelRead {
  const Node* labels = nullptr;
  Dim classes;
};

/// Finds every label read of the sparse cross-entropies (and their gradients) below roots.
std::vector<LabelRead> sparse_label_reads(const std::vector<Expr>& roots);

/// An argument that a sparse cross-entropy reads as class labels: each call checks that its
/// values lie in [0, classes).
struct LabelCheck {
  std::size_t argument = 0;
  /// The static class count, or the symbol whose size at call time is the class count.
  std::int64_t classes = 0;
  std::string class_symbol;
};

class Function::Impl {
 public:
  std::vector<Expr> inputs;
  std::vector<Expr> outputs;
  std::vector<Update> updates;
  std::vector<ParameterSpec> parameters;
  std::vector<LabelCheck> label_checks;
  CompileStats stats;
  std::string optimized_graph;
  std::unique_ptr<Executor> executor;
  /// Expires with the Graph of the inputs and outputs. The reference executor and the
  /// Expr accessors read its nodes; native code does not.
  std::weak_ptr<const void> graph_lifetime;
  bool has_graph = false;
  bool reads_graph_when_called = false;
};

/// The executor that runs the graph through the reference evaluator. With nan_guard, it
/// raises RuntimeError at the first node that turns finite operands into NaN or infinity.
std::unique_ptr<Executor> make_reference_executor(const std::vector<Expr>& inputs,
                                                  const std::vector<Expr>& outputs,
                                                  const std::vector<Update>& updates,
                                                  bool nan_guard);

/// The executor that runs LLVM-compiled native code; fills the lowering and LLVM times.
std::unique_ptr<Executor> make_jit_executor(const std::vector<Expr>& inputs,
                                            const std::vector<Expr>& outputs,
                                            const std::vector<Update>& updates,
                                            const CompileOptions& options, CompileStats& stats);

}  // namespace damo
