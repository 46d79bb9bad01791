// Damaged on-disk compile cache entries: each kind of damage makes the compile rebuild the
// entry, and the rebuilt function computes the right values.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "child_process.h"
#include "damo/frontend/function.h"
#include "damo/graph/ops.h"
#include "damo/runtime/log.h"

using namespace damo;
namespace fs = std::filesystem;

namespace {

std::string fresh_cache(const std::string& name) {
  fs::path dir = fs::path(DAMO_BINARY_DIR) / "test_tmp" / name;
  fs::remove_all(dir);
  return dir.string();
}

Function build(Graph& g, const std::string& cache_dir) {
  Expr x = g.input("x", DType::Float32, {"n"});
  CompileOptions options;
  options.cache_dir = cache_dir;
  return compile({x}, {x * x + 2.0}, {}, options);
}

fs::path only_entry(const std::string& dir) {
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir)) entries.push_back(entry.path());
  REQUIRE(entries.size() == 1);
  return entries[0];
}

}  // namespace

TEST_CASE("compile cache rebuilds every kind of damaged entry") {
  const std::pair<const char*, std::function<void(const fs::path&)>> damages[] = {
      {"empty file",
       [](const fs::path& p) { std::ofstream(p, std::ios::binary | std::ios::trunc).flush(); }},
      {"header only", [](const fs::path& p) { fs::resize_file(p, 40); }},
      {"truncated object", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) - 100); }},
      {"wrong magic",
       [](const fs::path& p) {
         std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
         f.write("XXXX", 4);
       }},
      {"garbage bytes",
       [](const fs::path& p) {
         std::ofstream(p, std::ios::binary | std::ios::trunc) << std::string(5000, '\x5a');
       }},
      {"extra bytes",
       [](const fs::path& p) { std::ofstream(p, std::ios::binary | std::ios::app) << "tail"; }},
      // Reading a FIFO would wait for a writer that never comes.
      {"FIFO",
       [](const fs::path& p) {
         fs::remove(p);
         REQUIRE(::mkfifo(p.c_str(), 0644) == 0);
       }},
      {"link to itself",
       [](const fs::path& p) {
         fs::remove(p);
         fs::create_symlink(p.filename(), p);
       }},
      // An endless device must not be read into memory.
      {"link to /dev/zero",
       [](const fs::path& p) {
         fs::remove(p);
         fs::create_symlink("/dev/zero", p);
       }},
      {"larger than any entry (sparse)", [](const fs::path& p) { fs::resize_file(p, std::uintmax_t{1} << 30); }},
  };
  for (const auto& [what, damage] : damages) {
    INFO(what);
    std::string dir = fresh_cache("cache_damage");
    Graph g;
    {
      Function cold = build(g, dir);
      CHECK_FALSE(cold.stats().cache_hit);
    }
    damage(only_entry(dir));
    Function rebuilt = build(g, dir);
    CHECK_FALSE(rebuilt.stats().cache_hit);
    std::vector<Tensor> out = rebuilt({Tensor::from_list({3, -1})});
    CHECK(out[0].get_double(0) == 11.0);
    CHECK(out[0].get_double(1) == 3.0);
    rebuilt = Function();
    Function warm = build(g, dir);
    CHECK(warm.stats().cache_hit);
    fs::remove_all(dir);
  }
}

TEST_CASE("compile cache folder that cannot be created") {
  std::string parent = fresh_cache("cache_blocked");
  fs::create_directories(parent);
  std::string blocker = parent + "/file";
  std::ofstream(blocker) << "not a folder";
  Graph g;
  Function f = build(g, blocker + "/cache");
  CHECK_FALSE(f.stats().cache_hit);
  CHECK(f({Tensor::from_list({1})})[0].get_double(0) == 3.0);
  // A file named as the folder itself, and a link that loops.
  f = Function();
  Function on_file = build(g, blocker);
  CHECK_FALSE(on_file.stats().cache_hit);
  CHECK(on_file({Tensor::from_list({2})})[0].get_double(0) == 6.0);
  on_file = Function();
  std::string loop = parent + "/loop";
  fs::create_symlink("loop", loop);
  Function on_loop = build(g, loop);
  CHECK_FALSE(on_loop.stats().cache_hit);
  CHECK(on_loop({Tensor::from_list({4})})[0].get_double(0) == 18.0);
  fs::remove_all(parent);
}

