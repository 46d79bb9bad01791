// Internal interface of the LLVM IR emitter: one kernel function per Program kernel plus
// an entry function that launches them in order.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "damo/codegen/program.h"

namespace damo::emit {

/// State shared by every function emitted into one module.
struct ModuleState {
  ModuleState(llvm::Module& module, const Program& program, int vector_bytes);

  llvm::LLVMContext& context;
  llvm::Module& module;
  const Program& program;
  /// Width of the widest vector registers of the target, in bytes (64 with AVX-512).
  int vector_bytes;
  /// One alias scope per slot, so that LLVM treats distinct buffers as disjoint. An
  /// aliased slot shares the scope of the slot whose memory it uses.
  std::vector<llvm::MDNode*> scopes;
  int next_function = 0;

  std::string fresh_name(const std::string& stem) { return stem + "_" + std::to_string(next_function++); }
};

/// Register and memory types: bool is i1 in registers and i8 in memory.
llvm::Type* value_type(llvm::LLVMContext& context, DType dtype);
llvm::Type* memory_type(llvm::LLVMContext& context, DType dtype);

/// Builds one function and offers the helpers every kernel needs.
class FunctionBuilder {
 public:
  /// A kernel: void name(ptr context, i64 begin, i64 end), where context points to
  /// {ptr buffers, ptr sizes}.
  FunctionBuilder(ModuleState& state, const std::string& name);

  ModuleState& state;
  llvm::LLVMContext& context;
  llvm::IRBuilder<> b;
  llvm::Function* function = nullptr;
  llvm::Value* context_arg = nullptr;
  llvm::Value* begin = nullptr;
  llvm::Value* end = nullptr;

  llvm::Type* i64() { return b.getInt64Ty(); }
  llvm::Value* constant(std::int64_t v) { return b.getInt64(static_cast<std::uint64_t>(v)); }
  /// Size of one dimension: a constant, or the symbol's size loaded from the sizes array.
  llvm::Value* dim(const Dim& d);
  /// The first row of the row block that runs, 0 outside row blocks.
  llvm::Value* block_first_row();
  /// Product of dimensions, folded to a constant when all are static.
  llvm::Value* product(const std::vector<Dim>& dims);
  /// Base address of a slot's buffer.
  llvm::Value* slot_pointer(int slot);
  llvm::Value* load(int slot, llvm::Value* index);
  void store(int slot, llvm::Value* index, llvm::Value* value);
  /// Pointer to element index of slot.
  llvm::Value* element_pointer(int slot, llvm::Value* index);
  /// Marks a load or store of slot with the slot's alias scope, which tells LLVM that it
  /// touches no other buffer. finish() attaches the metadata: each access then lists the
  /// other buffers of this function as ones it does not alias, which keeps the metadata
  /// linear in the program's size instead of one list of every buffer per buffer.
  void tag_access(llvm::Instruction* access, int slot);

  /// Emits for (i = low; i < high; ++i) body(i). With an interleave count above 1, the
  /// vectorizer emits that many vector bodies per iteration, so a reduction keeps as many
  /// independent accumulators. Other loops get one body. Without unroll, a loop of a few
  /// static iterations is not unrolled before the vectorizer, which can then widen it.
  /// Without vectorize, the vectorizer leaves the loop alone (for loops of a few
  /// iterations, where a vector body only costs compile time). With fold_tail, the vector
  /// loop runs the last, partial vector with masked loads instead of leaving the remainder
  /// to a scalar loop.
  void loop(llvm::Value* low, llvm::Value* high, const std::function<void(llvm::Value*)>& body,
            int interleave = 1, bool unroll = true, bool vectorize = true, bool fold_tail = false);
  /// Emits if (condition) then().
  void if_then(llvm::Value* condition, const std::function<void()>& then);

  /// Returns from the function and runs LLVM's verifier on it.
  void finish();

