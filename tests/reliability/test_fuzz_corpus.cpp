// Replays every input stored under fuzz/<name>/corpus through its harness, so that the seed
// inputs and every failure the fuzzers once found run in the ordinary test suite, with or
// without libFuzzer.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness.h"

namespace fs = std::filesystem;

namespace {

using Harness = std::string (*)(const std::uint8_t*, std::size_t);

std::vector<fs::path> corpus_files(const std::string& name) {
  std::vector<fs::path> files;
  fs::path dir = fs::path(DAMO_SOURCE_DIR) / "fuzz" / name / "corpus";
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Runs harness on every corpus file of name; returns how many files it read.
std::size_t replay(const std::string& name, Harness harness) {
  std::vector<fs::path> files = corpus_files(name);
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(file.string());
    CHECK(harness(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == "");
  }
  return files.size();
}

}  // namespace

TEST_CASE("fuzz corpus of the csv reader") { CHECK(replay("csv", damo::fuzz::csv_reader) >= 10); }

TEST_CASE("fuzz corpus of the model reader") {
  CHECK(replay("model", damo::fuzz::model_reader) >= 4);
}

TEST_CASE("fuzz corpus of the expression parser") {
  CHECK(replay("parser", damo::fuzz::expression_parser) >= 10);
}

TEST_CASE("fuzz corpus of the jit differential") {
  CHECK(replay("jit_diff", damo::fuzz::jit_differential) >= 4);
}
