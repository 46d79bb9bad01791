// SourceFile locations, UTF-8 checks and the edit-distance suggestions behind "did you mean".
#include "damo/frontend/diagnostics.h"

#include <algorithm>

namespace damo {

SourceFile::SourceFile(std::string name, std::string text)
    : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

namespace {

// The line's text for a diagnostic: bytes that would garble a terminal become '?'.
std::string printable_line(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size();) {
    auto byte = static_cast<unsigned char>(line[i]);
    if (byte >= 0x80) {
      std::size_t length = utf8_sequence_length(line, i);
      if (length == 0) {
        out += '?';
        ++i;
      } else {
        out.append(line.substr(i, length));
        i += length;
      }
      continue;
    }
    bool control = byte < 0x20 || byte == 0x7f;
    out += control && byte != '\t' ? '?' : static_cast<char>(byte);
    ++i;
  }
  return out;
}

}  // namespace

SourceLocation SourceFile::location(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::size_t line_index = static_cast<std::size_t>(it - line_starts_.begin()) - 1;
  std::size_t start = line_starts_[line_index];
  std::size_t end = text_.find('\n', start);
  if (end == std::string::npos) end = text_.size();
  // A UTF-8 byte-order mark before the first line is not part of it.
  if (start == 0 && std::string_view(text_).starts_with("\xEF\xBB\xBF")) start = std::min<std::size_t>(3, end);
  std::string_view line(text_.data() + start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // Columns count code points; an invalid byte counts as one column, like its '?'.
  int column = 1;
  for (std::size_t i = start; i < offset;) {
    std::size_t length = static_cast<unsigned char>(text_[i]) < 0x80
                             ? 1
                             : std::max<std::size_t>(1, utf8_sequence_length(text_, i));
    i += length;
    ++column;
  }

  SourceLocation location;
  location.source_name = name_;
  location.line = static_cast<int>(line_index) + 1;
  location.column = column;
  location.line_text = printable_line(line);
  return location;
}

void SourceFile::fail(std::size_t offset, const std::string& message) const {
  throw UserError(message, location(offset));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Insertions, deletions, substitutions and swaps of two neighbouring characters (:tpye for
  // :type) each count once. Three rows of the dynamic-programming table at a time.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        row[j] = std::min(row[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

std::string closest_name(std::string_view name, const std::vector<std::string>& candidates) {
  // The edit distance takes time in the product of the two lengths, and a name this long is
  // no typo of a short one.
  constexpr std::size_t kLongestCompared = 64;
  if (name.size() > kLongestCompared) return "";
  std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == name) continue;
    // Lengths that differ by more than the limit need more edits than it allows.
    std::size_t gap = candidate.size() > name.size() ? candidate.size() - name.size() : name.size() - candidate.size();
    if (gap > limit) continue;
    std::size_t distance = edit_distance(name, candidate);
    // Ties go to the alphabetically first candidate, so the hint does not depend on the
    // order of the candidate list.
    if (distance < best_distance || (distance == best_distance && candidate < best)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best = closest_name(name, candidates);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

std::string closest_parameter(std::string_view keyword, const std::vector<std::string>& parameters) {
  // One letter starts too many names to say which one was meant.
  std::string best;
  if (keyword.size() >= 2) {
    for (const std::string& parameter : parameters) {
      if (parameter.size() <= keyword.size() || !parameter.starts_with(keyword)) continue;
      if (best.empty() || parameter.size() < best.size() ||
          (parameter.size() == best.size() && parameter < best))
        best = parameter;
    }
  }
  return best.empty() ? closest_name(keyword, parameters) : best;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t offset) {
  auto byte = [&](std::size_t i) -> unsigned {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  unsigned lead = byte(offset);
  std::size_t length = 0;
  unsigned min_second = 0x80, max_second = 0xbf;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead >= 0xe0 && lead <= 0xef)
    length = 3;
  else if (lead >= 0xf0 && lead <= 0xf4)
    length = 4;
  else
    return 0;

  // The second byte's range excludes overlong forms, surrogates and code points above
  // U+10FFFF (RFC 3629, section 4).
  if (lead == 0xe0) min_second = 0xa0;
  if (lead == 0xed) max_second = 0x9f;
  if (lead == 0xf0) min_second = 0x90;
  if (lead == 0xf4) max_second = 0x8f;
  unsigned second = byte(offset + 1);
  if (second < min_second || second > max_second) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((byte(offset + i) & 0xc0) != 0x80) return 0;
  return length;
}

}  // namespace damo
