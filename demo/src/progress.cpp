// Progress output for training.
#include "segment/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "text_util.h"

namespace segment {

namespace {

constexpr int kBarWidth = 24;
constexpr int kMinBarWidth = 5;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

// A duration in the unit that reads best: "45 s", "12 min" or "49 h".
std::string rough_duration(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 120 * 60) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.0f} h", seconds / 3600);
}

}  // namespace

bool is_terminal(std::FILE* stream) { return ::isatty(::fileno(stream)) == 1; }

int terminal_columns(std::FILE* stream) {
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    int value = 0;
    const char* end = columns + std::strlen(columns);
    auto [stop, error] = std::from_chars(columns, end, value);
    if (error == std::errc() && stop == end && value > 0) return value;
  }
  return 80;
}

std::string bar_line(const std::string& prefix, long done, long total, const std::string& text, int columns) {
  std::size_t limit = static_cast<std::size_t>(std::max(columns - 1, 0));
  // The prefix, the brackets and the space after them, and the text.
  std::size_t rest = prefix.size() + 3 + text.size();
  long width = kBarWidth;
  if (rest + kBarWidth > limit)
    width = std::max<long>(kMinBarWidth, static_cast<long>(limit) - static_cast<long>(rest));
  long filled = total <= 0 ? width : width * std::clamp(done, 0L, total) / total;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(static_cast<std::size_t>(width), '.');
  std::string line = prefix + "[" + bar + "] " + text;
  if (line.size() > limit) {
    // The cut backs up to the start of a UTF-8 character.
    while (limit > 0 && (static_cast<unsigned char>(line[limit]) & 0xC0) == 0x80) --limit;
    line.resize(limit);
  }
  return line;
}

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
  first_batch_.reset();
}

void ProgressPrinter::operator()(const EpochProgress& p) { step(p.epoch, p.epochs, p.last, progress_line(p)); }

void ProgressPrinter::draw_bar(long done, long total, const std::string& text) {
  int columns = columns_ > 0 ? columns_ : terminal_columns(stream_);
  // The carriage return and the erase-line sequence are written as they are; print_to
  // would escape them.
  std::fputs("\r\033[K", stream_);
  print_to(stream_, "{}", bar_line(prefix_, done, total, text, columns));
  std::fflush(stream_);
  line_open_ = true;
}

std::string ProgressPrinter::time_left(double elapsed_seconds, double left_seconds) const {
  // With a prefix such as "fold 2/5", the times cover that part of the run alone.
  return fmt::format(fmt::runtime(prefix_.empty() ? "  ({} so far, about {} left)"
                                                  : "  ({} into this part, about {} left in it)"),
                     rough_duration(elapsed_seconds), rough_duration(left_seconds));
}

void ProgressPrinter::batch(const BatchProgress& p) {
  if (quiet_) return;
  Clock::time_point now = clock_();
  long done = static_cast<long>(p.epoch - 1) * p.batches + p.batch;
  long total = static_cast<long>(p.epochs) * p.batches;
  if (!first_batch_) {
    // The first minibatch pays for compiling, so the pace counts from its end, and the
    // plain interval starts there unless a line came already.
    first_batch_ = now;
    first_batch_done_ = done;
    if (!first_step_) last_line_ = now;
    return;
  }
  if (now - last_line_ < plain_interval_) return;
  last_line_ = now;
  double elapsed = std::chrono::duration<double>(now - *first_batch_).count();
  double pace = elapsed / static_cast<double>(std::max(1L, done - first_batch_done_));
  int digits = static_cast<int>(std::to_string(p.epochs).size());
  std::string text = fmt::format("epoch {:>{}}/{}  batch {}/{}{}", p.epoch, digits, p.epochs, p.batch,
                                 p.batches, time_left(elapsed, pace * static_cast<double>(total - done)));
  if (terminal_) {
    draw_bar(done, total, text);
    return;
  }
  print_to(stream_, "{}{}\n", prefix_, text);
}

void ProgressPrinter::step(long done, long total, bool last, const std::string& text, bool tenths) {
  if (quiet_) return;
  Clock::time_point now = clock_();
  if (!first_step_) first_step_ = now;
  if (terminal_) {
    if (line_open_ && !last && now - last_line_ < kRedrawInterval) return;
    last_line_ = now;
    draw_bar(done, total, text);
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
  if (!last && done > 1 && elapsed >= std::chrono::duration<double>(plain_interval_).count())
    estimate = time_left(elapsed, elapsed / static_cast<double>(done - 1) * static_cast<double>(total - done));
  print_to(stream_, "{}{}{}\n", prefix_, text, estimate);
}

void ProgressPrinter::finish() {
  if (!line_open_) return;
  print_to(stream_, "\n");
  line_open_ = false;
}

}  // namespace segment
