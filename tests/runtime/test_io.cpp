// File helpers: read_file errors and the crash safety of write_file_atomically, checked by
// killing a writing child process at random moments.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "damo/runtime/error.h"
#include "damo/runtime/io.h"

using namespace damo;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  fs::path dir = fs::path(DAMO_BINARY_DIR) / "test_tmp" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<std::string> file_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// Contents of version v: 4 MiB of the byte v, so a partial or mixed file is easy to see.
constexpr std::size_t kFileBytes = 4 << 20;

// The version whose complete contents the file holds, or -1 for anything else.
int complete_version(const std::string& path) {
  std::string bytes = read_file(path);
  if (bytes.size() != kFileBytes) return -1;
  for (char c : bytes)
    if (c != bytes[0]) return -1;
  return static_cast<unsigned char>(bytes[0]);
}

}  // namespace

TEST_CASE("read_file names a missing file") {
  try {
    read_file("/nonexistent/damo/file.bin");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) ==
          "cannot open '/nonexistent/damo/file.bin': No such file or directory");
  }
}

TEST_CASE("read_text stops at a NUL byte or the size limit") {
  std::istringstream text("a = 1\nb = 2\n");
  CHECK(read_text(text, "script", 100) == "a = 1\nb = 2\n");
  std::istringstream binary(std::string("ab\0cd", 5));
  CHECK_THROWS_WITH_AS(read_text(binary, "script", 100),
                       "script contains a NUL byte at byte 3, so it is binary data rather than "
                       "text; pass a text file",
                       UserError);
  std::istringstream large(std::string(3 << 20, 'x'));
  CHECK_THROWS_WITH_AS(read_text(large, "script", 2 << 20),
                       "script is larger than 2 MiB, the most that is read as text", UserError);
  // An endless source stops at the first chunk instead of filling memory.
  CHECK_THROWS_WITH_AS(read_text_file("/dev/zero", 1 << 20),
                       "'/dev/zero' contains a NUL byte at byte 1, so it is binary data rather "
                       "than text; pass a text file",
                       UserError);
}

TEST_CASE("write_file_atomically names an unwritable folder") {
  try {
    write_file_atomically("/nonexistent/damo/file.bin", "x");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == "cannot write '/nonexistent/damo/file.bin': cannot create a file in "
                                   "the folder '/nonexistent/damo': No such file or directory");
  }
  // /proc exists, but creating a file there reports a missing file, even for root.
  try {
    write_file_atomically("/proc/damo_file.bin", "x");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == "cannot write '/proc/damo_file.bin': the folder '/proc' exists but "
                                   "does not accept new files (the system reports: No such file or "
                                   "directory); choose another folder");
  }
}

