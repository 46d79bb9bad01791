// Source text and diagnostics for the expression language: SourceFile maps byte offsets to
// line:column locations for UserError, and the "did you mean" helpers suggest the nearest
// known name for a misspelled one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "damo/runtime/error.h"

namespace damo {

/// A named text the user wrote: a script file, one REPL entry or a -e snippet.
class SourceFile {
 public:
  /// name appears in diagnostics: a path, "<repl>", "<stdin>" or "<string>".
  SourceFile(std::string name, std::string text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  std::size_t size() const { return text_.size(); }

  /// Location of the byte at offset (clamped to the end of the text). The column counts
  /// UTF-8 code points from 1 so that the caret lines up under the character. The line
  /// text has invalid UTF-8 and control characters other than tab replaced by '?'.
  SourceLocation location(std::size_t offset) const;

  /// Throws UserError with message, located at offset.
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
};

/// Levenshtein distance between a and b: the number of single-byte insertions, deletions
/// and substitutions that turn one into the other.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate nearest to name when it is close enough to be a likely misspelling (at
/// most a third of name's length away, and at least 1), or an empty string.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);

/// "; did you mean 'softmax'?" when closest_name() finds a candidate, else "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

/// The parameter that a keyword of two or more characters abbreviates, as ax abbreviates
/// axis, or else closest_name(keyword, parameters). Of several parameters that start with
/// the keyword, the shortest wins, and then the alphabetically first.
std::string closest_parameter(std::string_view keyword, const std::vector<std::string>& parameters);

/// Length of the valid UTF-8 sequence starting at text[offset], or 0 when the bytes there
/// are not valid UTF-8 (a stray continuation byte, an overlong form, a surrogate, or a
/// truncated sequence).
std::size_t utf8_sequence_length(std::string_view text, std::size_t offset);

}  // namespace damo
