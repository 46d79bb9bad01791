// The stop flag of each thread, and the CallStopped message.
#include "damo/runtime/stop.h"

#include "damo/runtime/error.h"

namespace damo {

namespace {

thread_local const std::atomic<bool>* stop_flag = nullptr;

}  // namespace

StopScope::StopScope(const std::atomic<bool>* flag) : previous_(stop_flag) { stop_flag = flag; }

StopScope::~StopScope() { stop_flag = previous_; }

const std::atomic<bool>* current_stop_flag() { return stop_flag; }

bool stop_requested() {
  return stop_flag != nullptr && stop_flag->load(std::memory_order_relaxed);
}

const char* call_stopped_message() {
  return "the call was stopped before it finished, because its stop flag was set; its outputs "
         "were discarded and no shared variable changed";
}

void throw_if_stopped() {
  if (stop_requested()) throw CallStopped(call_stopped_message());
}

}  // namespace damo
