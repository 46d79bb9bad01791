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
    std::string line = loc.line_text;
    int caret_column = loc.column > 0 ? loc.column - 1 : 0;
    // A very long line shows only a window around the caret, marked with "...".
    constexpr int kWindow = 160;
    if (static_cast<int>(line.size()) > kWindow + 40) {
      std::size_t start = static_cast<std::size_t>(std::max(0, caret_column - kWindow / 2));
      std::size_t stop = std::min(line.size(), start + kWindow);
      // Whole UTF-8 sequences only: the window does not start or end inside one.
      auto continuation = [&](std::size_t i) { return i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80; };
      while (continuation(start)) ++start;
      while (stop > start && continuation(stop)) --stop;
      std::string before = start > 0 ? "..." : "";
      std::string after = stop < line.size() ? "..." : "";
      caret_column = caret_column - static_cast<int>(start) + static_cast<int>(before.size());
      line = before + line.substr(start, stop - start) + after;
    }
    std::string pad;
    // Tabs are kept so that the caret lines up under tab-indented source.
    for (int i = 0; i < caret_column && i < static_cast<int>(line.size()); ++i)
      pad += line[i] == '\t' ? '\t' : ' ';
    text += fmt::format("\n  {}\n  {}^", line, pad);
  }
  return text;
}

// A cut position at or before at that does not split a UTF-8 sequence.
std::size_t sequence_start(const std::string& text, std::size_t at) {
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  return at;
}

// The message, readable even when it quotes a huge value (a name of a million characters,
// say). Each quoted value over 80 characters is cut to its first 40 and its length. A
// message still over 2,000 characters keeps only its start and end.
std::string bounded_message(const std::string& message) {
  constexpr std::size_t kLongestQuote = 80, kQuoteHead = 40, kLongest = 2000, kHead = 1400, kTail = 400;
  std::string out;
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t open = message.find('\'', at);
    std::size_t close = open == std::string::npos ? std::string::npos : message.find('\'', open + 1);
    if (close == std::string::npos) {
      out += message.substr(at);
      break;
    }
    out += message.substr(at, open + 1 - at);
    std::size_t length = close - open - 1;
    if (length > kLongestQuote) {
      std::size_t head = sequence_start(message, open + 1 + kQuoteHead) - open - 1;
      out += fmt::format("{}... ({} characters)", message.substr(open + 1, head), length);
    } else {
      out += message.substr(open + 1, length);
    }
    out += '\'';
    at = close + 1;
  }
  if (out.size() <= kLongest) return out;
  std::size_t head = sequence_start(out, kHead);
  std::size_t tail = out.size() - kTail;
  while (tail < out.size() && (static_cast<unsigned char>(out[tail]) & 0xC0) == 0x80) ++tail;
  return fmt::format("{} ... ({} characters left out) ... {}", out.substr(0, head), tail - head, out.substr(tail));
}

}  // namespace

UserError::UserError(const std::string& message) : Error(bounded_message(message)), message_(bounded_message(message)) {}

UserError::UserError(const std::string& message, SourceLocation location)
    : Error(format_located(bounded_message(message), location)), message_(bounded_message(message)),
      location_(std::move(location)) {}

void fail_internal(const char* condition, const std::string& message,
                   std::source_location where) {
  throw InternalError(fmt::format("internal error at {}:{} in {}: {} (condition '{}' failed)",
                                  where.file_name(), where.line(), where.function_name(),
                                  message, condition));
}

}  // namespace damo
