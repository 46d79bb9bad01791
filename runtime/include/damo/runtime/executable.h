// Executable: calls the native entry point of a compiled function. It binds the arguments,
// allocates outputs and the workspace for intermediates, passes every buffer to the entry
// point and applies the shared-variable updates after it returns. With the NaN guard on, it
// turns the entry point's early stop into a RuntimeError that names the node.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "damo/runtime/nan_guard.h"
#include "damo/runtime/shared_variable.h"
#include "damo/runtime/signature.h"

namespace damo {

/// The native entry point: buffers holds one pointer per slot, sizes one size per symbol
/// followed by the first row of the row block that runs (0 outside row blocks).
/// Runs the kernels at positions [first_kernel, end_kernel) in order. Returns 0 after
/// running them, or g + 1 when it stopped because the output of
/// ExecutableSpec::guarded_kernels[g] holds a NaN or an infinity.
using EntryFunction = std::int64_t (*)(void** buffers, const std::int64_t* sizes,
                                       std::int64_t first_kernel, std::int64_t end_kernel);

/// One buffer the entry point reads or writes.
struct BufferSlot {
  enum class Kind {
    Argument,   // index: the argument
    Output,     // index: the output; a fresh tensor each call
    Shared,     // index: the shared variable, read in place
    Constant,   // index: the constant
    Temporary,  // lives in the workspace from kernel first_use to last_use
    Alias,      // index: the slot whose memory this slot reuses (a reshape, for example)
  };
  Kind kind = Kind::Temporary;
  int index = 0;
  DType dtype = DType::Float32;
  std::vector<ParameterDim> dims;
  int first_use = 0;
  int last_use = 0;
};

/// A kernel that the NaN guard checks after it runs.
struct GuardedKernel {
  /// Position of the kernel in the entry point's launch order.
  int kernel = 0;
  int output = 0;
  /// Slots of the kernel's operands; a non-finite operand exempts the output.
  std::vector<int> inputs;
  GuardedNode node;
};

/// A kernel output that sums over the batch rows. In a call run in row blocks, each block
/// writes its partial result there and the runtime adds the partial results.
struct RowReduction {
  int slot = 0;
  /// The partial results are means over their block's rows, weighted by the rows.
  bool mean = false;
};

struct ExecutableSpec {
  std::vector<ParameterSpec> parameters;
  /// Symbol names in the order of the sizes array.
  std::vector<std::string> symbols;
  std::vector<BufferSlot> slots;
  /// Slot of each output, in output order.
  std::vector<int> output_slots;
  /// After the entry point returns, slot `second` is copied into shared variable `first`.
  /// No update reads a slot that another update writes.
  std::vector<std::pair<int, int>> update_copies;
  std::vector<Tensor> constants;
  std::vector<std::shared_ptr<SharedVariable>> shared;
  /// Kernels the entry point checks for NaN and infinities; empty when the guard is off.
  std::vector<GuardedKernel> guarded_kernels;
  /// Row blocks. row_block_symbol is the index in symbols of the batch symbol when the call
  /// can run on blocks of its rows, else -1. Then every slot that uses the symbol has it as
  /// its first dim only, and the kernels fall in three ranges. Kernels [0,
  /// row_kernels_begin) read no rows and run once first. Kernels [row_kernels_begin,
  /// row_kernels_end) run on each block: they compute row i from row i of their operands,
  /// or sum over the rows (row_reductions). The rest read only those sums and run once
  /// last. Large calls run in blocks
  /// whose intermediates stay in cache, and calls with sums over rows also split their
  /// rows between threads. A call without row intermediates or sums runs whole.
  int row_block_symbol = -1;
  int row_kernels_begin = 0;
  int row_kernels_end = 0;
  std::vector<RowReduction> row_reductions;
  /// Slots of the operands without rows (weights) of the matrix products that run on each
  /// block. Every block reads them whole, so when they exceed the cache budget, blocks sized
  /// for the cache would read them from memory once per block.
  std::vector<int> row_block_weights;
  /// Shapes that kernels iterate over without a buffer of that shape: the broadcast of a
  /// fused kernel's operands. A call checks that their element counts fit int64, as it does
  /// for every buffer.
  std::vector<std::vector<ParameterDim>> iteration_shapes;
};

/// Sets the rows per block of row-separable calls (see ExecutableSpec::row_block_symbol)
/// in place of the size chosen from the cache budget. Any such call with more rows then
/// runs in blocks, which lets tests run small calls in blocks. 0 restores the automatic
/// size.
void set_row_block_rows(std::int64_t rows);

class Executable {
 public:
  /// code_owner keeps the native code alive as long as the executable.
  Executable(ExecutableSpec spec, EntryFunction entry, std::shared_ptr<void> code_owner);
  ~Executable();

