// The three kinds of failure Damo reports, each a distinct exception type.
//
// UserError: the caller's input is wrong (a shape mismatch, a parse error, a bad CSV cell,
// a wrong argument at call time). It may carry a source location. ArgumentError, a kind of
// UserError, names the call argument at fault.
// InternalError: an invariant of Damo itself is broken; it names the condition and the
// code location, and is a bug to report.
// RuntimeError: running compiled code failed for a reason outside the caller's input, such
// as an allocation failure or a NaN found by the NaN guard.
#pragma once

#include <cstddef>
#include <source_location>
#include <stdexcept>
#include <string>

namespace damo {

/// Position in a text the user wrote: 1-based line and column, plus the line's text.
struct SourceLocation {
  std::string source_name;  // file name, "<repl>" or "<string>"
  int line = 0;
  int column = 0;
  std::string line_text;

  bool valid() const { return line > 0; }
};

/// Base of every exception Damo throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class UserError : public Error {
 public:
  /// A value quoted in the message ('...') longer than 80 characters is cut to its first 40
  /// and its length. A message still over 2,000 characters keeps its start and end.
  explicit UserError(const std::string& message);
  UserError(const std::string& message, SourceLocation location);

  /// The message without the location prefix and caret lines that what() adds.
  const std::string& message() const { return message_; }
  const SourceLocation& location() const { return location_; }

 private:
  std::string message_;
  SourceLocation location_;
};

/// A call argument that does not fit its parameter: its dtype, rank, a size, or a class
/// label. argument() is the argument's position, counted from 0.
class ArgumentError : public UserError {
 public:
  ArgumentError(const std::string& message, std::size_t argument)
      : UserError(message), argument_(argument) {}
  std::size_t argument() const { return argument_; }

 private:
  std::size_t argument_;
};

class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(message) {}
};

class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& message) : Error(message) {}
};

/// A call stopped part way because its stop flag was set (see damo/runtime/stop.h). Its
/// outputs were discarded and it changed no shared variable.
class CallStopped : public RuntimeError {
 public:
  explicit CallStopped(const std::string& message) : RuntimeError(message) {}
};

/// Throws InternalError naming the failed condition and where it was checked.
[[noreturn]] void fail_internal(const char* condition, const std::string& message,
                                std::source_location where = std::source_location::current());

}  // namespace damo

/// Checks an internal invariant; a failure is a Damo bug, reported as InternalError.
#define DAMO_ASSERT(condition, message)                                                      \
  do {                                                                                       \
    if (!(condition)) ::damo::fail_internal(#condition, (message));                          \
  } while (false)
