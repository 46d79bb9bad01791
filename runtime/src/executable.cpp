#include "damo/runtime/executable.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "damo/runtime/thread_pool.h"

namespace damo {

namespace {

constexpr std::size_t kAlignment = 64;

// A row block's intermediates take about this many bytes, so that they stay in a core's
// second-level cache between the kernels that write and read them.
constexpr std::size_t kBlockBytes = std::size_t{512} << 10;
// Row blocks are a multiple of this many rows, and never fewer.
constexpr std::int64_t kMinBlockRows = 16;

// Rows per block set by set_row_block_rows(); 0 for the automatic size.
std::atomic<std::int64_t> forced_block_rows{0};

std::size_t align_up(std::size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// Bytes of a temporary, aligned. Sizes bound at call time can ask for more than the address
// space holds; that is reported like a failed allocation.
std::size_t temporary_bytes(const Dims& dims, DType dtype) {
  std::int64_t count = dims_numel(dims);
  std::size_t element = dtype_size(dtype);
  if (static_cast<std::uint64_t>(count) > std::numeric_limits<std::size_t>::max() / 4 / element)
    throw RuntimeError(fmt::format("out of memory: a {} intermediate of shape {} needs more "
                                   "bytes than the address space holds",
                                   dtype_name(dtype), dims_to_string(dims)));
  return align_up(static_cast<std::size_t>(count) * element);
}

Dims slot_dims(const BufferSlot& slot, const std::vector<std::string>& symbols,
               const std::vector<std::int64_t>& sizes) {
  Dims dims;
  dims.reserve(slot.dims.size());
  for (const ParameterDim& d : slot.dims) {
    if (d.symbol.empty()) {
      dims.push_back(d.size);
      continue;
    }
    auto it = std::find(symbols.begin(), symbols.end(), d.symbol);
    DAMO_ASSERT(it != symbols.end(), "a buffer uses a symbol that no argument binds");
    dims.push_back(sizes[static_cast<std::size_t>(it - symbols.begin())]);
  }
  return dims;
}

}  // namespace

// The row blocks of a row-separable call: `count` blocks of `rows` rows, the last one
// possibly shorter, each with the workspace layout of its own size.
struct Executable::BlockPlan {
  std::int64_t rows = 0;
  std::int64_t count = 0;
  std::shared_ptr<const Plan> full, last;
  std::vector<std::size_t> row_bytes;  // per slot: bytes of one row; 0 for other slots
};

// Byte offsets of the temporaries within the workspace, for one binding of the symbols.
struct Executable::Plan {
  std::vector<std::int64_t> sizes;
  std::vector<Dims> dims;             // per slot
  std::vector<std::size_t> offsets;   // per slot; meaningful for temporaries
  std::size_t workspace_bytes = 0;
  /// The set_row_block_rows() value the plan was made with.
  std::int64_t forced_block_rows = 0;
  /// Set when the call runs in row blocks.
  std::shared_ptr<const BlockPlan> blocks;
};

struct Executable::Workspace {
  void* memory = nullptr;
  std::size_t bytes = 0;

  ~Workspace() { std::free(memory); }

