#include "damo/runtime/error.h"

#include <fmt/format.h>

#include <algorithm>

namespace damo {

namespace {

// Formats "name:line:col: message", the source line and a caret under the column.
std::string format_located(const std::string& message, const SourceLocation& loc) {
  if (!loc.valid()) return message;
  std::string text = fmt::format("{}:{}:{}: {}", loc.source_name, loc.line, loc.column, message);
  if (!loc.line_text.empty()) {
    std::string shown = loc.line_text;
    int caret_column = loc.column > 0 ? loc.column - 1 : 0;
    // A very long line shows only a window around the caret, marked with "...".
    constexpr int kWindow = 160;
    if (static_cast<int>(shown.size()) > kWindow + 40) {
      std::size_t start = static_cast<std::size_t>(std::max(0, caret_column - kWindow / 2));
      std::size_t stop = std::min(shown.size(), start + kWindow);
      // Whole UTF-8 sequences only: the window does not start or end inside one.
      auto continuation = [&](std::size_t i) { return i < shown.size() && (static_cast<unsigned char>(shown[i]) & 0xC0) == 0x80; };
      while (continuation(start)) ++start;
      while (stop > start && continuation(stop)) --stop;
      std::string before = start > 0 ? "..." : "";
      std::string after = stop < shown.size() ? "..." : "";
      caret_column = caret_column - static_cast<int>(start) + static_cast<int>(before.size());
      shown = before + shown.substr(start, stop - start) + after;
    }
    std::string pad;
    // Tabs are kept so that the caret lines up under tab-indented source.
    for (int i = 0; i < caret_column && i < static_cast<int>(shown.size()); ++i)
      pad += shown[i] == '\t' ? '\t' : ' ';
    text += fmt::format("\n  {}\n  {}^", shown, pad);
  }
  return text;
}

}  // namespace

UserError::UserError(const std::string& message, SourceLocation location)
    : Error(format_located(message, location)), message_(message),
      location_(std::move(location)) {}

void fail_internal(const char* condition, const std::string& message,
                   std::source_location where) {
  throw InternalError(fmt::format("internal error at {}:{} in {}: {} (condition '{}' failed)",
                                  where.file_name(), where.line(), where.function_name(),
                                  message, condition));
}

}  // namespace damo
