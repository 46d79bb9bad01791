// ProgressPrinter: per-epoch training progress on a stream. On a terminal it redraws one
// bar line in place; otherwise it prints a plain line every tenth of the epochs.
#pragma once

#include <cstdio>
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
  /// Ends the bar line on a terminal.
  void finish();

 private:
  std::FILE* stream_;
  bool terminal_;
  bool quiet_;
  bool line_open_ = false;
  std::string prefix_;
};

/// One progress line without the bar: "epoch 20/100  loss 0.3121  validation accuracy 0.857".
std::string progress_line(const EpochProgress& progress);

/// Whether the stream is a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace segment
