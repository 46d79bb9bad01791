// Leveled logging to stderr. The level comes from the DAMO_LOG environment variable or
// set_log_level(): 0 is silent, 1 prints one line per stage with its time, 2 adds graph
// dumps, 3 adds every rewrite rule that fired. A disabled call costs one integer compare.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace damo {

/// Current level; read from DAMO_LOG on first use, 0 when unset or invalid.
int log_level();
/// Sets the level, 0 to 3; throws UserError for any other value.
void set_log_level(int level);

/// Writes "damo: message" to stderr as one line, safe to call from several threads.
void write_log_line(std::string_view message);

template <class... Args>
void log_at(int level, fmt::format_string<Args...> format, Args&&... args) {
  if (log_level() < level) return;
  write_log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace damo
