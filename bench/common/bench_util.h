// Helpers shared by the benchmark programs (Damo's and the C++ reference): command-line
// options, the warm-up and repeat timing loop, memory figures from /proc, and the one-line
// JSON report that bench/run reads from each program's standard output.
//
// Every benchmark program takes `--name value` options and prints one JSON object:
//   {"times_s": [...], "check": [...], "info": {...}}
// times_s holds one wall-clock time per timed repetition, check holds the values that the
// driver compares across implementations, and info holds anything else worth recording.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// `--name value` options; every option takes exactly one value.
class Options {
 public:
  Options(int argc, char** argv) {
    for (int i = 1; i < argc; i += 2) {
      std::string name = argv[i];
      if (name.rfind("--", 0) != 0 || i + 1 >= argc)
        throw std::invalid_argument("expected '--name value' pairs, got '" + name + "'");
      values_[name.substr(2)] = argv[i + 1];
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }

  /// Returns the value of a required option; throws std::invalid_argument when it is missing.
  std::string text(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::invalid_argument("missing option --" + name);
    return it->second;
  }

  std::string text(const std::string& name, const std::string& fallback) const {
    return has(name) ? text(name) : fallback;
  }

  std::int64_t integer(const std::string& name) const { return std::stoll(text(name)); }
  std::int64_t integer(const std::string& name, std::int64_t fallback) const {
    return has(name) ? integer(name) : fallback;
  }
  double number(const std::string& name) const { return std::stod(text(name)); }

 private:
  std::map<std::string, std::string> values_;
};

/// Runs reset() untimed and body() timed, warmup times without recording and then repeats
/// times; returns the seconds of each timed body() call.
template <class Reset, class Body>
std::vector<double> time_repeats(std::int64_t warmup, std::int64_t repeats, Reset reset,
                                 Body body) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds;
  for (std::int64_t i = 0; i < warmup + repeats; ++i) {
    reset();
    auto start = Clock::now();
    body();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (i >= warmup) seconds.push_back(elapsed);
  }
  return seconds;
}

/// Returns a field of /proc/self/status, such as "VmRSS" or "VmHWM", in bytes, or -1 when
/// the field is absent.
inline std::int64_t proc_status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(field.size() + 1));
    std::int64_t kilobytes = -1;
    fields >> kilobytes;
    return kilobytes * 1024;
  }
  return -1;
}

/// Resets the process's peak resident set size (VmHWM) to the current one, so that a later
/// proc_status_bytes("VmHWM") covers only what ran in between. Returns false when the
/// kernel does not allow it.
inline bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

/// Builds the JSON report; values are numbers or strings, keys are plain identifiers.
class Report {
 public:
  void set_times(const std::vector<double>& seconds) { times_ = seconds; }
  void add_check(double value) { check_.push_back(value); }
  void add_info(const std::string& key, double value) { info_.emplace_back(key, number(value)); }
  void add_info(const std::string& key, const std::string& value) {
    info_.emplace_back(key, quoted(value));
  }

  /// Prints the report as one line on standard output.
  void print() const {
    std::string out =
        "{\"times_s\": " + list(times_) + ", \"check\": " + list(check_) + ", \"info\": {";
    for (std::size_t i = 0; i < info_.size(); ++i)
      out += (i ? ", " : "") + quoted(info_[i].first) + ": " + info_[i].second;
    out += "}}\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  static std::string number(double value) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    std::string result = text;
    // JSON has no NaN or infinity; the driver treats null as a failed check.
    if (result.find_first_of("ni") != std::string::npos) return "null";
    return result;
  }

  static std::string list(const std::vector<double>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + number(values[i]);
    return out + "]";
  }

  static std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
        continue;
      }
      out += c;
    }
    return out + "\"";
  }

  std::vector<double> times_;
  std::vector<double> check_;
  std::vector<std::pair<std::string, std::string>> info_;
};

}  // namespace bench