  /// Runs one call; sizes come from bind_arguments(). Safe from several threads at once:
  /// calls that update shared variables hold them exclusively, others share them. With
  /// borrow, the outputs are tensors the executable keeps and overwrites on its next
  /// borrowing call; borrowing calls run one at a time. Throws RuntimeError when the
  /// workspace cannot be allocated or the NaN guard stops the call; a stopped call applies
  /// no update.
  std::vector<Tensor> run(const std::vector<Tensor>& arguments, const SymbolSizes& sizes,
                          bool borrow = false) const;

  const ExecutableSpec& spec() const { return spec_; }

  /// Bytes of workspace that a call with these symbol sizes uses for its temporaries;
  /// temporaries whose live ranges do not overlap share memory. A call that runs in row
  /// blocks counts one block's workspace per thread.
  std::size_t workspace_bytes(const SymbolSizes& sizes) const;

  /// Rows per block when a call with these sizes runs in row blocks, else 0.
  std::int64_t block_rows(const SymbolSizes& sizes) const;

 private:
  struct Workspace;
  struct Plan;
  struct BlockPlan;

  /// The temporaries a plan places: all of them for a call run whole (with its row blocks
  /// decided), those outside the blocks, or those of one block.
  enum class Layout { Whole, Main, Block };
  /// The workspace layout for sizes, in spec order.
  std::shared_ptr<const Plan> make_plan(const std::vector<std::int64_t>& sizes, Layout layout) const;
  /// make_plan() with a cache of the last sizes.
  std::shared_ptr<const Plan> plan_for(const std::vector<std::int64_t>& sizes) const;
  /// The row blocks of a call with the full plan, or null when it runs whole.
  std::shared_ptr<const BlockPlan> plan_blocks(const Plan& full) const;
  /// Runs the kernels before the row blocks, each block, the sums over rows and the
  /// kernels after the blocks. buffers contains the whole call's slots.
  void run_blocks(const Plan& plan, const std::vector<void*>& buffers) const;
  /// The size of each symbol of the spec, in spec order.
  std::vector<std::int64_t> ordered_sizes(const SymbolSizes& bound) const;
  std::unique_ptr<Workspace> take_workspace() const;
  void return_workspace(std::unique_ptr<Workspace> workspace) const;
  /// The NaN guard's message for guarded_kernels[guarded], read from the call's buffers.
  std::string nan_guard_stop(std::size_t guarded, const std::vector<void*>& buffers,
                             const Plan& plan) const;

  ExecutableSpec spec_;
  EntryFunction entry_;
  std::shared_ptr<void> code_owner_;
  /// Each shared variable and whether the call writes it, sorted by address.
  std::vector<std::pair<SharedVariable*, bool>> lock_order_;
  /// Per slot: whether its first dim is the row-block symbol, and whether it is a sum over
  /// rows.
  std::vector<bool> row_slot_, sum_slot_;

  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Plan> last_plan_;
  mutable std::vector<std::unique_ptr<Workspace>> free_workspaces_;
  mutable std::mutex borrow_mutex_;
  mutable std::vector<Tensor> borrowed_;
};

}  // namespace damo