  void reserve(std::size_t wanted) {
    if (wanted <= bytes) return;
    std::free(memory);
    memory = nullptr;
    bytes = 0;
    void* fresh = std::aligned_alloc(kAlignment, align_up(wanted));
    if (fresh == nullptr)
      throw RuntimeError(fmt::format("out of memory: cannot allocate a workspace of {} bytes",
                                     wanted));
    memory = fresh;
    bytes = wanted;
  }
};

Executable::Executable(ExecutableSpec spec, EntryFunction entry, std::shared_ptr<void> code_owner)
    : spec_(std::move(spec)), entry_(entry), code_owner_(std::move(code_owner)) {
  std::vector<bool> written(spec_.shared.size(), false);
  for (const auto& [shared_index, slot] : spec_.update_copies) written[shared_index] = true;
  for (std::size_t i = 0; i < spec_.shared.size(); ++i)
    lock_order_.emplace_back(spec_.shared[i].get(), written[i]);
  std::sort(lock_order_.begin(), lock_order_.end());
}

Executable::~Executable() = default;

void set_row_block_rows(std::int64_t rows) {
  if (rows < 0)
    throw UserError(fmt::format("set_row_block_rows: {} rows is negative; pass 0 for the "
                                "automatic block size", rows));
  forced_block_rows.store(rows, std::memory_order_relaxed);
}

std::shared_ptr<const Executable::Plan> Executable::make_plan(
    const std::vector<std::int64_t>& sizes, bool whole_call) const {
  auto plan = std::make_shared<Plan>();
  plan->sizes = sizes;
  plan->forced_block_rows = forced_block_rows.load(std::memory_order_relaxed);
  plan->dims.resize(spec_.slots.size());
  plan->offsets.assign(spec_.slots.size(), 0);

  // First fit: each temporary takes the lowest offset that does not overlap a temporary
  // whose live range intersects its own.
  struct Placed {
    std::size_t offset, bytes;
    int first, last;
  };
  std::vector<Placed> placed;
  for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
    const BufferSlot& slot = spec_.slots[i];
    plan->dims[i] = slot_dims(slot, spec_.symbols, sizes);
    if (slot.kind != BufferSlot::Kind::Temporary) continue;
    std::size_t bytes = temporary_bytes(plan->dims[i], slot.dtype);
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed)
      if (p.first <= slot.last_use && slot.first_use <= p.last) busy.emplace_back(p.offset, p.bytes);
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (const auto& [start, length] : busy) {
      if (offset + bytes <= start) break;
      offset = std::max(offset, start + length);
    }
    if (offset > std::numeric_limits<std::size_t>::max() / 2 - bytes)
      throw RuntimeError(fmt::format("out of memory: the intermediates of this call need more "
                                     "bytes than the address space holds"));
    placed.push_back({offset, bytes, slot.first_use, slot.last_use});
    plan->offsets[i] = offset;
    plan->workspace_bytes = std::max(plan->workspace_bytes, offset + bytes);
  }
  if (whole_call) plan->blocks = plan_blocks(*plan);
  return plan;
}

std::shared_ptr<const Executable::Plan> Executable::plan_for(
    const std::vector<std::int64_t>& sizes) const {
  {
    std::lock_guard lock(mutex_);
    if (last_plan_ && last_plan_->sizes == sizes &&
        last_plan_->forced_block_rows == forced_block_rows.load(std::memory_order_relaxed))
      return last_plan_;
  }
  std::shared_ptr<const Plan> plan = make_plan(sizes, true);
  std::lock_guard lock(mutex_);
  last_plan_ = plan;
  return plan;
}

std::shared_ptr<const Executable::BlockPlan> Executable::plan_blocks(const Plan& full) const {
  if (spec_.row_block_symbol < 0 || !spec_.guarded_kernels.empty()) return nullptr;
  auto symbol = static_cast<std::size_t>(spec_.row_block_symbol);
  std::int64_t rows = full.sizes[symbol];
  if (rows <= 0) return nullptr;
  // Bytes of row temporaries per row; row slots have the symbol as their first dim only.
  const std::string& name = spec_.symbols[symbol];
  std::size_t row_bytes = 0;
  for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
    const BufferSlot& slot = spec_.slots[i];
    if (slot.kind == BufferSlot::Kind::Temporary && !slot.dims.empty() && slot.dims[0].symbol == name)
      row_bytes += static_cast<std::size_t>(dims_numel(full.dims[i]) / rows) * dtype_size(slot.dtype);
  }
  std::int64_t block_rows = full.forced_block_rows;
  if (block_rows > 0) {
    if (rows <= block_rows) return nullptr;
  } else {
    // Nothing would stay in cache: every row value is an argument or an output.
    if (row_bytes == 0) return nullptr;
    block_rows = static_cast<std::int64_t>(kBlockBytes / row_bytes);
    block_rows = std::max<std::int64_t>(kMinBlockRows, block_rows / kMinBlockRows * kMinBlockRows);
    // With fewer than two blocks per thread, blocks would save little memory traffic.
    if (rows < 2 * block_rows * num_threads()) return nullptr;
  }

  auto blocks = std::make_shared<BlockPlan>();
  blocks->rows = block_rows;
  blocks->count = (rows + block_rows - 1) / block_rows;
  std::vector<std::int64_t> sizes = full.sizes;
  sizes[symbol] = block_rows;
  blocks->full = make_plan(sizes, false);
  std::int64_t last_rows = rows - (blocks->count - 1) * block_rows;
  sizes[symbol] = last_rows;
  blocks->last = last_rows == block_rows ? blocks->full : make_plan(sizes, false);
  blocks->row_bytes.assign(spec_.slots.size(), 0);
  for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
    const BufferSlot& slot = spec_.slots[i];
    if (!slot.dims.empty() && slot.dims[0].symbol == name)
      blocks->row_bytes[i] = static_cast<std::size_t>(dims_numel(full.dims[i]) / rows) * dtype_size(slot.dtype);
  }
  return blocks;
}

