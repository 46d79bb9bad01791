// Command-line option parsing for damo-segment: a table of the options each command
// accepts, "--name value" and "--name=value" forms, and typed conversions that report the
// option and the bad value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "damo/runtime/error.h"
#include "segment/usage_error.h"

namespace segment {

/// One option a command accepts.
struct OptionSpec {
  std::string name;  // with dashes: "--lr", "-k"
  bool takes_value = true;
};

/// The options given for one command, checked against its OptionSpec table.
class ParsedOptions {
 public:
  /// Parses arguments; throws UsageError for an unknown option, a missing value or a
  /// positional argument.
  ParsedOptions(const std::string& command, const std::vector<std::string>& arguments,
                const std::vector<OptionSpec>& specs);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  /// The value, or nullopt when the option is absent.
  std::optional<std::string> get(const std::string& name) const;
  /// The value; throws UsageError when the option is absent.
  std::string require(const std::string& name) const;

  std::optional<long long> get_int(const std::string& name) const;
  std::optional<double> get_double(const std::string& name) const;
  /// A comma-separated list; empty parts are rejected.
  std::optional<std::vector<std::string>> get_list(const std::string& name) const;

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
};

}  // namespace segment
