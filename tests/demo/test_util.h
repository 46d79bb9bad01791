// Helpers shared by the damo-segment tests: error messages, shipped data paths and
// temporary files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "damo/runtime/error.h"

namespace segment_test {

/// Runs fn and returns the message of the damo::Error it throws, or "" when it throws none.
template <class Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const damo::Error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// Path of a table shipped in the repository's data folder.
inline std::string shipped_data(const std::string& file) {
  return std::string(DAMO_SOURCE_DIR) + "/data/" + file;
}

/// Returns the path of the mall customers table, which is not shipped because its license
/// is unclear: $DAMO_MALL_CUSTOMERS_CSV, else the copy in the project's shared data folder.
inline std::string mall_customers_path() {
  if (const char* path = std::getenv("DAMO_MALL_CUSTOMERS_CSV")) return path;
  return "/work/shared/data/mall_customers.csv";
}

inline bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

/// Creates a fresh, empty folder under the build tree for one test's files.
inline std::string temp_dir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(DAMO_BINARY_DIR) / "test_tmp" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace segment_test