std::unique_ptr<Executable::Workspace> Executable::take_workspace() const {
  std::lock_guard lock(mutex_);
  if (free_workspaces_.empty()) return std::make_unique<Workspace>();
  auto workspace = std::move(free_workspaces_.back());
  free_workspaces_.pop_back();
  return workspace;
}

void Executable::return_workspace(std::unique_ptr<Workspace> workspace) const {
  std::lock_guard lock(mutex_);
  free_workspaces_.push_back(std::move(workspace));
}

std::string Executable::nan_guard_stop(std::size_t guarded, const std::vector<void*>& buffers,
                                       const Plan& plan) const {
  DAMO_ASSERT(guarded < spec_.guarded_kernels.size(), "the entry point stopped at no guarded kernel");
  const GuardedKernel& kernel = spec_.guarded_kernels[guarded];
  const Dims& dims = plan.dims[static_cast<std::size_t>(kernel.output)];
  const void* data = buffers[static_cast<std::size_t>(kernel.output)];
  DType dtype = spec_.slots[static_cast<std::size_t>(kernel.output)].dtype;
  std::int64_t element = find_nonfinite(data, dtype, dims_numel(dims));
  DAMO_ASSERT(element >= 0, "the NaN guard stopped at a kernel whose output is finite");
  double value = dtype == DType::Float32 ? static_cast<const float*>(data)[element]
                                         : static_cast<const double*>(data)[element];
  return nan_guard_message(kernel.node, dims, element, value);
}

std::vector<std::int64_t> Executable::ordered_sizes(const SymbolSizes& bound) const {
  std::vector<std::int64_t> sizes;
  sizes.reserve(spec_.symbols.size());
  for (const std::string& symbol : spec_.symbols) {
    auto it = bound.find(symbol);
    DAMO_ASSERT(it != bound.end(), "symbol '" + symbol + "' has no size");
    sizes.push_back(it->second);
  }
  return sizes;
}

std::size_t Executable::workspace_bytes(const SymbolSizes& sizes) const {
  std::shared_ptr<const Plan> plan = plan_for(ordered_sizes(sizes));
  if (!plan->blocks) return plan->workspace_bytes;
  std::size_t per_thread = std::max(plan->blocks->full->workspace_bytes, plan->blocks->last->workspace_bytes);
  auto threads = static_cast<std::size_t>(std::min<std::int64_t>(num_threads(), plan->blocks->count));
  return per_thread * threads;
}

std::int64_t Executable::block_rows(const SymbolSizes& sizes) const {
  std::shared_ptr<const Plan> plan = plan_for(ordered_sizes(sizes));
  return plan->blocks ? plan->blocks->rows : 0;
}

void Executable::run_blocks(const Plan& plan, const std::vector<void*>& buffers) const {
  const BlockPlan& blocks = *plan.blocks;
  auto symbol = static_cast<std::size_t>(spec_.row_block_symbol);
  std::int64_t rows = plan.sizes[symbol];
  auto threads = static_cast<std::size_t>(std::min<std::int64_t>(num_threads(), blocks.count));

  // One workspace per thread, taken and sized before any block runs, so that a failed
  // allocation throws here rather than inside the loop.
  std::size_t bytes = std::max(blocks.full->workspace_bytes, blocks.last->workspace_bytes);
  struct LeasedWorkspaces {
    const Executable& owner;
    std::vector<std::unique_ptr<Workspace>> list;
    ~LeasedWorkspaces() {
      for (auto& workspace : list) owner.return_workspace(std::move(workspace));
    }
  } workspaces{*this, {}};
  for (std::size_t t = 0; t < threads; ++t) {
    workspaces.list.push_back(take_workspace());
    workspaces.list.back()->reserve(bytes);
  }

  // Threads take the next block from a shared counter, so a thread slowed by other work on
  // the machine runs fewer blocks.
  std::atomic<std::int64_t> next{0};
  parallel_for(static_cast<std::int64_t>(threads), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
      auto* base = static_cast<unsigned char*>(workspaces.list[static_cast<std::size_t>(t)]->memory);
      std::vector<void*> block_buffers(buffers.size(), nullptr);
      std::vector<std::int64_t> sizes = plan.sizes;
      for (std::int64_t b = next.fetch_add(1); b < blocks.count; b = next.fetch_add(1)) {
        std::int64_t first = b * blocks.rows;
        sizes[symbol] = std::min(blocks.rows, rows - first);
        const Plan& block = b + 1 == blocks.count ? *blocks.last : *blocks.full;
        for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
          const BufferSlot& slot = spec_.slots[i];
          if (slot.kind == BufferSlot::Kind::Temporary)
            block_buffers[i] = base + block.offsets[i];
          else if (slot.kind == BufferSlot::Kind::Alias)
            block_buffers[i] = block_buffers[static_cast<std::size_t>(slot.index)];
          else
            block_buffers[i] = static_cast<unsigned char*>(buffers[i]) +
                               static_cast<std::size_t>(first) * blocks.row_bytes[i];
        }
        std::int64_t stopped = entry_(block_buffers.data(), sizes.data());
        DAMO_ASSERT(stopped == 0, "a row block stopped, but row blocks run without the NaN guard");
      }
    }
  });
}

