// File helpers: whole-file reads and crash-safe writes through a temporary file and rename.
#include "damo/runtime/io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "damo/runtime/error.h"
#include "damo/runtime/log.h"

namespace damo {

namespace {

// Temporary files are named "<target>.tmp.<pid>.<8 hex digits>".
constexpr std::string_view kTempInfix = ".tmp.";

// The pid in the name of a temporary of target, or -1 when name is not one.
pid_t temporary_owner(std::string_view name, std::string_view target) {
  if (!name.starts_with(target) || name.substr(target.size()).find(kTempInfix) != 0) return -1;
  std::string_view rest = name.substr(target.size() + kTempInfix.size());
  std::size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string_view::npos || rest.size() - dot - 1 != 8) return -1;
  pid_t pid = 0;
  for (char c : rest.substr(0, dot)) {
    if (c < '0' || c > '9' || pid > 100'000'000) return -1;
    pid = pid * 10 + (c - '0');
  }
  for (char c : rest.substr(dot + 1))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return -1;
  return pid;
}

// Removes temporaries of path that a killed writer left behind. A temporary is removed only
// when no process with its pid runs here and no writer holds its lock, so a live writer's
// file is never touched. Failures are logged and ignored: a leftover file costs only space.
void remove_orphaned_temporaries(const std::string& path) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string name = target.filename().string();
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    pid_t owner = temporary_owner(entry.path().filename().string(), name);
    if (owner <= 0 || owner == ::getpid()) continue;
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code removal;
      std::filesystem::remove(entry.path(), removal);
      if (!removal) log_at(1, "io: removed orphaned temporary '{}'", entry.path().string());
    }
    ::close(fd);
  }
}

// Flushes the rename itself to disk. This is best effort: some file systems cannot open or
// sync a folder, and the new file is complete either way.
void sync_parent_directory(const std::string& path) {
  std::filesystem::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  // An ifstream opens a folder without error and then reads nothing from it.
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(EISDIR)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return buffer.str();
}

std::string read_text(std::istream& in, const std::string& source, std::size_t max_bytes) {
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    std::string_view part(chunk, static_cast<std::size_t>(in.gcount()));
    if (std::size_t nul = part.find('\0'); nul != std::string_view::npos)
      throw UserError(fmt::format("{} contains a NUL byte at byte {}, so it is binary data rather "
                                  "than text; pass a text file",
                                  source, text.size() + nul + 1));
    if (text.size() + part.size() > max_bytes)
      throw UserError(fmt::format("{} is larger than {} MiB, the most that is read as text",
                                  source, max_bytes >> 20));
    text += part;
  }
  if (in.bad()) throw UserError(fmt::format("cannot read {}: {}", source, std::strerror(errno)));
  return text;
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  if (path == "-") return read_text(std::cin, "standard input", max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(EISDIR)));
  return read_text(in, fmt::format("'{}'", path), max_bytes);
}

namespace {

// Writes all of data to fd; returns 0, or the errno of the failed write.
int write_all(int fd, std::string_view data) {
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    written += static_cast<std::size_t>(n);
  }
  return 0;
}

// The descriptor that /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names, or -1.
int own_descriptor(std::string_view path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (std::string_view prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    if (!path.starts_with(prefix) || path.size() == prefix.size() || path.size() > prefix.size() + 6) continue;
    int fd = 0;
    for (char c : path.substr(prefix.size())) {
      if (c < '0' || c > '9') return -1;
      fd = fd * 10 + (c - '0');
    }
    return fd;
  }
  return -1;
}

// Writes through a path that is not a regular file, such as a pipe or a terminal.
void write_in_place(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(fmt::format("cannot open '{}' for writing: {}", path, std::strerror(errno)));
  int failure = write_all(fd, data);
  ::close(fd);
  if (failure != 0) throw UserError(fmt::format("cannot write '{}': {}", path, std::strerror(failure)));
}

// The end of a chain of symbolic links. path is the last hop; a link to a file that does
// not exist yet leads to that new file's path. descriptor is the descriptor of this
// process that a hop names (/dev/stdout, /proc/self/fd/1), or -1.
struct LinkTarget {
  std::string path;
  int descriptor = -1;
};

