// Tests of the interactive REPL: build/tools/damo on a pseudo-terminal, so that libedit's
// prompts, continuation lines, tab completion, Ctrl-C and the history file are exercised.
#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "frontend_test_util.h"

namespace {

// A damo REPL running on a pseudo-terminal.
class Terminal {
 public:
  explicit Terminal(const std::string& history_path, const char* backend = "--backend=reference") {
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("DAMO_HISTORY", history_path.c_str(), 1);
      setenv("TERM", "dumb", 1);
      std::string cache = std::string("DAMO_CACHE_DIR=") + DAMO_BINARY_DIR + "/tests/repl_jit_cache";
      putenv(cache.data());
      std::string damo = std::string(DAMO_BINARY_DIR) + "/tools/damo";
      execl(damo.c_str(), "damo", backend, static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  bool started() const { return pid_ > 0; }

  // Types text once libedit has switched the terminal out of canonical mode. Before that
  // the terminal driver itself would handle the keys: a tab would not complete, and Ctrl-C
  // would flush the typed line.
  void type(const std::string& text) {
    wait_for_raw_mode();
    CHECK(write(fd_, text.data(), text.size()) > 0);
  }

  // Types text at once, as keys pressed while an entry runs and the terminal is in
  // canonical mode, where Ctrl-C becomes SIGINT.
  void press(const std::string& text) { CHECK(write(fd_, text.data(), text.size()) > 0); }

  // Waits up to 10 seconds until libedit has handed the terminal back in canonical mode,
  // which it does once it has read a line.
  void wait_for_canonical_mode() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    termios settings = {};
    while (tcgetattr(fd_, &settings) == 0 && (settings.c_lflag & ICANON) == 0 &&
           std::chrono::steady_clock::now() < deadline)
      usleep(1000);
  }

  // Waits up to 10 seconds until the terminal leaves canonical mode, which libedit does
  // while it reads a line; the master side reports the terminal's settings.
  void wait_for_raw_mode() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    termios settings = {};
    while (tcgetattr(fd_, &settings) == 0 && (settings.c_lflag & ICANON) != 0 &&
           std::chrono::steady_clock::now() < deadline)
      usleep(1000);
  }

  // Reads output until it contains expected or 10 seconds pass; true when it appeared.
  bool wait_for(const std::string& expected) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (output_.find(expected, consumed_) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) return false;
      output_.append(buffer, static_cast<std::size_t>(n));
    }
    consumed_ = output_.find(expected, consumed_) + expected.size();
    return true;
  }

  // The exit status once the program ends, or -1 after 10 seconds.
  int exit_status() {
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      // Drain the terminal so that the program never blocks on a full buffer.
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buffer[4096];
        if (read(fd_, buffer, sizeof buffer) <= 0) usleep(10000);
      }
    }
    return -1;
  }

  const std::string& output() const { return output_; }

  // Types line, then waits for expected and the next prompt; true when both appeared.
  bool enter(const std::string& line, const std::string& expected) {
    type(line + "\n");
    return wait_for(expected) && wait_for("damo> ");
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  std::string output_;
  std::size_t consumed_ = 0;
};

}  // namespace

TEST_CASE("repl session on a terminal") {
  std::string history =
      std::string(DAMO_BINARY_DIR) + "/tests/repl_history_" + std::to_string(getpid());
  std::remove(history.c_str());
  Terminal terminal(history);
  REQUIRE(terminal.started());
  CAPTURE(terminal.output());

  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("x = vector(f32)\n");
  REQUIRE(terminal.wait_for("damo> "));

  // Tab completes "softm" to the common prefix "softmax".
  terminal.type("softm\t");
  terminal.type("(x)\n");
  CHECK(terminal.wait_for("softmax(x, axis=0) : f32 (x_0,)"));
  REQUIRE(terminal.wait_for("damo> "));

  // An open bracket continues the entry on the next line.
  terminal.type("[1,\n");
  CHECK(terminal.wait_for("...> "));
  terminal.type("2] * 2\n");
  CHECK(terminal.wait_for("[2, 4] : i64 (2,)"));
  REQUIRE(terminal.wait_for("damo> "));

  // Ctrl-C discards the entry being typed.
  // Ctrl-C comes after libedit has echoed the entry, as a person would press it.
  terminal.type("1 + ");
  REQUIRE(terminal.wait_for("1 + "));
  terminal.type("\x03");
  REQUIRE(terminal.wait_for("damo> "));

  // UTF-8 text typed in a string reaches the statement whole, in the C locale too.
  REQUIRE(terminal.enter("s = 'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93'", ""));
  CHECK(terminal.enter("s", "\"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93\""));

  // An error is reported, and the REPL keeps going.
  terminal.type("softmx(x)\n");
  CHECK(terminal.wait_for("<repl>:1:1: unknown function 'softmx'; did you mean 'softmax'?"));
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("3 * 3\n");
  CHECK(terminal.wait_for("9 : i64 ()"));
  REQUIRE(terminal.wait_for("damo> "));

  terminal.type(":quit\n");
  // An entry failed, so the exit status is 1.
  CHECK(terminal.exit_status() == 1);

  std::string saved = damo::testing::read_text(history);
  CHECK(saved.find("softmax(x)") != std::string::npos);
  CHECK(saved.find("3\\040*\\0403") != std::string::npos);
  std::remove(history.c_str());
}

