#include "damo/runtime/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "damo/runtime/error.h"

namespace damo {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return buffer.str();
}

void write_file_atomically(const std::string& path, std::string_view data) {
  std::random_device device;
  std::string temp = fmt::format("{}.tmp.{}.{:08x}", path, ::getpid(), device());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw UserError(fmt::format("cannot create '{}': {}", temp, std::strerror(errno)));
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw UserError(fmt::format("cannot write '{}': {}", path, std::strerror(saved)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw UserError(fmt::format("cannot flush '{}': {}", path, std::strerror(saved)));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw UserError(fmt::format("cannot rename '{}' to '{}': {}", temp, path, std::strerror(saved)));
  }
}

}  // namespace damo
