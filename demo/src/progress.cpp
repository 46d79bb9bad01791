// Progress output for training.
#include "segment/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

#include "text_util.h"

namespace segment {

namespace {

constexpr int kBarWidth = 24;

}  // namespace

bool is_terminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

std::string progress_line(const EpochProgress& p) {
  int digits = static_cast<int>(std::to_string(p.epochs).size());
  // A diverging loss of 1e30 would otherwise print 31 digits.
  std::string loss = p.loss < 1e6 ? fmt::format("{:.4f}", p.loss) : fmt::format("{:.4e}", p.loss);
  std::string line = fmt::format("epoch {:>{}}/{}  loss {}", p.epoch, digits, p.epochs, loss);
  if (!std::isnan(p.validation_loss))
    line += fmt::format("  validation loss {:.4f}", p.validation_loss);
  if (!std::isnan(p.validation_accuracy))
    line += fmt::format("  validation accuracy {:.3f}", p.validation_accuracy);
  return line;
}

ProgressPrinter::ProgressPrinter(std::FILE* stream, bool terminal, bool quiet)
    : stream_(stream), terminal_(terminal), quiet_(quiet) {}

ProgressPrinter::~ProgressPrinter() { finish(); }

void ProgressPrinter::set_prefix(std::string prefix) {
  finish();
  prefix_ = prefix.empty() ? "" : prefix + "  ";
}

void ProgressPrinter::operator()(const EpochProgress& p) {
  if (quiet_) return;
  if (terminal_) {
    int filled = p.epochs == 0 ? kBarWidth : kBarWidth * p.epoch / p.epochs;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    // The carriage return and the erase-line sequence are written as they are; print_to
    // would escape them.
    std::fputs("\r\033[K", stream_);
    print_to(stream_, "{}[{}] {}", prefix_, bar, progress_line(p));
    std::fflush(stream_);
    line_open_ = true;
    return;
  }
  int every = std::max(1, p.epochs / 10);
  if (p.epoch % every == 0 || p.last || p.epoch == 1)
    print_to(stream_, "{}{}\n", prefix_, progress_line(p));
}

void ProgressPrinter::finish() {
  if (!line_open_) return;
  print_to(stream_, "\n");
  line_open_ = false;
}

}  // namespace segment
