// compile(): turns expressions into a callable Function: inputs in, outputs out, shared
// variables updated in place, in one call.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "damo/graph/expr.h"
#include "damo/runtime/tensor.h"

namespace damo {

/// What executes a compiled function.
enum class Backend {
  Jit,        // LLVM-compiled native code (the default)
  Reference,  // the reference evaluator, op by op; for testing and debugging
};

struct CompileOptions {
  Backend backend = Backend::Jit;
  /// LLVM optimization level, 0 to 3.
  int opt_level = 2;
  /// Enables rewrites that are not exact for every input (x * 0 -> 0, x - x -> 0, x / x -> 1).
  bool fast_math = false;
  /// Optimizer passes to skip, by name; DAMO_DISABLE_PASSES (comma-separated) adds more.
  std::vector<std::string> disabled_passes;
  /// Checks the value of every float node after it is computed. The first node whose value
  /// contains a NaN or an infinity while its operands are finite stops the call with a
  /// RuntimeError naming the node's expression, op, dtype and shape. A stopped call applies
  /// no update. Non-finite arguments, constants and shared values propagate unreported. It
  /// turns off elementwise and matmul fusion, so that each op is checked on its own.
  /// docs/reliability.md shows the message.
  bool nan_guard = false;
  /// Keeps the LLVM IR and assembly so that llvm_ir() and assembly() can return them; this
  /// bypasses the compile cache.
  bool keep_text = false;
  /// Reuses compiled code from the in-memory and on-disk caches.
  bool use_cache = true;
  /// On-disk cache folder; empty means $DAMO_CACHE_DIR, else $XDG_CACHE_HOME/damo, else
  /// ~/.cache/damo.
  std::string cache_dir;
};

/// A new value for a shared variable, computed from the values before the call.
struct Update {
  Expr variable;
  Expr value;
};

/// Time spent in each compile stage, in milliseconds.
struct CompileStats {
  double rewrite_ms = 0;
  double lowering_ms = 0;
  double llvm_optimize_ms = 0;
  double machine_code_ms = 0;
  double total_ms = 0;
  /// True when the code came from a cache and LLVM did not run.
  bool cache_hit = false;
};

/// Options of one call.
struct CallOptions {
  /// Returns outputs that live inside the function instead of fresh tensors, saving an
  /// allocation per output and call. The next borrowing call of the same function
  /// overwrites them, and borrowing calls run one at a time.
  bool borrow_outputs = false;
  /// When not null, the call reads *stop while it waits for another call's shared
  /// variables, before each kernel (or each node on the reference backend) and between
  /// slices of long loops, matrix products and sorts. Once it is true, the call skips the rest of
  /// its work and throws CallStopped; its outputs are discarded and no shared variable
  /// changes. Another thread or a signal handler sets it. A slice (about 65,536 elements of
  /// work, or 64 rows of a product) runs to its end first.
  const std::atomic<bool>* stop = nullptr;
};

class Function {
 public:
  Function();
  ~Function();
  Function(const Function&);
  Function& operator=(const Function&);
  Function(Function&&) noexcept;
  Function& operator=(Function&&) noexcept;

  /// Runs the function with one tensor per input, in the order given to compile().
  /// Throws UserError naming the parameter when a count, dtype or shape is wrong.
  /// Outputs are fresh tensors. Safe to call from several threads at once.
  std::vector<Tensor> operator()(const std::vector<Tensor>& arguments) const;
  std::vector<Tensor> call(const std::vector<Tensor>& arguments, const CallOptions& options) const;

  const std::vector<Expr>& inputs() const;
  const std::vector<Expr>& outputs() const;
  const CompileStats& stats() const;
  /// The graph after the optimizer, as an indented dump.
  std::string optimized_graph() const;
  /// LLVM IR before or after LLVM's optimization; empty for the reference backend.
  std::string llvm_ir(bool optimized = true) const;
  /// Machine code as assembly text; empty for the reference backend.
  std::string assembly() const;

  class Impl;
  explicit Function(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

/// Compiles outputs as functions of inputs (Input nodes). Updates assign new values to
/// shared variables after each call. Throws UserError when an output needs an input that
/// is not listed, when an update target is not a shared variable or is updated twice, or
/// when an update's dtype or shape differs from its variable's.
Function compile(const std::vector<Expr>& inputs, const std::vector<Expr>& outputs,
                 const std::vector<Update>& updates = {}, const CompileOptions& options = {});

}  // namespace damo
