// ProgressPrinter: per-epoch training progress, or any counted steps, on a stream. On a
// terminal it redraws one bar line in place, at most ten times a second, cut to the
// terminal's width. Otherwise it prints a plain line after the first and last steps, every
// tenth of the steps and at least every 10 seconds, with an estimate of the time left once
// 10 seconds have passed. Minibatches inside a long epoch also get a line every 10 seconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "segment/trainer.h"

namespace segment {

class ProgressPrinter {
 public:
  using Clock = std::chrono::steady_clock;

  /// Writes to stream; terminal selects the redrawn bar. quiet prints nothing.
  ProgressPrinter(std::FILE* stream, bool terminal, bool quiet);
  ~ProgressPrinter();

  /// Text put before each line, such as "fold 2/5".
  void set_prefix(std::string prefix);
  void operator()(const EpochProgress& progress);
  /// Reports a finished minibatch. It prints a line only when the plain interval has passed
  /// since the last line, so that a long epoch still shows progress. The line gives the
  /// epoch, the batch, the time so far and an estimate of the time left.
  void batch(const BatchProgress& progress);
  /// Reports step done of total (1-based) with text; last marks the final step, which may
  /// come before total when a run stops early. Without tenths, plain lines come only every
  /// 10 seconds, for steps that are usually over too soon to need any.
  void step(long done, long total, bool last, const std::string& text, bool tenths = true);
  /// Ends the bar line on a terminal.
  void finish();
  /// Sets the longest wait between plain lines, which is also how long a run lasts before
  /// lines carry an estimate of the time left (10 seconds unless set).
  void set_plain_interval(std::chrono::milliseconds interval) { plain_interval_ = interval; }
  /// Replaces the clock that times lines and estimates (Clock::now unless set).
  void set_clock(std::function<Clock::time_point()> clock) { clock_ = std::move(clock); }
  /// Fixes the terminal width that bar lines are cut to. 0, the default, measures the
  /// stream's terminal before each redraw.
  void set_columns(int columns) { columns_ = columns; }

 private:
  void draw_bar(long done, long total, const std::string& text);
  /// "  (31 s so far, about 50 s left)", or its wording for a part of the run under a prefix.
  std::string time_left(double elapsed_seconds, double left_seconds) const;

  std::FILE* stream_;
  bool terminal_;
  bool quiet_;
  bool line_open_ = false;
  std::string prefix_;
  /// When the first step of the current run was reported, and when the last line was.
  std::optional<Clock::time_point> first_step_;
  Clock::time_point last_line_;
  /// When the first minibatch of the current run was reported, and its position counted in
  /// batches from the start of the run.
  std::optional<Clock::time_point> first_batch_;
  long first_batch_done_ = 0;
  std::chrono::milliseconds plain_interval_{10000};
  std::function<Clock::time_point()> clock_ = [] { return Clock::now(); };
  int columns_ = 0;
};

/// Builds the redrawn line "PREFIX[####....] TEXT" for done of total steps. When it is
/// longer than columns - 1 characters, the bar shrinks first, to no less than 5 characters,
/// and then the line is cut. The last column stays free, because some terminals move to the
/// next row as soon as a character fills it.
std::string bar_line(const std::string& prefix, long done, long total, const std::string& text, int columns);

/// The width of the stream's terminal in columns, else the COLUMNS environment variable,
/// else 80.
int terminal_columns(std::FILE* stream);

/// One progress line without the bar: "epoch 20/100  loss 0.3121  validation accuracy 0.857".
std::string progress_line(const EpochProgress& progress);

/// Whether the stream is a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace segment
