// Stopping a running call part way.
//
// A caller that may want to stop a long call (the REPL on Ctrl-C, a program on a deadline)
// gives the call a flag. While the call runs, the flag is the stop flag of the calling
// thread. Compiled code reads it before each kernel and between slices of a kernel's loop,
// and the reference evaluator reads it before each node. Once the flag is set, the rest of
// the work is skipped and the call throws CallStopped without changing shared variables.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

namespace damo {

/// While alive, makes flag the stop flag of the calling thread (nullptr: none), and restores
/// the previous one when it ends. Setting the flag is async-signal-safe, so a signal handler
/// may set it.
class StopScope {
 public:
  explicit StopScope(const std::atomic<bool>* flag);
  ~StopScope();
  StopScope(const StopScope&) = delete;
  StopScope& operator=(const StopScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

/// The calling thread's stop flag, or nullptr.
const std::atomic<bool>* current_stop_flag();

/// True when the calling thread has a stop flag and it is set.
bool stop_requested();

/// Throws CallStopped when stop_requested().
void throw_if_stopped();

/// The message of CallStopped.
const char* call_stopped_message();

namespace detail {

/// Sorts items by less, a strict order under which no two items are equivalent, so that
/// the result is the one order of std::sort. With a stop flag on the calling thread, a
/// long range sorts in pieces of 65,536 items that then merge. The flag is read after each
/// piece and every 65,536 merged items. Once it is set, the function returns false and
/// leaves items in an unspecified order.
template <class T, class Less>
bool sort_until_stopped(std::vector<T>& items, Less less) {
  constexpr std::size_t kPiece = std::size_t{1} << 16;
  const std::atomic<bool>* stop = current_stop_flag();
  std::size_t n = items.size();
  if (stop == nullptr || n <= kPiece) {
    std::sort(items.begin(), items.end(), less);
    return true;
  }
  auto stopped = [stop] { return stop->load(std::memory_order_relaxed); };
  for (std::size_t start = 0; start < n; start += kPiece) {
    if (stopped()) return false;
    std::sort(items.begin() + static_cast<std::ptrdiff_t>(start),
              items.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + kPiece)), less);
  }
  std::vector<T> merged(n);
  for (std::size_t width = kPiece; width < n; width *= 2) {
    for (std::size_t low = 0; low < n; low += 2 * width) {
      std::size_t mid = std::min(n, low + width);
      std::size_t high = std::min(n, low + 2 * width);
      std::size_t a = low, b = mid, out = low;
      while (a < mid || b < high) {
        if (stopped()) return false;
        std::size_t end = std::min(high, out + kPiece);
        for (; out < end; ++out)
          merged[out] = (b == high || (a < mid && !less(items[b], items[a]))) ? items[a++] : items[b++];
      }
    }
    items.swap(merged);
  }
  return true;
}

}  // namespace detail

}  // namespace damo
