// The JIT backend: lowers the graph to a Program, compiles it with LLVM and runs the
// native entry point through a runtime Executable.
#include <chrono>

#include "damo/codegen/jit.h"
#include "damo/codegen/program.h"
#include "damo/runtime/executable.h"
#include "function_impl.h"

namespace damo {

namespace {

class JitExecutor final : public Executor {
 public:
  JitExecutor(Program program, CompiledCode code)
      : ir_before_(std::move(code.ir_before)), ir_after_(std::move(code.ir_after)),
        assembly_(std::move(code.assembly)),
        executable_(std::move(program.spec), code.entry, std::move(code.owner)) {}

  std::vector<Tensor> run(const std::vector<Tensor>& arguments, const SymbolSizes& sizes,
                          bool borrow) const override {
    return executable_.run(arguments, sizes, borrow);
  }
  std::string llvm_ir(bool optimized) const override { return optimized ? ir_after_ : ir_before_; }
  std::string assembly() const override { return assembly_; }

 private:
  std::string ir_before_;
  std::string ir_after_;
  std::string assembly_;
  Executable executable_;
};

}  // namespace

std::unique_ptr<Executor> make_jit_executor(const std::vector<Expr>& inputs,
                                            const std::vector<Expr>& outputs,
                                            const std::vector<Update>& updates,
                                            const CompileOptions& options, CompileStats& stats) {
  std::vector<std::pair<Expr, Expr>> pairs;
  for (const Update& u : updates) pairs.emplace_back(u.variable, u.value);
  auto lowering_start = std::chrono::steady_clock::now();
  // The NaN guard checks whole operands, so under it every slice gets its own buffer.
  Program program = lower_to_program(inputs, outputs, pairs, /*slices_in_place=*/!options.nan_guard);
  double lower_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - lowering_start).count();
  if (options.nan_guard) enable_nan_guard(program);
  JitOptions jit_options;
  jit_options.opt_level = options.opt_level;
  jit_options.keep_text = options.keep_text;
  jit_options.use_cache = options.use_cache;
  jit_options.cache_dir = options.cache_dir;
  CompiledCode code = jit_compile(program, jit_options);
  // Lowering covers the Program and its LLVM IR; the LLVM stages run on several threads,
  // and each reports its slowest module.
  stats.lowering_ms = lower_ms + code.stats.emit_ms;
  stats.llvm_optimize_ms = code.stats.llvm_optimize_ms;
  stats.machine_code_ms = code.stats.machine_code_ms + code.stats.link_ms;
  stats.cache_hit = code.stats.cache_hit;
  return std::make_unique<JitExecutor>(std::move(program), std::move(code));
}

}  // namespace damo
