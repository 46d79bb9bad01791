// Progress output for training.
#include "segment/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "text_util.h"

namespace segment {

namespace {

constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

// A duration in the unit that reads best: "45 s", "12 min" or "49 h".
std::string rough_duration(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 120 * 60) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.0f} h", seconds / 3600);
}

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
  first_step_.reset();
}

void ProgressPrinter::operator()(const EpochProgress& p) { step(p.epoch, p.epochs, p.last, progress_line(p)); }

void ProgressPrinter::step(long done, long total, bool last, const std::string& text, bool tenths) {
  if (quiet_) return;
  Clock::time_point now = Clock::now();
  if (!first_step_) first_step_ = now;
  if (terminal_) {
    if (line_open_ && !last && now - last_line_ < kRedrawInterval) return;
    last_line_ = now;
    long filled = total <= 0 ? kBarWidth : kBarWidth * std::min(done, total) / total;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    // The carriage return and the erase-line sequence are written as they are; print_to
    // would escape them.
    std::fputs("\r\033[K", stream_);
    print_to(stream_, "{}[{}] {}", prefix_, bar, text);
    std::fflush(stream_);
    line_open_ = true;
    return;
  }
  long every = std::max(1L, total / 10);
  bool counted = tenths && (done == 1 || last || done % every == 0);
  // The first step starts the clock of the plain interval.
  if (done == 1 && !counted) last_line_ = now;
  bool due = counted || (done > 1 && now - last_line_ >= plain_interval_);
  if (!due) return;
  last_line_ = now;
  // The pace of the steps after the first, which pays for compiling.
  std::string estimate;
  double elapsed = std::chrono::duration<double>(now - *first_step_).count();
  // With a prefix such as "fold 2/5", the times cover that part of the run alone.
  if (!last && done > 1 && elapsed >= std::chrono::duration<double>(plain_interval_).count())
    estimate = fmt::format(fmt::runtime(prefix_.empty() ? "  ({} so far, about {} left)"
                                                        : "  ({} into this part, about {} left in it)"),
                           rough_duration(elapsed),
                           rough_duration(elapsed / static_cast<double>(done - 1) *
                                          static_cast<double>(total - done)));
  print_to(stream_, "{}{}{}\n", prefix_, text, estimate);
}

void ProgressPrinter::finish() {
  if (!line_open_) return;
  print_to(stream_, "\n");
  line_open_ = false;
}

}  // namespace segment
