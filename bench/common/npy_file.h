// A minimal .npy reader for the C++ reference peer, which uses no Damo code. It reads the
// little-endian float32 and int32 C-order arrays that Damo's prepare step writes.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// The contents of one .npy file.
template <class T>
struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<T> values;

  std::int64_t dim(std::size_t axis) const { return axis < shape.size() ? shape[axis] : 1; }
};

namespace detail {

inline std::vector<std::int64_t> parse_shape(const std::string& header, const std::string& path) {
  std::size_t open = header.find("'shape': (");
  if (open == std::string::npos) throw std::runtime_error(path + ": no shape in the header");
  std::size_t close = header.find(')', open);
  std::string dims = header.substr(open + 10, close - open - 10);
  std::vector<std::int64_t> shape;
  std::size_t position = 0;
  while (position < dims.size()) {
    std::size_t comma = dims.find(',', position);
    if (comma == std::string::npos) comma = dims.size();
    std::string item = dims.substr(position, comma - position);
    if (item.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(item));
    position = comma + 1;
  }
  return shape;
}

}  // namespace detail

/// Reads path, which must hold dtype descr ('<f4' or '<i4') in C order.
template <class T>
NpyArray<T> read_npy(const std::string& path, const std::string& descr) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  char preamble[10];
  file.read(preamble, sizeof preamble);
  if (!file || std::memcmp(preamble, "\x93NUMPY", 6) != 0)
    throw std::runtime_error(path + " is not a .npy file");

  // Version 1.0 stores the header length in 2 bytes, versions 2.0 and 3.0 in 4.
  std::uint32_t header_length =
      static_cast<unsigned char>(preamble[8]) | static_cast<unsigned char>(preamble[9]) << 8;
  if (preamble[6] >= 2) {
    char extra[2];
    file.read(extra, 2);
    header_length |= static_cast<std::uint32_t>(static_cast<unsigned char>(extra[0])) << 16 |
                     static_cast<std::uint32_t>(static_cast<unsigned char>(extra[1])) << 24;
  }
  std::string header(header_length, ' ');
  file.read(header.data(), header_length);
  if (header.find("'" + descr + "'") == std::string::npos)
    throw std::runtime_error(path + " does not hold " + descr + " values");
  if (header.find("'fortran_order': True") != std::string::npos)
    throw std::runtime_error(path + " is in Fortran order");

  NpyArray<T> array;
  array.shape = detail::parse_shape(header, path);
  std::int64_t count = 1;
  for (std::int64_t d : array.shape) count *= d;
  array.values.resize(static_cast<std::size_t>(count));
  file.read(reinterpret_cast<char*>(array.values.data()), count * std::int64_t{sizeof(T)});
  if (!file) throw std::runtime_error(path + " is truncated");
  return array;
}

inline NpyArray<float> read_npy_f32(const std::string& path) {
  return read_npy<float>(path, "<f4");
}
inline NpyArray<std::int32_t> read_npy_i32(const std::string& path) {
  return read_npy<std::int32_t>(path, "<i4");
}

}  // namespace bench
