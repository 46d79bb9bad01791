// Small string helpers shared by the reader, the preprocessing and the reports.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace segment {

/// text without leading and trailing spaces and tabs.
std::string trim(std::string_view text);
std::string_view trim_view(std::string_view text);

/// ASCII lower case.
std::string to_lower(std::string_view text);

/// Splits on a separator; every part is trimmed, and empty parts are kept.
std::vector<std::string> split(std::string_view text, char separator);

/// "a, b and c": items for a message, at most limit of them, then "and N more".
std::string join_list(const std::vector<std::string>& items, std::size_t limit = 12);

/// "'a', 'b' and 'c'": names for a message, at most limit of them, then "and N more".
std::string quoted_list(const std::vector<std::string>& names, std::size_t limit = 12);

/// A number as short text: integers without a decimal point, others with up to 6
/// significant digits.
std::string format_number(double value);

/// Days since 1970-01-01, rounded to whole days, as yyyy-mm-dd.
std::string format_days(double days);

/// The position of the first byte of text that does not start or continue a well-formed
/// UTF-8 sequence (no overlong forms, surrogates or code points above U+10FFFF), or npos.
std::size_t invalid_utf8_at(std::string_view text);

/// text in single quotes for a POSIX shell, each single quote inside written as '\''.
std::string shell_quoted(std::string_view text);

/// "1 row" or "2 rows": count and noun, with an "s" unless count is 1.
std::string count_of(std::size_t count, std::string_view noun);

/// text safe to show on a terminal: each byte that is not part of well-formed UTF-8, and each
/// control character (C0, DEL and C1), becomes \xNN (\n, \r and \t for line breaks and
/// tabs). With keep_layout, line breaks and tabs pass through, for text whose layout is its
/// own, such as a report. Values from the data inside such text need their own escaping.
std::string printable_text(std::string_view text, bool keep_layout = false);

/// Formats and writes printable_text(..., true) to stream without throwing: fmt::print throws
/// when a write fails, and a full or closed stderr must not end the program. run_cli()
/// checks stdout for errors once at the end instead.
template <class... Args>
void print_to(std::FILE* stream, fmt::format_string<Args...> format, Args&&... args) {
  std::string text = printable_text(fmt::format(format, std::forward<Args>(args)...), true);
  std::fwrite(text.data(), 1, text.size(), stream);
}

}  // namespace segment
