// Option parsing and typed option values.
#include "cli_options.h"

#include <fmt/format.h>

#include <charconv>

#include "segment/column_types.h"
#include "text_util.h"

namespace segment {

namespace {

const OptionSpec* find_spec(const std::vector<OptionSpec>& specs, const std::string& name) {
  for (const OptionSpec& spec : specs)
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace

ParsedOptions::ParsedOptions(const std::string& command, const std::vector<std::string>& arguments,
                             const std::vector<OptionSpec>& specs)
    : command_(command) {
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    std::string name = arguments[i];
    std::optional<std::string> inline_value;
    if (std::size_t equals = name.find('=');
        name.starts_with("--") && equals != std::string::npos) {
      inline_value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    if (!name.starts_with("-"))
      throw UsageError(
          fmt::format("unexpected argument '{}' for '{}'; options start with --", name, command));

    const OptionSpec* spec = find_spec(specs, name);
    if (!spec) throw UsageError(fmt::format("unknown option '{}' for '{}'", name, command));
    if (has(name)) throw UsageError(fmt::format("option {} is given twice", name));
    if (!spec->takes_value) {
      if (inline_value) throw UsageError(fmt::format("option {} takes no value", name));
      values_[name] = "";
      continue;
    }
    if (inline_value) {
      values_[name] = *inline_value;
      continue;
    }
    if (i + 1 >= arguments.size()) throw UsageError(fmt::format("option {} needs a value", name));
    // "--missing --quiet" most likely forgot the value; a value that starts with "--" can
    // still be given as --missing=--x.
    const std::string& next = arguments[i + 1];
    if (next.starts_with("--") && find_spec(specs, next.substr(0, next.find('='))))
      throw UsageError(fmt::format("option {} needs a value, but the option {} follows it; give the "
                                   "value first, or write {}=VALUE for a value that starts with --",
                                   name, next.substr(0, next.find('=')), name));
    values_[name] = arguments[++i];
  }
}

std::optional<std::string> ParsedOptions::get(const std::string& name) const {
  auto found = values_.find(name);
  if (found == values_.end()) return std::nullopt;
  return found->second;
}

std::string ParsedOptions::require(const std::string& name) const {
  if (auto value = get(name)) return *value;
  throw UsageError(fmt::format("'{}' needs the option {}", command_, name));
}

std::optional<long long> ParsedOptions::get_int(const std::string& name) const {
  std::optional<std::string> text = get(name);
  if (!text) return std::nullopt;
  long long value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  bool whole = end == text->data() + text->size();
  if (error == std::errc::result_out_of_range && whole)
    throw UsageError(fmt::format("{} '{}' is out of range; use a smaller integer", name, *text));
  if (error != std::errc() || !whole)
    throw UsageError(fmt::format("{} '{}' is not an integer", name, *text));
  return value;
}

std::optional<double> ParsedOptions::get_double(const std::string& name) const {
  std::optional<std::string> text = get(name);
  if (!text) return std::nullopt;
  std::optional<double> value = parse_number(*text);
  if (!value && is_out_of_range_number(*text))
    throw UsageError(fmt::format("{} '{}' is out of the range of a 64-bit float", name, *text));
  if (!value)
    throw UsageError(fmt::format("{} '{}' is not a finite decimal number", name, *text));
  return value;
}

std::optional<std::vector<std::string>> ParsedOptions::get_list(const std::string& name) const {
  std::optional<std::string> text = get(name);
  if (!text) return std::nullopt;
  // Entries are separated by commas. As in a CSV row, an entry in double quotes may contain
  // commas, and two double quotes inside it stand for one.
  std::vector<std::string> parts;
  std::string entry;
  std::size_t i = 0;
  while (true) {
    if (i < text->size() && (*text)[i] == '"') {
      std::size_t start = i++;
      while (true) {
        if (i >= text->size())
          throw UsageError(fmt::format("{} '{}': the quote at character {} is not closed; end the "
                                       "quoted entry with a double quote",
                                       name, *text, start + 1));
        if ((*text)[i] == '"' && i + 1 < text->size() && (*text)[i + 1] == '"') {
          entry += '"';
          i += 2;
        } else if ((*text)[i] == '"') {
          ++i;
          break;
        } else {
          entry += (*text)[i++];
        }
      }
      if (i < text->size() && (*text)[i] != ',')
        throw UsageError(fmt::format("{} '{}': character {} follows a quoted entry; put a comma "
                                     "after the closing quote",
                                     name, *text, i + 1));
    } else {
      std::size_t end = std::min(text->find(',', i), text->size());
      entry = text->substr(i, end - i);
      i = end;
    }
    parts.push_back(entry);
    entry.clear();
    if (i >= text->size()) break;
    ++i;  // the comma
  }
  for (const std::string& part : parts)
    if (part.empty())
      throw UsageError(fmt::format(
          "{} '{}' has an empty entry; separate the entries with single commas", name, *text));
  return parts;
}

}  // namespace segment
