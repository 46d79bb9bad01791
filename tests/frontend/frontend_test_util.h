// Helpers shared by the frontend tests: running statements in a session, catching located
// errors, and running the damo program as a subprocess.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "damo/frontend/session.h"

namespace damo::testing {

/// Session options that compile with the reference backend, so that a test depends on the
/// JIT only when it sets that backend.
inline SessionOptions reference_options(bool json = false) {
  SessionOptions options;
  options.json = json;
  options.compile.backend = Backend::Reference;
  return options;
}

/// Output lines of running code in a fresh session.
inline std::vector<std::string> run(const std::string& code,
                                    SessionOptions options = reference_options()) {
  Session session(options);
  return session.run(code);
}

/// Runs code in a fresh session and joins its output with newlines.
inline std::string output(const std::string& code, SessionOptions options = reference_options()) {
  std::string out;
  for (const std::string& line : run(code, options)) out += (out.empty() ? "" : "\n") + line;
  return out;
}

/// The located UserError that running code throws, or an empty error when it throws none.
struct CaughtError {
  bool thrown = false;
  std::string message;  // without location
  std::string what;     // with location, source line and caret
  int line = 0;
  int column = 0;
};

inline CaughtError error_of(const std::string& code, SessionOptions options = reference_options()) {
  CaughtError caught;
  Session session(options);
  try {
    session.run(code, "<test>");
  } catch (const UserError& e) {
    caught.thrown = true;
    caught.message = e.message();
    caught.what = e.what();
    caught.line = e.location().line;
    caught.column = e.location().column;
  }
  return caught;
}

/// What a run of the damo program printed and returned.
struct ProgramResult {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Runs build/tools/damo with arguments, standard input read from stdin_text and the shell
/// assignments in environment (such as "DAMO_LOG=1"), in a scratch folder, and returns its
/// exit status and output.
inline ProgramResult run_damo(const std::vector<std::string>& arguments,
                              const std::string& stdin_text = "", const std::string& environment = "") {
  static int counter = 0;
  std::string base = std::string(DAMO_BINARY_DIR) + "/tests/frontend_scratch";
  std::system(("mkdir -p " + shell_quote(base)).c_str());
  // The process id keeps parallel test processes apart.
  std::string prefix = base + "/run" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  {
    std::ofstream in(prefix + ".in", std::ios::binary);
    in << stdin_text;
  }
  std::string command = shell_quote(std::string(DAMO_BINARY_DIR) + "/tools/damo");
  for (const std::string& argument : arguments)
    command = fmt::format("{} {}", command, shell_quote(argument));
  // A private history and cache, so that tests never touch the user's files.
  command = fmt::format("cd {} && DAMO_HISTORY={} DAMO_CACHE_DIR={} {} {} < {} > {} 2> {}",
                        shell_quote(base), shell_quote(prefix + ".history"),
                        shell_quote(base + "/cache"), environment, command, shell_quote(prefix + ".in"),
                        shell_quote(prefix + ".out"), shell_quote(prefix + ".err"));

  ProgramResult result;
  int raw = std::system(command.c_str());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  result.out = read_text(prefix + ".out");
  result.err = read_text(prefix + ".err");
  return result;
}

}  // namespace damo::testing
