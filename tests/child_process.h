// Runs part of a test in a forked child process, for checks that change the process itself
// (its user, its memory limit) or that may end it.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace damo::testing {

/// Runs body in a forked child process and returns the text that body returned there, or
/// "child ended with status N" when the child did not exit normally.
inline std::string text_from_child(const std::function<std::string()>& body) {
  int pipe_ends[2];
  REQUIRE(::pipe(pipe_ends) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_ends[0]);
    std::string text = body();
    ssize_t written = ::write(pipe_ends[1], text.data(), text.size());
    ::_exit(written == static_cast<ssize_t>(text.size()) ? 0 : 1);
  }

  ::close(pipe_ends[1]);
  std::string text;
  char buffer[512];
  for (ssize_t count; (count = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;)
    text.append(buffer, static_cast<std::size_t>(count));
  ::close(pipe_ends[0]);

  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fmt::format("child ended with status {}", status);
  return text;
}

}  // namespace damo::testing
