// ProgressPrinter: per-epoch training progress, or any counted steps, on a stream. On a
// terminal it redraws one bar line in place, at most ten times a second. Otherwise it prints
// a plain line after the first and last steps, every tenth of the steps and at least every
// 10 seconds, with an estimate of the time left once 10 seconds have passed.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "segment/trainer.h"

namespace segment {

class ProgressPrinter {
 public:
  /// Writes to stream; terminal selects the redrawn bar. quiet prints nothing.
  ProgressPrinter(std::FILE* stream, bool terminal, bool quiet);
  ~ProgressPrinter();

  /// Text put before each line, such as "fold 2/5".
  void set_prefix(std::string prefix);
  void operator()(const EpochProgress& progress);
  /// Reports step done of total (1-based) with text; last marks the final step, which may
  /// come before total when a run stops early. Without tenths, plain lines come only every
  /// 10 seconds, for steps that are usually over too soon to need any.
  void step(long done, long total, bool last, const std::string& text, bool tenths = true);
  /// Ends the bar line on a terminal.
  void finish();
  /// Sets the longest wait between plain lines, which is also how long a run lasts before
  /// lines carry an estimate of the time left (10 seconds unless set).
  void set_plain_interval(std::chrono::milliseconds interval) { plain_interval_ = interval; }

 private:
  std::FILE* stream_;
  bool terminal_;
  bool quiet_;
  using Clock = std::chrono::steady_clock;
  bool line_open_ = false;
  std::string prefix_;
  /// When the first step of the current run was reported, and when the last line was.
  std::optional<Clock::time_point> first_step_;
  Clock::time_point last_line_;
  std::chrono::milliseconds plain_interval_{10000};
};

/// One progress line without the bar: "epoch 20/100  loss 0.3121  validation accuracy 0.857".
std::string progress_line(const EpochProgress& progress);

/// Whether the stream is a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace segment
