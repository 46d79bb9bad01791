#include "allocation.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace damo::detail {

namespace {

// Sanitizer builds (DAMO_SANITIZED) free released buffers at once, so that a use after
// release is reported.
#if defined(DAMO_SANITIZED)
constexpr bool kReuse = false;
#else
constexpr bool kReuse = true;
#endif

struct KeptBuffer {
  void* memory;
  std::size_t padded;
};

// The released large buffers, oldest first.
class ReusePool {
 public:
  void* take(std::size_t padded) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = buffers_.size(); i-- > 0;) {
      if (buffers_[i].padded != padded) continue;
      void* memory = buffers_[i].memory;
      buffers_.erase(buffers_.begin() + static_cast<std::ptrdiff_t>(i));
      bytes_ -= padded;
      return memory;
    }
    return nullptr;
  }

  // Keeps memory, dropping the oldest buffers while the total is above the limit. A buffer
  // larger than the limit is freed at once.
  void keep(void* memory, std::size_t padded) {
    std::vector<void*> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (padded > kReuseBytes) {
        dropped.push_back(memory);
      } else {
        buffers_.push_back({memory, padded});
        bytes_ += padded;
        while (bytes_ > kReuseBytes) {
          dropped.push_back(buffers_.front().memory);
          bytes_ -= buffers_.front().padded;
          buffers_.erase(buffers_.begin());
        }
      }
    }
    for (void* old : dropped) std::free(old);
  }

  std::size_t drop_all() {
    std::vector<KeptBuffer> released;
    std::size_t bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released.swap(buffers_);
      bytes = bytes_;
      bytes_ = 0;
    }
    for (const KeptBuffer& buffer : released) std::free(buffer.memory);
    return bytes;
  }

 private:
  std::mutex mutex_;
  std::vector<KeptBuffer> buffers_;
  std::size_t bytes_ = 0;
};

// Never destroyed: a tensor that outlives static destruction can still release its buffer.
ReusePool& pool() {
  static auto* instance = new ReusePool;
  return *instance;
}

std::size_t alignment_for(std::size_t bytes) {
  return bytes >= kHugeBufferBytes ? kHugePageBytes : kBufferAlignment;
}

std::size_t padded_size(std::size_t bytes) {
  std::size_t alignment = alignment_for(bytes);
  std::size_t padded = (bytes + alignment - 1) / alignment * alignment;
  return padded == 0 ? alignment : padded;
}

}  // namespace

void* allocate_buffer(std::size_t bytes) {
  std::size_t alignment = alignment_for(bytes);
  std::size_t padded = padded_size(bytes);
  if (kReuse && alignment == kHugePageBytes) {
    if (void* reused = pool().take(padded)) return reused;
  }
  void* memory = std::aligned_alloc(alignment, padded);
  // The advice is only a hint. Without THP support it fails, and the buffer works as before.
  if (memory != nullptr && alignment == kHugePageBytes) ::madvise(memory, padded, MADV_HUGEPAGE);
  return memory;
}

void release_buffer(void* memory, std::size_t bytes) {
  if (memory == nullptr) return;
  if (kReuse && alignment_for(bytes) == kHugePageBytes) {
    pool().keep(memory, padded_size(bytes));
    return;
  }
  std::free(memory);
}

std::size_t drop_reusable_buffers() { return pool().drop_all(); }

}  // namespace damo::detail