std::vector<Tensor> Executable::run(const std::vector<Tensor>& arguments, const SymbolSizes& bound,
                                    bool borrow) const {
  std::vector<std::int64_t> sizes = ordered_sizes(bound);
  std::shared_ptr<const Plan> plan = plan_for(sizes);

  std::unique_lock<std::mutex> borrow_lock(borrow_mutex_, std::defer_lock);
  if (borrow) borrow_lock.lock();
  std::vector<Tensor> outputs(spec_.output_slots.size());
  if (borrow) borrowed_.resize(outputs.size());
  for (std::size_t i = 0; i < spec_.output_slots.size(); ++i) {
    int slot = spec_.output_slots[i];
    const Dims& dims = plan->dims[slot];
    if (borrow && borrowed_[i].defined() && borrowed_[i].shape() == dims) {
      outputs[i] = borrowed_[i];
      continue;
    }
    outputs[i] = Tensor::empty(spec_.slots[slot].dtype, dims);
    if (borrow) borrowed_[i] = outputs[i];
  }

  // A call in row blocks needs no workspace of the whole call's size.
  std::unique_ptr<Workspace> workspace = take_workspace();
  if (!plan->blocks) workspace->reserve(plan->workspace_bytes);

  // Shared variables: written ones exclusively, read ones shared, in address order so that
  // two functions locking overlapping variables never wait on each other in a cycle.
  std::vector<std::shared_lock<std::shared_mutex>> read_locks;
  std::vector<std::unique_lock<std::shared_mutex>> write_locks;
  for (const auto& [variable, written] : lock_order_) {
    if (written) write_locks.emplace_back(variable->lock());
    else read_locks.emplace_back(variable->lock());
  }

  std::vector<void*> buffers(spec_.slots.size(), nullptr);
  auto* base = static_cast<unsigned char*>(workspace->memory);
  for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
    const BufferSlot& slot = spec_.slots[i];
    switch (slot.kind) {
    case BufferSlot::Kind::Argument:
      buffers[i] = const_cast<void*>(arguments[slot.index].raw_data());
      break;
    case BufferSlot::Kind::Output: buffers[i] = outputs[slot.index].raw_data(); break;
    case BufferSlot::Kind::Shared: buffers[i] = spec_.shared[slot.index]->storage().raw_data(); break;
    case BufferSlot::Kind::Constant:
      buffers[i] = const_cast<void*>(spec_.constants[slot.index].raw_data());
      break;
    case BufferSlot::Kind::Temporary: buffers[i] = base + plan->offsets[i]; break;
    case BufferSlot::Kind::Alias: buffers[i] = buffers[slot.index]; break;
    }
  }

  std::int64_t stopped = 0;
  if (plan->blocks) {
    try {
      run_blocks(*plan, buffers);
    } catch (...) {
      write_locks.clear();
      read_locks.clear();
      return_workspace(std::move(workspace));
      throw;
    }
  } else {
    stopped = entry_(buffers.data(), sizes.data());
  }
  if (stopped != 0) {
    // The guard's message reads the offending buffer, so it is built before the workspace
    // goes back to the pool.
    std::string message = nan_guard_stop(static_cast<std::size_t>(stopped - 1), buffers, *plan);
    write_locks.clear();
    read_locks.clear();
    return_workspace(std::move(workspace));
    throw RuntimeError(message);
  }

  for (const auto& [shared_index, slot] : spec_.update_copies) {
    Tensor& target = spec_.shared[shared_index]->storage();
    if (target.nbytes() > 0 && buffers[slot] != target.raw_data())
      std::memcpy(target.raw_data(), buffers[slot], target.nbytes());
  }
  write_locks.clear();
  read_locks.clear();
  return_workspace(std::move(workspace));
  return outputs;
}

}  // namespace damo