TEST_CASE("write_file_atomically keeps the permissions of a replaced file") {
  std::string dir = fresh_dir("io_mode");
  std::string path = dir + "/private.bin";
  write_file_atomically(path, "old");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomically(path, "new");
  CHECK(read_file(path) == "new");
  CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("write_file_atomically keeps a symbolic link") {
  std::string dir = fresh_dir("io_link");
  std::string target = dir + "/target.bin";
  write_file_atomically(target, "old");
  fs::create_symlink("target.bin", dir + "/link.bin");
  write_file_atomically(dir + "/link.bin", "new");
  CHECK(fs::is_symlink(dir + "/link.bin"));
  CHECK(read_file(target) == "new");
  CHECK(file_names(dir) == std::vector<std::string>{"link.bin", "target.bin"});
}

TEST_CASE("write_file_atomically rejects a loop of links") {
  std::string dir = fresh_dir("io_link_loop");
  fs::create_symlink("b", dir + "/a");
  fs::create_symlink("a", dir + "/b");
  std::string message;
  try {
    write_file_atomically(dir + "/a", "new");
  } catch (const UserError& error) {
    message = error.what();
  }
  CHECK(message == "cannot write '" + dir +
                       "/a': it leads through more than 40 symbolic links, so they form a loop; "
                       "point the link at a file or remove it");
  CHECK(fs::is_symlink(dir + "/a"));
  CHECK(fs::is_symlink(dir + "/b"));
  CHECK(file_names(dir) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("write_file_atomically writes through a pipe") {
  std::string dir = fresh_dir("io_fifo");
  std::string fifo = dir + "/pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });
  write_file_atomically(fifo, "through the pipe");
  reader.join();
  CHECK(received == "through the pipe");
  CHECK(fs::is_fifo(fifo));
}

TEST_CASE("write_file_atomically rejects a folder") {
  std::string dir = fresh_dir("io_folder");
  try {
    write_file_atomically(dir, "x");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == "cannot write '" + dir + "': it is a folder; give a file name");
  }
}

TEST_CASE("write_file_atomically replaces the whole file") {
  std::string dir = fresh_dir("io_replace");
  std::string path = dir + "/data.bin";
  write_file_atomically(path, "first version, longer");
  write_file_atomically(path, "second");
  CHECK(read_file(path) == "second");
  CHECK(file_names(dir) == std::vector<std::string>{"data.bin"});
}

TEST_CASE("write_file_atomically removes orphaned temporaries only") {
  std::string dir = fresh_dir("io_orphans");
  std::string path = dir + "/model.bin";
  // A dead writer's temporary: pid 2^22 + 1 is above the kernel's largest pid (2^22).
  std::string orphan = path + ".tmp.4194305.0badf00d";
  // A live writer's temporary (this process's parent) and files that only look similar.
  std::string live = path + ".tmp." + std::to_string(::getppid()) + ".12345678";
  std::vector<std::string> must_stay = {live, path + ".tmp.4194305.short",
                                        dir + "/other.bin.tmp.4194305.0badf00d",
                                        path + ".tmpx.4194305.0badf00d"};
  for (const std::string& file : must_stay) std::ofstream(file) << "keep";
  std::ofstream(orphan) << "partial";
  write_file_atomically(path, "complete");
  CHECK(read_file(path) == "complete");
  CHECK_FALSE(fs::exists(orphan));
  for (const std::string& file : must_stay) CHECK(fs::exists(file));
}

TEST_CASE("write_file_atomically survives SIGKILL at random moments") {
  std::string dir = fresh_dir("io_kill");
  std::string path = dir + "/target.bin";
  std::vector<std::string> versions;
  for (int v = 0; v < 4; ++v) versions.emplace_back(kFileBytes, static_cast<char>('a' + v));

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 30000);
  int seen_old_or_new = 0;
  int orphans_seen = 0;
  for (int round = 0; round < 25; ++round) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child writes version after version until it is killed.
      try {
        for (std::size_t i = 0;; ++i) write_file_atomically(path, versions[i % versions.size()]);
      } catch (...) {
      }
      ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));

    INFO("round " << round);
    if (fs::exists(path)) {
      int version = complete_version(path);
      CHECK(version >= 'a');
      CHECK(version < 'a' + static_cast<int>(versions.size()));
      ++seen_old_or_new;
    }
    orphans_seen += static_cast<int>(file_names(dir).size()) - (fs::exists(path) ? 1 : 0);

    // The next write removes what the killed child left behind.
    write_file_atomically(path, versions[0]);
    CHECK(complete_version(path) == 'a');
    CHECK(file_names(dir) == std::vector<std::string>{"target.bin"});
    fs::remove(path);
  }
  MESSAGE("complete files found after " << seen_old_or_new << " of 25 kills; " << orphans_seen
                                        << " orphaned temporaries removed");
  CHECK(seen_old_or_new > 0);
}

TEST_CASE("write_file_atomically to a redirected stdout keeps the order") {
  // A child process with stdout redirected to a file prints buffered text, writes through
  // /dev/stdout and a link to it, then prints more: the file gets all of it, in that order.
  std::string dir = fresh_dir("io_stdout");
  std::string out = dir + "/out.txt";
  fs::create_symlink("/dev/stdout", dir + "/link");
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (std::freopen(out.c_str(), "w", stdout) == nullptr) ::_exit(2);
    std::printf("before\n");
    write_file_atomically("/dev/stdout", "middle\n");
    write_file_atomically(dir + "/link", "through the link\n");
    std::printf("after\n");
    std::fflush(stdout);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_file(out) == "before\nmiddle\nthrough the link\nafter\n");
  CHECK(fs::is_symlink(dir + "/link"));
}