TEST_CASE("compile cache warning names the setting to change") {
  // The folder came from CompileOptions::cache_dir, so DAMO_CACHE_DIR would not help.
  std::string parent = fresh_cache("cache_setting");
  fs::create_directories(parent);
  std::string blocker = parent + "/file";
  std::ofstream(blocker) << "not a folder";
  std::string logged = damo::testing::text_from_child([&] {
    set_log_level(1);
    std::FILE* file = std::tmpfile();
    ::dup2(::fileno(file), STDERR_FILENO);
    Graph g;
    build(g, blocker + "/cache");
    std::fflush(stderr);
    std::rewind(file);
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, n);
    return text;
  });
  INFO(logged);
  CHECK(logged.find("as the compile cache folder") != std::string::npos);
  CHECK(logged.find("(set CompileOptions::cache_dir to a writable folder)") != std::string::npos);
  fs::remove_all(parent);
}

TEST_CASE("compile cache does not create a missing home folder") {
  std::string parent = fresh_cache("cache_home");
  std::string home = parent + "/missing-home";
  std::string outcome = damo::testing::text_from_child([&] {
    ::unsetenv("DAMO_CACHE_DIR");
    ::unsetenv("XDG_CACHE_HOME");
    ::setenv("HOME", home.c_str(), 1);
    Graph g;
    Function f = build(g, "");
    double value = f({Tensor::from_list({3})})[0].get_double(0);
    return fmt::format("{} {}", value, fs::exists(home) ? "created" : "absent");
  });
  CHECK(outcome == "11 absent");
  fs::remove_all(parent);
}

TEST_CASE("compile cache folder that cannot be read") {
  std::string dir = fresh_cache("cache_unreadable");
  Graph g;
  { Function cold = build(g, dir); }
  fs::permissions(dir, fs::perms::none);
  // As root the permissions change nothing, so the check is that the compile still works.
  Function f = build(g, dir);
  CHECK(f({Tensor::from_list({1})})[0].get_double(0) == 3.0);
  fs::permissions(dir, fs::perms::owner_all);
  fs::remove_all(dir);
}

namespace {

// Compiles the test function three times as the calling user: once into an empty cache, once
// after its entry was made write-only, and once more. Returns "" when the unreadable entry
// was replaced by a readable one that the third compile read, else what went wrong.
std::string replace_unreadable_entry(const std::string& dir) {
  {
    Graph g;
    if (build(g, dir).stats().cache_hit) return "the first compile hit the cache";
  }
  fs::path entry = only_entry(dir);
  fs::permissions(entry, fs::perms::owner_write);
  {
    Graph g;
    Function again = build(g, dir);
    if (again.stats().cache_hit) return "the write-only entry was read";
    if (again({Tensor::from_list({2})})[0].get_double(0) != 6.0) return "wrong value";
  }
  if ((fs::status(entry).permissions() & fs::perms::owner_read) == fs::perms::none)
    return "the replaced entry is still unreadable";
  Graph g;
  if (!build(g, dir).stats().cache_hit) return "the replaced entry was not read";
  return "";
}

}  // namespace

TEST_CASE("compile cache entry that cannot be read") {
  std::string dir = fresh_cache("cache_unreadable_entry");
  fs::create_directories(dir);
  if (::geteuid() != 0) {
    CHECK(replace_unreadable_entry(dir) == "");
  } else {
    // Root reads any file, so a child process runs as the unprivileged user 65534.
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    std::string problem = damo::testing::text_from_child([&] {
      return ::setgid(65534) == 0 && ::setuid(65534) == 0 ? replace_unreadable_entry(dir)
                                                          : std::string("cannot become user 65534");
    });
    CHECK(problem == "");
  }
  fs::remove_all(dir);
}
