// The REPL loop on libedit's readline-compatible API, and the script driver.
#include "damo/frontend/repl.h"

#include <editline/readline.h>

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <new>
#include <ostream>

#include "damo/frontend/lexer.h"

namespace damo {

namespace {

constexpr int kHistoryLength = 1000;

// readline's completion callback takes no user data, so the session being completed is
// reached through this pointer, set only while run_repl runs.
Session* completion_session = nullptr;

char* copy_for_readline(const std::string& text) {
  // readline frees completion strings with free().
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

// Builds readline's match array: the longest common prefix first, then every match, then
// a null pointer.
char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // no file-name completion as a fallback
  if (completion_session == nullptr) return nullptr;
  std::string prefix = text;
  // ':' separates words for readline, so a command name arrives without it.
  if (start > 0 && rl_line_buffer[start - 1] == ':' && start == 1) prefix = ":" + prefix;
  std::vector<std::string> matches = completion_session->completions(prefix);
  if (matches.empty()) return nullptr;
  if (prefix.front() == ':' && text[0] != ':')
    for (std::string& m : matches) m.erase(0, 1);

  std::string common = matches.front();
  for (const std::string& m : matches) {
    std::size_t n = 0;
    while (n < common.size() && n < m.size() && common[n] == m[n]) ++n;
    common.resize(n);
  }
  auto** array = static_cast<char**>(std::calloc(matches.size() + 2, sizeof(char*)));
  if (array == nullptr) return nullptr;
  array[0] = copy_for_readline(common);
  for (std::size_t i = 0; i < matches.size(); ++i) array[i + 1] = copy_for_readline(matches[i]);
  return array;
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Set by the SIGINT handler, which stays installed for the whole REPL session: libedit
// passes a Ctrl-C on to it by sending SIGINT again, and that second signal may arrive after
// readline has returned. A signal handler can reach only static storage.
volatile std::sig_atomic_t interrupted = 0;

void note_interrupt(int) { interrupted = 1; }

// While an entry runs, the first Ctrl-C sets the stop flag that the session's calls read,
// and the second ends damo, as an unhandled SIGINT would. A compile does not read the flag,
// so the second Ctrl-C is the way out of a long one.
volatile std::sig_atomic_t interrupts_while_running = 0;
std::atomic<bool> stop_calls{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set by a signal handler");

void interrupt_running(int) {
  if (interrupts_while_running == 0) {
    interrupts_while_running = 1;
    stop_calls.store(true, std::memory_order_relaxed);
    static const char message[] =
        "\nCtrl-C: stopping the running call; press Ctrl-C again to quit damo\n";
    ssize_t written = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)written;
    return;
  }
  ::signal(SIGINT, SIG_DFL);
  ::raise(SIGINT);
}

// Reads one byte for libedit. Ctrl-C ends the line as Enter would and marks it interrupted,
// whether it arrives as the byte 0x03 or as SIGINT. The kernel may deliver SIGINT to any
// thread that does not block it (OpenBLAS starts threads of its own), so the wait cannot
// rely on being interrupted: it polls the flag every 50 ms.
int read_byte(FILE* stream) {
  for (;;) {
    if (interrupted) return '\n';
    pollfd ready = {fileno(stream), POLLIN, 0};
    int ready_count = ::poll(&ready, 1, 50);
    if (ready_count == 0 || (ready_count < 0 && errno == EINTR)) continue;
    if (ready_count < 0) return EOF;
    unsigned char key = 0;
    ssize_t count = ::read(fileno(stream), &key, 1);
    if (count == 1) {
      if (key != 0x03) return key;
      interrupted = 1;
      return '\n';
    }
    if (count < 0 && errno == EINTR) {
      if (interrupted) return '\n';
      continue;
    }
    return EOF;
  }
}

// Reads one key for libedit, which takes each key as a character code: the bytes of a UTF-8
// sequence are decoded into one code point, and a malformed sequence becomes U+FFFD.
int read_key(FILE* stream) {
  int lead = read_byte(stream);
  if (lead == EOF || lead < 0x80) return lead;
  // A lead byte 110xxxxx starts two bytes, 1110xxxx three and 11110xxx four.
  int extra = 0;
  if (lead >= 0xf0) extra = 3;
  else if (lead >= 0xe0) extra = 2;
  else if (lead >= 0xc0) extra = 1;
  if (extra == 0 || lead >= 0xf8) return 0xfffd;
  int code = lead & (0x3f >> extra);
  for (int i = 0; i < extra; ++i) {
    int next = read_byte(stream);
    if (next == EOF || next == '\n' || (next & 0xc0) != 0x80) return next == '\n' ? next : 0xfffd;
    code = (code << 6) | (next & 0x3f);
  }
  return code;
}

// Reads a line with prompt. After Ctrl-C, readline returns the partial line, which the
// interrupted flag marks for discarding.
enum class LineStatus { Line, Interrupted, End };

LineStatus read_line(const char* prompt, std::string& out) {
  interrupted = 0;
  char* line = readline(prompt);

  if (interrupted) {
    std::free(line);
    std::cout << std::endl;
    return LineStatus::Interrupted;
  }
  if (line == nullptr) return LineStatus::End;
  out = line;
  std::free(line);
  return LineStatus::Line;
}

// Reads one entry: a line, plus more lines while a bracket is open. Ctrl-C discards the
// entry and returns an empty one. False at end of input.
bool read_entry(std::string& entry) {
  entry.clear();
  LineStatus status = read_line("damo> ", entry);
  if (status == LineStatus::End) return false;
  if (status == LineStatus::Interrupted) return true;
  while (needs_continuation(entry)) {
    std::string line;
    status = read_line("...> ", line);
    if (status == LineStatus::Interrupted) {
      entry.clear();
      return true;
    }
    if (status == LineStatus::End) {
      // The parser reports the unclosed bracket, on a line of its own after the ^D.
      std::cout << std::endl;
      break;
    }
    entry += '\n';
    entry += line;
  }
  return true;
}

// The history file to read and write: path, or "" when path names something other than a
// regular file of at most kMaxHistoryBytes (a device such as /dev/zero would be read without
// end), which gets a warning. A path that does not exist yet is created on the first save.
std::string usable_history_path(const std::string& path) {
  constexpr std::uintmax_t kMaxHistoryBytes = std::uintmax_t{16} << 20;
  if (path.empty()) return path;
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) return path;
  const char* problem = nullptr;
  if (!std::filesystem::is_regular_file(status))
    problem = "is not a regular file";
  else if (std::filesystem::file_size(path, error) > kMaxHistoryBytes)
    problem = "is larger than 16 MiB";
  if (problem == nullptr) return path;
  std::cerr << "damo: the history file " << path << " " << problem
            << ", so no history is kept; set DAMO_HISTORY to a regular file, or to an empty value"
            << std::endl;
  return "";
}

// Writes the history to path, and prints a warning the first time that fails in a session.
void save_history(const std::string& path) {
  static bool reported = false;
  if (path.empty()) return;
  errno = 0;
  if (write_history(path.c_str()) == 0 || reported) return;
  reported = true;
  std::cerr << "damo: cannot save the history to " << path
            << (errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string())
            << "; set DAMO_HISTORY to a writable file, or to an empty value for no history"
            << std::endl;
}

}  // namespace

std::string default_history_path() {
  if (const char* path = std::getenv("DAMO_HISTORY")) return path;
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.damo_history";
  return "";
}

const std::atomic<bool>* repl_stop_flag() { return &stop_calls; }

std::string describe_error(const std::exception& error) {
  if (dynamic_cast<const UserError*>(&error) != nullptr) return error.what();
  if (dynamic_cast<const CallStopped*>(&error) != nullptr)
    return "stopped: the call did not finish, so its outputs were discarded and no shared "
           "variable changed";
  if (dynamic_cast<const InternalError*>(&error) != nullptr)
    return std::string("internal error (a bug in Damo): ") + error.what();
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) return "error: out of memory";
  return std::string("error: ") + error.what();
}

