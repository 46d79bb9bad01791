// String helpers for messages and tables.
#include "text_util.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "damo/frontend/diagnostics.h"

namespace segment {

std::string_view trim_view(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end + 1 - begin);
}

std::string trim(std::string_view text) { return std::string(trim_view(text)); }

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return lower;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.push_back(trim(text.substr(start, end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string join_list(const std::vector<std::string>& items, std::size_t limit) {
  std::size_t listed = std::min(items.size(), limit);
  std::string text;
  for (std::size_t i = 0; i < listed; ++i) {
    if (i > 0) text += (i + 1 == listed && listed == items.size()) ? " and " : ", ";
    text += items[i];
  }
  if (listed < items.size()) text += fmt::format(" and {} more", items.size() - listed);
  return text;
}

std::string quoted_list(const std::vector<std::string>& names, std::size_t limit) {
  std::vector<std::string> quoted;
  quoted.reserve(names.size());
  for (const std::string& name : names) quoted.push_back("'" + name + "'");
  return join_list(quoted, limit);
}

std::size_t invalid_utf8_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (byte >= 0xC2 && byte <= 0xDF) length = 2;
    else if (byte == 0xE0) length = 3, low = 0xA0;
    else if (byte == 0xED) length = 3, high = 0x9F;
    else if (byte >= 0xE1 && byte <= 0xEF) length = 3;
    else if (byte == 0xF0) length = 4, low = 0x90;
    else if (byte == 0xF4) length = 4, high = 0x8F;
    else if (byte >= 0xF1 && byte <= 0xF3) length = 4;
    else return i;
    if (i + length > text.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::round(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{:.6g}", value);
}

std::string printable_text(std::string_view text, bool keep_layout) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    auto byte = static_cast<unsigned char>(text[at]);
    if (byte >= 0x80) {
      std::size_t length = damo::utf8_sequence_length(text, at);
      // U+0080 to U+009F, encoded C2 80 to C2 9F, are C1 control characters.
      bool c1_control = length == 2 && byte == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0;
      if (length == 0 || c1_control) {
        out += fmt::format("\\x{:02x}", byte);
        continue;
      }
      out += text.substr(at, length);
      at += length - 1;
      continue;
    }
    bool layout = byte == '\n' || byte == '\t';
    if ((byte >= 0x20 && byte != 0x7f) || (keep_layout && layout)) {
      out += static_cast<char>(byte);
      continue;
    }
    switch (byte) {
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: out += fmt::format("\\x{:02x}", byte);
    }
  }
  return out;
}

std::string format_days(double days) {
  using namespace std::chrono;
  year_month_day date{sys_days{std::chrono::days{static_cast<int>(std::lround(days))}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

std::string shell_quoted(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string count_of(std::size_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

}  // namespace segment
