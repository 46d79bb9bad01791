// The SIGINT handler behind InterruptMessage.
#include "segment/interrupt.h"

#include <fmt/format.h>
#include <unistd.h>

#include "text_util.h"

namespace segment {

namespace {

// The handler may only read these, and they change only while no handler is installed.
int g_descriptor = -1;
std::string g_text;

extern "C" void write_and_stop(int signal) {
  // write is async-signal-safe; a short or failed write cannot be helped here.
  ssize_t written = ::write(g_descriptor, g_text.data(), g_text.size());
  (void)written;
  // SA_RESETHAND has restored the default action, so this ends the process, at once or
  // when the handler returns.
  ::raise(signal);
}

}  // namespace

InterruptMessage::InterruptMessage(std::FILE* stream, bool terminal, const std::string& message) {
  std::fflush(stream);
  g_descriptor = ::fileno(stream);
  g_text = (terminal ? "\n" : "") + message + "\n";
  struct sigaction action {};
  action.sa_handler = write_and_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &action, &previous_);
}

InterruptMessage::~InterruptMessage() { ::sigaction(SIGINT, &previous_, nullptr); }

std::string interrupt_message(const std::string& activity, const std::vector<std::string>& outputs) {
  std::string text = fmt::format("damo-segment: {} interrupted; nothing was written", activity);
  if (!outputs.empty()) text += fmt::format(" to {}", join_list(outputs));
  return printable_text(text);
}

}  // namespace segment