 private:
  llvm::Value* buffers_ = nullptr;
  llvm::Value* sizes_ = nullptr;
  std::unordered_map<int, llvm::Value*> slot_pointers_;
  std::unordered_map<std::string, llvm::Value*> symbol_sizes_;
  std::vector<std::pair<llvm::Instruction*, llvm::MDNode*>> accesses_;  // with their scope
};

/// How the entry function launches a kernel: total iterations split across threads, and
/// the elements of work in one iteration (which sets the chunk size).
struct Launch {
  llvm::Function* function = nullptr;
  std::vector<Dim> total;
  std::vector<Dim> work;
};

/// Scalar code of one elementwise op: args hold the operand values (already in the
/// operand dtype), node gives the op, its attributes and dtypes.
llvm::Value* emit_scalar_op(FunctionBuilder& f, const Node& node, const std::vector<llvm::Value*>& args);

/// Applies the unary op kind to a register value (the activation of a fused matmul).
llvm::Value* emit_unary(FunctionBuilder& f, OpKind op, llvm::Value* x);

/// Converts a register value between dtypes with Damo's cast semantics.
llvm::Value* emit_cast(FunctionBuilder& f, llvm::Value* value, DType from, DType to);

/// Emits the scalar body of a fused op, with Param i bound to params[i].
llvm::Value* emit_body(FunctionBuilder& f, const Node* body, const std::vector<llvm::Value*>& params);

/// The axis of an iteration space that a slice read in place cuts, and whether its step is
/// not 1, which leaves gaps between neighbouring elements of that axis.
struct ViewCut {
  int axis;
  bool strided;
};

/// Whether axis must start a new group of merged axes after the group that ends at
/// previous: a cut axis starts one, and a strided cut also ends its own.
bool breaks_group(const std::vector<ViewCut>& cuts, int previous, int axis);

/// The stride of each axis of a slice read in place, in elements of its operand, and the
/// offset of its first element there.
struct ViewLayout {
  std::vector<llvm::Value*> strides;
  llvm::Value* base;
};

ViewLayout view_layout(FunctionBuilder& f, const Node& view);

// Kernel families; each returns how to launch the kernel it emitted.
Launch emit_elementwise(ModuleState& state, const Kernel& kernel);
Launch emit_copy(ModuleState& state, const Kernel& kernel);
Launch emit_layout(ModuleState& state, const Kernel& kernel);
Launch emit_reduction(ModuleState& state, const Kernel& kernel);
Launch emit_matmul(ModuleState& state, const Kernel& kernel);
/// Register-blocked kernels for products with small static sizes; nullopt when the shapes
/// do not suit them (the caller then uses OpenBLAS or generic loops).
std::optional<Launch> emit_small_matmul(ModuleState& state, const Kernel& kernel);
Launch emit_neural_net(ModuleState& state, const Kernel& kernel);
/// logsumexp over one axis that is not the last, in tiles of lanes as softmax over such an
/// axis; nullopt for other reductions.
std::optional<Launch> emit_logsumexp_tiles(ModuleState& state, const Kernel& kernel);

/// A kernel emitted into some module, named by kernel_symbol(kernel).
struct KernelLaunch {
  std::size_t kernel = 0;
  std::vector<Dim> total;
  std::vector<Dim> work;
};

/// External symbol of the function of kernel index.
std::string kernel_symbol(std::size_t index);

/// Emits the kernels with the given indices into module.
std::vector<KernelLaunch> emit_kernels(llvm::Module& module, const Program& program,
                                       const std::vector<std::size_t>& indices, int vector_bytes);

/// Emits `i64 damo_entry(ptr buffers, ptr sizes)`, which launches every kernel in program
/// order and returns 0; kernels in other modules are declared and resolved when the modules
/// are linked. After each of program.spec.guarded_kernels it checks the output and returns
/// g + 1 when guarded kernel g produced a NaN or an infinity from finite operands.
void emit_entry(llvm::Module& module, const Program& program, const std::vector<KernelLaunch>& launches);

}  // namespace damo::emit
