// InterruptMessage: what the program prints when SIGINT (Ctrl-C) stops a long run.
#pragma once

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

namespace segment {

/// While it exists, SIGINT writes message and a newline to stream's file descriptor and then
/// ends the process by SIGINT, as the default action does, so a shell reports exit status
/// 130. On a terminal a newline comes first, to end the progress bar line (or the "^C" that
/// the terminal echoes). Destroying it restores the previous handler. Only one may exist at
/// a time.
class InterruptMessage {
 public:
  InterruptMessage(std::FILE* stream, bool terminal, const std::string& message);
  ~InterruptMessage();
  InterruptMessage(const InterruptMessage&) = delete;
  InterruptMessage& operator=(const InterruptMessage&) = delete;

 private:
  struct sigaction previous_ {};
};

/// Builds the line printed when SIGINT stops a run before it writes its outputs, such as
/// "damo-segment: training interrupted; nothing was written to the model 'm.bin'". activity
/// names the run, and outputs describe the files it would write.
std::string interrupt_message(const std::string& activity, const std::vector<std::string>& outputs);

}  // namespace segment