LinkTarget follow_links(const std::string& path) {
  // Linux stops resolving a path after 40 links (ELOOP), and so does this.
  constexpr int kMaxHops = 40;
  std::filesystem::path current(path);
  std::error_code error;
  for (int hops = 0; hops <= kMaxHops; ++hops) {
    if (int own = own_descriptor(current.string()); own >= 0) return {current.string(), own};
    if (!std::filesystem::is_symlink(current, error)) return {current.string(), -1};
    if (hops == kMaxHops) break;
    std::filesystem::path target = std::filesystem::read_symlink(current, error);
    if (error) return {current.string(), -1};
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  throw UserError(fmt::format("cannot write '{}': it leads through more than {} symbolic links, "
                              "so they form a loop; point the link at a file or remove it",
                              path, kMaxHops));
}

}  // namespace

void write_file_atomically(const std::string& given_path, std::string_view data) {
  LinkTarget target = follow_links(given_path);
  // A descriptor of this process, such as stdout redirected to a file, is written directly
  // after the program's buffered output, so that both land in order. Opening it anew would
  // start at offset 0 of the file, and replacing the file would leave the descriptor
  // writing to a removed one.
  if (target.descriptor >= 0) {
    std::fflush(nullptr);
    if (int failure = write_all(target.descriptor, data); failure != 0)
      throw UserError(fmt::format("cannot write '{}': {}", given_path, std::strerror(failure)));
    return;
  }
  struct stat status {};
  bool replacing = ::stat(given_path.c_str(), &status) == 0;
  if (replacing) {
    if (S_ISDIR(status.st_mode))
      throw UserError(fmt::format("cannot write '{}': it is a folder; give a file name", given_path));
    if (!S_ISREG(status.st_mode)) return write_in_place(given_path, data);
    // Replacing the file through its folder would get past its own write protection.
    if (::access(given_path.c_str(), W_OK) != 0 && errno == EACCES)
      throw UserError(fmt::format("cannot write '{}': the file is read-only for this user; make it "
                                  "writable or choose another path", given_path));
  }
  const std::string& path = target.path;
  remove_orphaned_temporaries(path);

  std::random_device device;
  std::string temp = fmt::format("{}{}{}.{:08x}", path, kTempInfix, ::getpid(), device());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int saved = errno;
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::string folder = parent.empty() ? "." : parent.string();
    // Special file systems such as /proc report a missing file for a folder that exists.
    std::error_code error;
    if (saved == ENOENT && std::filesystem::is_directory(folder, error))
      throw UserError(fmt::format("cannot write '{}': the folder '{}' exists but does not accept new "
                                  "files (the system reports: {}); choose another folder",
                                  given_path, folder, std::strerror(saved)));
    throw UserError(fmt::format("cannot write '{}': cannot create a file in the folder '{}': {}", given_path,
                                folder, std::strerror(saved)));
  }
  // The lock marks the temporary as in use for remove_orphaned_temporaries() in processes
  // that cannot see this pid. The kernel releases it when fd closes or the process dies.
  ::flock(fd, LOCK_EX | LOCK_NB);
  // A replaced file keeps its permissions (a private 0600 model stays private) and, where
  // this process may set it, its owner.
  if (replacing) {
    ::fchmod(fd, status.st_mode & 07777);
    if (::fchown(fd, status.st_uid, status.st_gid) != 0) errno = 0;
  }
  if (int failure = write_all(fd, data); failure != 0) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw UserError(fmt::format("cannot write '{}': {}", given_path, std::strerror(failure)));
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw UserError(fmt::format("cannot flush '{}': {}", given_path, std::strerror(saved)));
  }
  // The rename happens while the lock is held, so no other process removes the file first.
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw UserError(fmt::format("cannot write '{}': renaming the finished temporary file onto it "
                                "failed: {}", given_path, std::strerror(saved)));
  }
  ::close(fd);
  sync_parent_directory(path);
}

}  // namespace damo
