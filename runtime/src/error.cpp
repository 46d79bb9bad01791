#include "damo/runtime/error.h"

#include <fmt/format.h>

namespace damo {

namespace {

// Formats "name:line:col: message", the source line and a caret under the column.
std::string format_located(const std::string& message, const SourceLocation& loc) {
  if (!loc.valid()) return message;
  std::string text = fmt::format("{}:{}:{}: {}", loc.source_name, loc.line, loc.column, message);
  if (!loc.line_text.empty()) {
    int caret_column = loc.column > 0 ? loc.column - 1 : 0;
    std::string pad;
    // Tabs are kept so that the caret lines up under tab-indented source.
    for (int i = 0; i < caret_column && i < static_cast<int>(loc.line_text.size()); ++i)
      pad += loc.line_text[i] == '\t' ? '\t' : ' ';
    text += fmt::format("\n  {}\n  {}^", loc.line_text, pad);
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