TEST_CASE("repl end of input exits cleanly") {
  std::string history =
      std::string(DAMO_BINARY_DIR) + "/tests/repl_history_eof_" + std::to_string(getpid());
  Terminal terminal(history);
  REQUIRE(terminal.started());
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("1 + 1\n");
  CHECK(terminal.wait_for("2 : i64 ()"));
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("\x04");
  CHECK(terminal.exit_status() == 0);
  std::remove(history.c_str());
}

TEST_CASE("repl ctrl-c during a long entry") {
  std::string history =
      std::string(DAMO_BINARY_DIR) + "/tests/repl_history_running_" + std::to_string(getpid());
  std::remove(history.c_str());
  Terminal terminal(history);
  REQUIRE(terminal.started());
  CAPTURE(terminal.output());

  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("X = vector(f32, [n])\n");
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("f = function([X], sum(argsort(X)))\n");
  REQUIRE(terminal.wait_for("damo> "));
  // The reference backend sorts 30 million values for seconds, longer than this test waits,
  // and reads the stop flag only before and after the sort, so the first Ctrl-C cannot
  // stop it.
  terminal.type("f(rand(f32, [30000000]))\n");
  terminal.wait_for_canonical_mode();
  usleep(200000);
  terminal.press("\x03");
  CHECK(terminal.wait_for("Ctrl-C: stopping the running call; press Ctrl-C again to quit damo"));
  terminal.press("\x03");
  CHECK(terminal.exit_status() == 128 + SIGINT);
  // The history was saved before the entry ran.
  CHECK(damo::testing::read_text(history).find("3000") != std::string::npos);
  std::remove(history.c_str());
}

TEST_CASE("repl ctrl-c stops a compiled call") {
  std::string history =
      std::string(DAMO_BINARY_DIR) + "/tests/repl_history_stopped_" + std::to_string(getpid());
  std::remove(history.c_str());
  Terminal terminal(history, "--backend=jit");
  REQUIRE(terminal.started());
  CAPTURE(terminal.output());

  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("x = vector(f32, [n])\n");
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("w = shared(\"w\", [1.0, 2.0])\n");
  REQUIRE(terminal.wait_for("damo> "));
  // Row sums of sin(x_i * x_j): 1e12 sines for 1,000,000 values, several minutes of work.
  terminal.type("f = function([x], sum(sin(x[:, none] * x[none, :]), axis=1), "
                "updates=[w: w + 1])\n");
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("f(ones(f32, [1000000]))\n");
  terminal.wait_for_canonical_mode();
  usleep(300000);
  terminal.press("\x03");
  CHECK(terminal.wait_for("Ctrl-C: stopping the running call"));
  CHECK(terminal.wait_for("stopped: the call did not finish, so its outputs were discarded and no "
                          "shared variable changed"));
  REQUIRE(terminal.wait_for("damo> "));
  CHECK(terminal.enter("w", "[1., 2.] : f32 (2,)"));
  REQUIRE(terminal.enter("f([0.5, 1.0])", ""));
  CHECK(terminal.enter("w", "[2., 3.] : f32 (2,)"));
  terminal.type(":quit\n");
  // The stopped entry counts as a failed one.
  CHECK(terminal.exit_status() == 1);
  std::remove(history.c_str());
}

TEST_CASE("repl unwritable history file") {
  // /proc takes no new files, even for root.
  Terminal terminal("/proc/damo_no_such_folder/history");
  REQUIRE(terminal.started());
  CAPTURE(terminal.output());
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("1 + 1\n");
  CHECK(terminal.wait_for("damo: cannot save the history to /proc/damo_no_such_folder/history"));
  CHECK(terminal.wait_for("2 : i64 ()"));
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type(":quit\n");
  CHECK(terminal.exit_status() == 0);
}

TEST_CASE("repl history that is a device") {
  // /dev/zero would be read without end: the REPL warns and keeps no history.
  Terminal terminal("/dev/zero");
  REQUIRE(terminal.started());
  CAPTURE(terminal.output());
  CHECK(terminal.wait_for("damo: the history file /dev/zero is not a regular file, so no history is kept"));
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type("2 + 2\n");
  CHECK(terminal.wait_for("4 : i64 ()"));
  REQUIRE(terminal.wait_for("damo> "));
  terminal.type(":quit\n");
  CHECK(terminal.exit_status() == 0);
}
