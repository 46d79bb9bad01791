#include "damo/runtime/log.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "damo/runtime/error.h"

namespace damo {

namespace {

int read_level_from_environment() {
  const char* text = std::getenv("DAMO_LOG");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0) {
    std::fprintf(stderr, "damo: ignoring DAMO_LOG='%s': expected a level from 0 to 3\n", text);
    return 0;
  }
  if (value > 3) {
    std::fprintf(stderr, "damo: DAMO_LOG='%s' is above the highest level, 3; using 3\n", text);
    return 3;
  }
  return static_cast<int>(value);
}

std::atomic<int>& level_storage() {
  static std::atomic<int> level{read_level_from_environment()};
  return level;
}

}  // namespace

int log_level() { return level_storage().load(std::memory_order_relaxed); }

void set_log_level(int level) {
  if (level < 0 || level > 3)
    throw UserError(fmt::format("set_log_level: {} is not a level from 0 to 3", level));
  level_storage().store(level, std::memory_order_relaxed);
}

void write_log_line(std::string_view message) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::string line = "damo: ";
  line.append(message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace damo