int run_repl(Session& session, const ReplOptions& options) {
  // libedit decodes typed bytes with the character type of the locale. In the C locale each
  // byte of a UTF-8 character acts as an editing key, so the line would lose letters such
  // as 'é'. The language is UTF-8 text, so C.UTF-8 replaces C.
  const char* character_type = std::setlocale(LC_CTYPE, "");
  if (character_type == nullptr || std::strcmp(character_type, "C") == 0 ||
      std::strcmp(character_type, "POSIX") == 0)
    std::setlocale(LC_CTYPE, "C.UTF-8");
  rl_readline_name = "damo";
  rl_getc_function = read_key;
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = " \t\n\"'()[],=+-*/%@<>!:#";
  completion_session = &session;
  stifle_history(kHistoryLength);
  std::string history_path = usable_history_path(options.history_path);
  if (!history_path.empty()) read_history(history_path.c_str());

  struct sigaction handler = {};
  handler.sa_handler = note_interrupt;
  sigemptyset(&handler.sa_mask);
  struct sigaction previous = {};
  sigaction(SIGINT, &handler, &previous);

  bool failed = false;
  std::string entry;
  while (!session.quit_requested() && read_entry(entry)) {
    if (is_blank(entry)) continue;
    add_history(entry.c_str());
    // The history is saved before the entry runs, so that quitting with Ctrl-C keeps it.
    save_history(history_path);
    struct sigaction running = {};
    running.sa_handler = interrupt_running;
    sigemptyset(&running.sa_mask);
    interrupts_while_running = 0;
    stop_calls.store(false, std::memory_order_relaxed);
    sigaction(SIGINT, &running, nullptr);
    try {
      session.run(entry, "<repl>", [](const std::string& text) { std::cout << text << '\n'; });
    } catch (const std::exception& error) {
      std::cout.flush();
      std::cerr << describe_error(error) << std::endl;
      failed = true;
    }
    sigaction(SIGINT, &handler, nullptr);
    std::cout.flush();
  }
  if (!session.quit_requested()) std::cout << '\n';

  sigaction(SIGINT, &previous, nullptr);
  save_history(history_path);
  completion_session = nullptr;
  return failed ? 1 : 0;
}

int run_script(Session& session, const std::string& text, const std::string& source_name,
               std::ostream& out, std::ostream& err) {
  try {
    session.run(text, source_name, [&out](const std::string& value) { out << value << '\n'; });
  } catch (const std::exception& error) {
    out.flush();
    err << describe_error(error) << std::endl;
    return 1;
  }
  out.flush();
  return 0;
}

}  // namespace damo
