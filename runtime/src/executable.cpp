#include "damo/runtime/executable.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "damo/runtime/stop.h"
#include "damo/runtime/thread_pool.h"
#include "allocation.h"

namespace damo {

namespace {

constexpr std::size_t kAlignment = 64;

// A row block's intermediates take about this many bytes, so that they stay in a core's
// second-level cache between the kernels that write and read them.
// TODO: size this from the machine's caches; 1 MiB blocks ran 2.3x slower at 2 threads here.
constexpr std::size_t kBlockBytes = std::size_t{512} << 10;
// Row blocks are a multiple of this many rows, and never fewer.
constexpr std::int64_t kMinBlockRows = 16;
// Partial sums over rows of all blocks of a call, kept apart, take at most this many
// float64 elements (32 MiB).
constexpr std::size_t kMaxBlockSumElements = std::size_t{1} << 22;
// A call with sums over rows splits its rows between threads when its row intermediates
// take at least this many bytes. Below that, a thread wake-up costs about as much as the
// work it would take over.
constexpr std::size_t kMinSplitBytes = std::size_t{64} << 10;

// The end of a kernel range that runs every kernel.
constexpr std::int64_t kAllKernels = std::numeric_limits<std::int64_t>::max();

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

Dims bound_dims(const std::vector<ParameterDim>& shape, const std::vector<std::string>& symbols,
                const std::vector<std::int64_t>& sizes) {
  Dims dims;
  dims.reserve(shape.size());
  for (const ParameterDim& d : shape) {
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

Dims slot_dims(const BufferSlot& slot, const std::vector<std::string>& symbols,
               const std::vector<std::int64_t>& sizes) {
  return bound_dims(slot.dims, symbols, sizes);
}

}  // namespace

// The row blocks of a call: `count` blocks of `rows` rows, the last one possibly shorter,
// each with the workspace layout of its own size, and the layout of the values outside the
// blocks.
struct Executable::BlockPlan {
  std::int64_t rows = 0;
  std::int64_t count = 0;
  std::shared_ptr<const Plan> full, last, main;
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

  ~Workspace() { detail::release_buffer(memory, bytes); }

  void reserve(std::size_t wanted) {
    if (wanted <= bytes) return;
    detail::release_buffer(memory, bytes);
    memory = nullptr;
    bytes = 0;
    void* fresh = detail::allocate_buffer(wanted);
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

  row_slot_.assign(spec_.slots.size(), false);
  sum_slot_.assign(spec_.slots.size(), false);
  if (spec_.row_block_symbol >= 0) {
    const std::string& name = spec_.symbols[static_cast<std::size_t>(spec_.row_block_symbol)];
    for (std::size_t i = 0; i < spec_.slots.size(); ++i)
      row_slot_[i] = !spec_.slots[i].dims.empty() && spec_.slots[i].dims[0].symbol == name;
    for (const RowReduction& reduction : spec_.row_reductions)
      sum_slot_[static_cast<std::size_t>(reduction.slot)] = true;
  }
}

Executable::~Executable() = default;

void set_row_block_rows(std::int64_t rows) {
  if (rows < 0)
    throw UserError(fmt::format("set_row_block_rows: {} rows is negative; pass 0 for the "
                                "automatic block size", rows));
  forced_block_rows.store(rows, std::memory_order_relaxed);
}

std::shared_ptr<const Executable::Plan> Executable::make_plan(
    const std::vector<std::int64_t>& sizes, Layout layout) const {
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
    bool placed_here = false;
    switch (layout) {
    case Layout::Whole: placed_here = slot.kind == BufferSlot::Kind::Temporary; break;
    case Layout::Main: placed_here = slot.kind == BufferSlot::Kind::Temporary && !row_slot_[i]; break;
    // A block writes its partial sums over rows in its own workspace, outputs included.
    case Layout::Block:
      placed_here = (slot.kind == BufferSlot::Kind::Temporary && row_slot_[i]) || sum_slot_[i];
      break;
    }
    if (!placed_here) continue;
    // A block's partial sums are read after its last kernel.
    int last_use = layout == Layout::Block && sum_slot_[i] ? std::max(slot.last_use, spec_.row_kernels_end)
                                                          : slot.last_use;
    std::size_t bytes = temporary_bytes(plan->dims[i], slot.dtype);
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (const Placed& p : placed)
      if (p.first <= last_use && slot.first_use <= p.last) busy.emplace_back(p.offset, p.bytes);
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (const auto& [start, length] : busy) {
      if (offset + bytes <= start) break;
      offset = std::max(offset, start + length);
    }
    if (offset > std::numeric_limits<std::size_t>::max() / 2 - bytes)
      throw RuntimeError(fmt::format("out of memory: the intermediates of this call need more "
                                     "bytes than the address space holds"));
    placed.push_back({offset, bytes, slot.first_use, last_use});
    plan->offsets[i] = offset;
    plan->workspace_bytes = std::max(plan->workspace_bytes, offset + bytes);
  }
  if (layout == Layout::Whole) plan->blocks = plan_blocks(*plan);
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
  // A fused kernel can iterate over more elements than any of its buffers holds, and with
  // a count beyond int64 its loop would not end.
  for (const std::vector<ParameterDim>& shape : spec_.iteration_shapes) {
    Dims dims = bound_dims(shape, spec_.symbols, sizes);
    try {
      dims_numel(dims);
    } catch (const UserError&) {
      throw UserError(fmt::format("the sizes bound in this call make a kernel iterate over "
                                  "shape {}, which has more elements than fit in int64; "
                                  "pass smaller inputs",
                                  dims_to_string(dims)));
    }
  }
  std::shared_ptr<const Plan> plan = make_plan(sizes, Layout::Whole);
  std::lock_guard lock(mutex_);
  last_plan_ = plan;
  return plan;
}

std::shared_ptr<const Executable::BlockPlan> Executable::plan_blocks(const Plan& full) const {
  if (spec_.row_block_symbol < 0 || !spec_.guarded_kernels.empty()) return nullptr;
  auto symbol = static_cast<std::size_t>(spec_.row_block_symbol);
  std::int64_t rows = full.sizes[symbol];
  if (rows <= 0) return nullptr;
  // Bytes of one row of each row slot, and of all row temporaries together.
  std::vector<std::size_t> slot_row_bytes(spec_.slots.size(), 0);
  std::size_t row_bytes = 0;
  for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
    if (!row_slot_[i]) continue;
    slot_row_bytes[i] = static_cast<std::size_t>(dims_numel(full.dims[i]) / rows) * dtype_size(spec_.slots[i].dtype);
    if (spec_.slots[i].kind == BufferSlot::Kind::Temporary) row_bytes += slot_row_bytes[i];
  }

  // Weights of the products in each block, which every block reads whole.
  std::size_t weight_bytes = 0;
  for (int slot : spec_.row_block_weights)
    weight_bytes += static_cast<std::size_t>(dims_numel(full.dims[static_cast<std::size_t>(slot)])) *
                    dtype_size(spec_.slots[static_cast<std::size_t>(slot)].dtype);
  bool weights_fit = weight_bytes <= kBlockBytes;

  std::int64_t block_rows = full.forced_block_rows;
  std::int64_t threads = num_threads();
  if (block_rows > 0) {
    if (rows <= block_rows) return nullptr;
  } else {
    // With weights beyond the cache budget, blocks sized for the cache would read the
    // weights from memory once per block, which costs more than the blocks save.
    std::int64_t cache_rows = 0;
    if (row_bytes > 0 && weights_fit) {
      cache_rows = static_cast<std::int64_t>(kBlockBytes / row_bytes);
      cache_rows = std::max<std::int64_t>(kMinBlockRows, cache_rows / kMinBlockRows * kMinBlockRows);
    }
    if (cache_rows > 0 && rows >= 2 * cache_rows * threads) {
      // At least two blocks per thread, or blocks would save little memory traffic.
      block_rows = cache_rows;
    } else if (!spec_.row_reductions.empty() && threads >= 2 && rows >= threads * kMinBlockRows &&
               row_bytes * static_cast<std::size_t>(rows) >= kMinSplitBytes) {
      // A training step, for example: one block per thread, whose partial gradients add
      // up once, in place of a thread wake-up for each kernel large enough to split. Blocks
      // still fit the cache budget: two threads may share one core's cache.
      block_rows = (rows + threads - 1) / threads;
      if (cache_rows > 0) block_rows = std::min(block_rows, cache_rows);
    } else {
      return nullptr;
    }
  }

  auto blocks = std::make_shared<BlockPlan>();
  blocks->rows = block_rows;
  blocks->count = (rows + block_rows - 1) / block_rows;
  std::vector<std::int64_t> sizes = full.sizes;
  blocks->main = make_plan(sizes, Layout::Main);
  sizes[symbol] = block_rows;
  blocks->full = make_plan(sizes, Layout::Block);
  std::int64_t last_rows = rows - (blocks->count - 1) * block_rows;
  sizes[symbol] = last_rows;
  blocks->last = last_rows == block_rows ? blocks->full : make_plan(sizes, Layout::Block);
  blocks->row_bytes = std::move(slot_row_bytes);
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
  Finiteness inputs = Finiteness::Finite;
  bool empty_operand = false;
  for (int input : kernel.inputs) {
    auto slot = static_cast<std::size_t>(input);
    std::int64_t count = dims_numel(plan.dims[slot]);
    empty_operand = empty_operand || count == 0;
    inputs = std::max(inputs, classify_finiteness(buffers[slot], spec_.slots[slot].dtype, count));
  }
  std::int64_t element = find_reported_element(data, dtype, dims_numel(dims), inputs);
  DAMO_ASSERT(element >= 0, "the NaN guard stopped at a kernel without a NaN or infinity to report");
  double value = dtype == DType::Float32 ? static_cast<const float*>(data)[element]
                                         : static_cast<const double*>(data)[element];
  return nan_guard_message(kernel.node, dims, element, value, inputs, empty_operand);
}

std::vector<std::int64_t> Executable::ordered_sizes(const SymbolSizes& bound) const {
  std::vector<std::int64_t> sizes;
  sizes.reserve(spec_.symbols.size() + 1);
  for (const std::string& symbol : spec_.symbols) {
    std::optional<std::int64_t> size = symbol_size(bound, symbol);
    DAMO_ASSERT(size.has_value(), "symbol '" + symbol + "' has no size");
    sizes.push_back(*size);
  }
  // The first row of the running row block, which random draws over the rows need.
  sizes.push_back(0);
  return sizes;
}

std::size_t Executable::workspace_bytes(const SymbolSizes& sizes) const {
  std::shared_ptr<const Plan> plan = plan_for(ordered_sizes(sizes));
  if (!plan->blocks) return plan->workspace_bytes;
  const BlockPlan& blocks = *plan->blocks;
  std::size_t per_thread = std::max(blocks.full->workspace_bytes, blocks.last->workspace_bytes);
  auto threads = static_cast<std::size_t>(std::min<std::int64_t>(num_threads(), blocks.count));
  return blocks.main->workspace_bytes + per_thread * threads;
}

std::int64_t Executable::block_rows(const SymbolSizes& sizes) const {
  std::shared_ptr<const Plan> plan = plan_for(ordered_sizes(sizes));
  return plan->blocks ? plan->blocks->rows : 0;
}

namespace {

// Adds weight * partial[i] to sum[i] for the count elements of a float32 or float64 slot.
void add_partial(double* sum, const void* partial, DType dtype, std::int64_t count, double weight) {
  if (dtype == DType::Float32) {
    const auto* values = static_cast<const float*>(partial);
    for (std::int64_t i = 0; i < count; ++i) sum[i] += weight * static_cast<double>(values[i]);
  } else {
    const auto* values = static_cast<const double*>(partial);
    for (std::int64_t i = 0; i < count; ++i) sum[i] += weight * values[i];
  }
}

void store_sum(void* target, const double* sum, DType dtype, std::int64_t count, double scale) {
  if (dtype == DType::Float32) {
    auto* values = static_cast<float*>(target);
    for (std::int64_t i = 0; i < count; ++i) values[i] = static_cast<float>(sum[i] * scale);
  } else {
    auto* values = static_cast<double*>(target);
    for (std::int64_t i = 0; i < count; ++i) values[i] = sum[i] * scale;
  }
}

}  // namespace

void Executable::run_blocks(const Plan& plan, const std::vector<void*>& buffers) const {
  const BlockPlan& blocks = *plan.blocks;
  auto symbol = static_cast<std::size_t>(spec_.row_block_symbol);
  std::int64_t rows = plan.sizes[symbol];
  auto threads = static_cast<std::size_t>(std::min<std::int64_t>(num_threads(), blocks.count));
  auto check = [](std::int64_t stopped) {
    DAMO_ASSERT(stopped == 0, "a kernel range stopped, but row blocks run without the NaN guard");
  };

  if (spec_.row_kernels_begin > 0)
    check(entry_(const_cast<void**>(buffers.data()), plan.sizes.data(), 0, spec_.row_kernels_begin));

  // One workspace per thread, taken and sized before any block runs, so that a failed
  // allocation throws here rather than inside the loop.
  std::size_t bytes = std::max(blocks.full->workspace_bytes, blocks.last->workspace_bytes);
  struct LeasedWorkspaces {
    const Executable& owner;
    std::vector<std::unique_ptr<Workspace>> list;
    // Returned last to first, so that the next call takes them back in the same order and
    // thread t gets the workspace it used before, still in its core's cache.
    ~LeasedWorkspaces() {
      for (auto it = list.rbegin(); it != list.rend(); ++it) owner.return_workspace(std::move(*it));
    }
  } workspaces{*this, {}};
  for (std::size_t t = 0; t < threads; ++t) {
    workspaces.list.push_back(take_workspace());
    workspaces.list.back()->reserve(bytes);
  }

  // Offsets of each sum over rows within one set of float64 partial sums.
  std::vector<std::size_t> sum_offsets;
  std::size_t sum_elements = 0;
  for (const RowReduction& reduction : spec_.row_reductions) {
    sum_offsets.push_back(sum_elements);
    sum_elements += static_cast<std::size_t>(dims_numel(plan.dims[static_cast<std::size_t>(reduction.slot)]));
  }
  // Threads take the next block from a shared counter, so a thread slowed by other work on
  // the machine runs fewer blocks. Each block then keeps its partial sums apart, and they
  // add up in block order, the same on every call. When that takes too much memory, thread
  // t runs a fixed range of blocks and adds their partial sums as it goes, which is the
  // same on every call with the same thread count.
  bool fixed_ranges = sum_elements * static_cast<std::size_t>(blocks.count) > kMaxBlockSumElements;
  std::size_t partial_sets = fixed_ranges ? threads : static_cast<std::size_t>(blocks.count);
  // With one set per block, the partial sums live in a buffer of the calling thread that is
  // kept between calls. Freed after each call, glibc handed that memory back to the system
  // and faulted it in again on the next: a C training epoch ran 38% slower. Larger sums are
  // allocated per call.
  thread_local std::vector<double> kept_sums;
  std::vector<double> call_sums;
  std::size_t sum_total = sum_elements * partial_sets;
  std::vector<double>& sum_storage = fixed_ranges ? call_sums : kept_sums;
  if (sum_storage.size() < sum_total) sum_storage.resize(sum_total);
  std::fill(sum_storage.begin(), sum_storage.begin() + static_cast<std::ptrdiff_t>(sum_total), 0.0);
  auto sums = [&](std::size_t set) { return sum_storage.data() + set * sum_elements; };
  std::atomic<std::int64_t> next{0};
  const std::atomic<bool>* stop = current_stop_flag();
  parallel_for(static_cast<std::int64_t>(threads), 1, [&](std::int64_t begin, std::int64_t end) {
    // The worker threads read the caller's stop flag too.
    StopScope stop_scope(stop);
    for (std::int64_t t = begin; t < end; ++t) {
      auto* base = static_cast<unsigned char*>(workspaces.list[static_cast<std::size_t>(t)]->memory);
      std::vector<void*> block_buffers(buffers.size(), nullptr);
      std::vector<std::int64_t> sizes = plan.sizes;
      auto thread_count = static_cast<std::int64_t>(threads);
      std::int64_t range_end = fixed_ranges ? blocks.count * (t + 1) / thread_count : blocks.count;
      std::int64_t b = fixed_ranges ? blocks.count * t / thread_count : next.fetch_add(1);
      while (b < range_end && !stop_requested()) {
        std::int64_t first = b * blocks.rows;
        sizes[symbol] = std::min(blocks.rows, rows - first);
        sizes[spec_.symbols.size()] = first;
        const Plan& block = b + 1 == blocks.count ? *blocks.last : *blocks.full;
        for (std::size_t i = 0; i < spec_.slots.size(); ++i) {
          const BufferSlot& slot = spec_.slots[i];
          if (sum_slot_[i] || (slot.kind == BufferSlot::Kind::Temporary && row_slot_[i]))
            block_buffers[i] = base + block.offsets[i];
          else if (slot.kind == BufferSlot::Kind::Alias)
            block_buffers[i] = block_buffers[static_cast<std::size_t>(slot.index)];
          else
            block_buffers[i] = static_cast<unsigned char*>(buffers[i]) +
                               static_cast<std::size_t>(first) * blocks.row_bytes[i];
        }
        check(entry_(block_buffers.data(), sizes.data(), spec_.row_kernels_begin, spec_.row_kernels_end));
        for (std::size_t r = 0; r < spec_.row_reductions.size(); ++r) {
          double* sum = sums(static_cast<std::size_t>(fixed_ranges ? t : b));
          auto slot = static_cast<std::size_t>(spec_.row_reductions[r].slot);
          double weight = spec_.row_reductions[r].mean ? static_cast<double>(sizes[symbol]) : 1.0;
          add_partial(sum + sum_offsets[r], block_buffers[slot], spec_.slots[slot].dtype,
                      dims_numel(plan.dims[slot]), weight);
        }
        b = fixed_ranges ? b + 1 : next.fetch_add(1);
      }
    }
  });

  if (stop_requested()) return;
  for (std::size_t r = 0; r < spec_.row_reductions.size(); ++r) {
    auto slot = static_cast<std::size_t>(spec_.row_reductions[r].slot);
    std::int64_t count = dims_numel(plan.dims[slot]);
    double* total = sums(0) + sum_offsets[r];
    for (std::size_t set = 1; set < partial_sets; ++set)
      for (std::int64_t i = 0; i < count; ++i) total[i] += sums(set)[sum_offsets[r] + static_cast<std::size_t>(i)];
    double scale = spec_.row_reductions[r].mean ? 1.0 / static_cast<double>(rows) : 1.0;
    store_sum(buffers[slot], total, spec_.slots[slot].dtype, count, scale);
  }

  check(entry_(const_cast<void**>(buffers.data()), plan.sizes.data(), spec_.row_kernels_end, kAllKernels));
}

namespace {

// True when the bytes of tensor overlap those of any of the arguments.
bool overlaps_any(const Tensor& tensor, const std::vector<Tensor>& arguments) {
  auto begin = reinterpret_cast<std::uintptr_t>(tensor.raw_data());
  std::uintptr_t end = begin + tensor.nbytes();
  for (const Tensor& argument : arguments) {
    if (!argument.defined() || argument.nbytes() == 0) continue;
    auto other = reinterpret_cast<std::uintptr_t>(argument.raw_data());
    if (other < end && begin < other + argument.nbytes()) return true;
  }
  return false;
}

// Takes lock, reading the stop flag every millisecond while another call holds it. Returns
// false, without the lock, once the flag is set.
template <class Lock>
bool lock_unless_stopped(Lock& lock, const std::atomic<bool>* stop) {
  if (stop == nullptr) {
    lock.lock();
    return true;
  }
  while (!lock.try_lock()) {
    if (stop->load(std::memory_order_relaxed)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

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
    // A borrowed output passed back as an argument (x = f(x)) gets a new buffer, because the
    // kernels assume that outputs and arguments do not overlap.
    if (borrow && borrowed_[i].defined() && borrowed_[i].shape() == dims &&
        !overlaps_any(borrowed_[i], arguments)) {
      outputs[i] = borrowed_[i];
      continue;
    }
    outputs[i] = Tensor::empty(spec_.slots[slot].dtype, dims);
    if (borrow) borrowed_[i] = outputs[i];
  }

  // A call in row blocks keeps only the values outside the blocks in this workspace.
  const Plan& layout = plan->blocks ? *plan->blocks->main : *plan;
  std::unique_ptr<Workspace> workspace = take_workspace();
  workspace->reserve(layout.workspace_bytes);

  // Shared variables: written ones exclusively, read ones shared, in address order so that
  // two functions locking overlapping variables never wait on each other in a cycle.
  // A call with a stop flag waits for another call's lock in steps, so that it can stop
  // while it waits.
  std::vector<std::shared_lock<std::shared_mutex>> read_locks;
  std::vector<std::unique_lock<std::shared_mutex>> write_locks;
  const std::atomic<bool>* stop = current_stop_flag();
  bool stopped_waiting = false;
  for (const auto& [variable, written] : lock_order_) {
    if (written) {
      write_locks.emplace_back(variable->lock(), std::defer_lock);
      stopped_waiting = !lock_unless_stopped(write_locks.back(), stop);
    } else {
      read_locks.emplace_back(variable->lock(), std::defer_lock);
      stopped_waiting = !lock_unless_stopped(read_locks.back(), stop);
    }
    if (stopped_waiting) break;
  }
  if (stopped_waiting) {
    write_locks.clear();
    read_locks.clear();
    return_workspace(std::move(workspace));
    throw CallStopped(call_stopped_message());
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
    case BufferSlot::Kind::Shared: buffers[i] = spec_.shared[slot.index]->data(); break;
    case BufferSlot::Kind::Constant:
      buffers[i] = const_cast<void*>(spec_.constants[slot.index].raw_data());
      break;
    case BufferSlot::Kind::Temporary:
      buffers[i] = plan->blocks && row_slot_[i] ? nullptr : base + layout.offsets[i];
      break;
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
    stopped = entry_(buffers.data(), sizes.data(), 0, kAllKernels);
  }
  // A stopped call skipped kernels, so its outputs and update values are incomplete. The NaN
  // guard may also have stopped on such a value, so the stop is reported first.
  if (stop_requested()) {
    write_locks.clear();
    read_locks.clear();
    return_workspace(std::move(workspace));
    throw CallStopped(call_stopped_message());
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
    SharedVariable& target = *spec_.shared[shared_index];
    std::size_t bytes = target.value().nbytes();
    if (bytes > 0 && buffers[slot] != target.data()) std::memcpy(target.data(), buffers[slot], bytes);
  }
  write_locks.clear();
  read_locks.clear();
  return_workspace(std::move(workspace));
  return outputs;
}

}  // namespace damo
