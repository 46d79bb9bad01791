// Stopping a running call part way.
//
// A caller that may want to stop a long call (the REPL on Ctrl-C, a program on a deadline)
// gives the call a flag. While the call runs, the flag is the stop flag of the calling
// thread. Compiled code reads it before each kernel and between slices of a kernel's loop,
// and the reference evaluator reads it before each node. Once the flag is set, the rest of
// the work is skipped and the call throws CallStopped without changing shared variables.
#pragma once

#include <atomic>

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

}  // namespace damo
