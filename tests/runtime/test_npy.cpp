// Tests of the .npy reader and writer: round trips, files assembled byte by byte in the
// layout NumPy writes (versions 1.0, 2.0 and 3.0, big-endian, Fortran order), and the
// errors for damaged files.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <thread>
#include <string>

#include "damo/runtime/io.h"
#include "damo/runtime/npy.h"

using namespace damo;

namespace {

constexpr DType kDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                             DType::Float64};

// The message of the UserError that parse_npy(bytes, "test.npy") throws, or "<no error>".
std::string npy_error(const std::string& bytes) {
  try {
    parse_npy(bytes, "test.npy");
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

// A .npy file of the given version with header dict (padded with spaces and a newline to a
// multiple of 64 bytes, as NumPy does) followed by data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';

  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  std::size_t length_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < length_bytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

// Bytes written as hexadecimal pairs, "3ff0" -> "\x3f\xf0".
std::string hex_bytes(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// A tensor of dtype and shape whose element i is a distinct value that survives the dtype.
Tensor counting_tensor(DType dtype, const Dims& shape) {
  Tensor t(dtype, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    double value = dtype == DType::Bool ? (i % 3 == 0) : (i % 2 == 0 ? 1 : -1) * (i + 0.5);
    if (is_integer(dtype)) value = (i % 2 == 0 ? 1 : -1) * i * 1000;
    t.set_double(i, value);
  }
  return t;
}

std::string temp_path(const std::string& name) {
  return fmt::format("{}/tests/npy_test_{}.npy", DAMO_BINARY_DIR, name);
}

}  // namespace

TEST_CASE("npy round trip of every dtype and shape") {
  const Dims shapes[] = {{}, {0}, {2, 0, 3}, {1}, {5}, {2, 3}, {2, 3, 4}};
  for (DType dtype : kDTypes) {
    for (const Dims& shape : shapes) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(dims_to_string(shape));
      Tensor original = counting_tensor(dtype, shape);
      std::string bytes = serialize_npy(original);
      CHECK(bytes.size() == 128 + original.nbytes());
      CHECK(bytes[127] == '\n');
      Tensor loaded = parse_npy(bytes);
      CHECK(loaded.dtype() == dtype);
      CHECK(loaded.shape() == shape);
      CHECK(loaded.bitwise_equals(original));
    }
  }
}

TEST_CASE("npy round trip through a file") {
  Tensor original = Tensor::from_list({{1.5, -2, NAN}, {INFINITY, -0.0, 1e-300}}, DType::Float64);
  std::string path = temp_path("file");
  save_npy(path, original);
  Tensor loaded = load_npy(path);
  CHECK(loaded.bitwise_equals(original));
  CHECK(std::signbit(loaded.get_double(4)));
  CHECK(std::isnan(loaded.get_double(2)));
}

TEST_CASE("npy header matches numpy layout") {
  Tensor t = Tensor::zeros(DType::Float32, {2, 3});
  std::string bytes = serialize_npy(t);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<unsigned char>(bytes[8]) == 118);
  CHECK(bytes[9] == 0);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(bytes.substr(10, dict.size()) == dict);
  CHECK(bytes.substr(10 + dict.size(), 117 - dict.size()) == std::string(117 - dict.size(), ' '));
  CHECK(bytes.size() == 128 + 24);

  CHECK(serialize_npy(Tensor::zeros(DType::Bool, {3})).find("'descr': '|b1'") != std::string::npos);
  CHECK(serialize_npy(Tensor::zeros(DType::Int32, {3})).find("'shape': (3,)") != std::string::npos);
  CHECK(serialize_npy(Tensor::scalar(DType::Int64, 1)).find("'shape': ()") != std::string::npos);
}

TEST_CASE("npy writes version 1 up to the most axes") {
  Dims shape(kMaxRank, 1);
  Tensor t = Tensor::full(DType::Float64, shape, 2.5);
  std::string bytes = serialize_npy(t);
  CHECK(bytes[6] == 1);
  std::size_t length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  CHECK((10 + length) % 64 == 0);
  Tensor loaded = parse_npy(bytes);
  CHECK(loaded.shape() == shape);
  CHECK(loaded.item() == 2.5);
  CHECK_THROWS_WITH_AS(Tensor::full(DType::Float64, Dims(kMaxRank + 1, 1), 1.0),
                       "a shape with 65 axes is invalid; tensors have at most 64", UserError);
}

TEST_CASE("npy version 1 written by hand") {
  std::string bytes = npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                hex_bytes("0100000000000000"
                                          "feffffffffffffff"
                                          "0000000000000080"));
  Tensor t = parse_npy(bytes);
  CHECK(t.dtype() == DType::Int64);
  CHECK(t.shape() == Dims{3});
  CHECK(t.get_int64(0) == 1);
  CHECK(t.get_int64(1) == -2);
  CHECK(t.get_int64(2) == INT64_MIN);
}

TEST_CASE("npy version 2 and 3 written by hand") {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::string data = hex_bytes("0000c03f"    // 1.5f
                               "000080bf");  // -1.0f
  for (int major : {2, 3}) {
    CAPTURE(major);
    Tensor t = parse_npy(npy_bytes(major, dict, data));
    CHECK(t.dtype() == DType::Float32);
    CHECK(t.shape() == Dims{2});
    CHECK(t.get_double(0) == 1.5);
    CHECK(t.get_double(1) == -1.0);
  }
}

TEST_CASE("npy big endian values") {
  std::string f8 = npy_bytes(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }",
                             hex_bytes("3ff0000000000000"     // 1.0
                                       "c000000000000000"     // -2.0
                                       "3fe0000000000000"     // 0.5
                                       "7ff0000000000000"));  // inf
  Tensor t = parse_npy(f8);
  CHECK(t.dtype() == DType::Float64);
  CHECK(t.shape() == Dims{2, 2});
  CHECK(t.get_double(0) == 1.0);
  CHECK(t.get_double(1) == -2.0);
  CHECK(t.get_double(2) == 0.5);
  CHECK(t.get_double(3) == INFINITY);

  std::string i4 = npy_bytes(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                             hex_bytes("00000102"     // 258
                                       "fffffffe"));  // -2
  Tensor ints = parse_npy(i4);
  CHECK(ints.dtype() == DType::Int32);
  CHECK(ints.get_int64(0) == 258);
  CHECK(ints.get_int64(1) == -2);

  std::string f4 = npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (), }",
                             hex_bytes("c0200000"));  // -2.5f
  CHECK(parse_npy(f4).item() == -2.5);
  std::string i8 = npy_bytes(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }",
                             hex_bytes("0000000100000000"));  // 2^32
  CHECK(parse_npy(i8).get_int64(0) == (std::int64_t{1} << 32));
}

TEST_CASE("npy bool bytes become 0 or 1") {
  std::string bytes = npy_bytes(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                                hex_bytes("000102"));
  Tensor t = parse_npy(bytes);
  CHECK(t.dtype() == DType::Bool);
  const auto* raw = static_cast<const unsigned char*>(t.raw_data());
  CHECK(raw[0] == 0);
  CHECK(raw[1] == 1);
  CHECK(raw[2] == 1);
}

TEST_CASE("npy fortran order") {
  // [[1, 2, 3], [4, 5, 6]] stored column by column.
  std::string bytes = npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                hex_bytes("0000803f" "00008040"     // 1, 4
                                          "00000040" "0000a040"     // 2, 5
                                          "00004040" "0000c040"));  // 3, 6
  Tensor t = parse_npy(bytes);
  CHECK(t.shape() == Dims{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(t.get_double(i) == i + 1);

  // A (2, 3, 4) array whose element (i, j, k) is 100 i + 10 j + k, first index fastest.
  std::string data;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) {
        std::int32_t value = 100 * i + 10 * j + k;
        data.append(reinterpret_cast<const char*>(&value), sizeof value);
      }
  Tensor cube = parse_npy(
      npy_bytes(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  CHECK(cube.shape() == Dims{2, 3, 4});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(cube.get_int64(i * 12 + j * 4 + k) == 100 * i + 10 * j + k);

  // Fortran order with big-endian values.
  Tensor be = parse_npy(npy_bytes(1, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }",
                                  hex_bytes("3ff0000000000000"     // (0, 0) = 1
                                            "4008000000000000"     // (1, 0) = 3
                                            "4000000000000000"     // (0, 1) = 2
                                            "4010000000000000")));  // (1, 1) = 4
  for (int i = 0; i < 4; ++i) CHECK(be.get_double(i) == i + 1);
}

TEST_CASE("npy header spacing variants") {
  // Keys in another order and without the spaces NumPy writes.
  std::string bytes = npy_bytes(1, "{'shape':(2,),'fortran_order':False,'descr':'<f8'}",
                                hex_bytes("000000000000f03f" "0000000000000040"));
  Tensor t = parse_npy(bytes);
  CHECK(t.shape() == Dims{2});
  CHECK(t.get_double(1) == 2.0);
  std::string empty =
      npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4), }", "");
  CHECK(parse_npy(empty).shape() == Dims{0, 4});
}

TEST_CASE("npy wrong magic") {
  std::string valid = serialize_npy(Tensor::zeros(DType::Float32, {2}));
  std::string expected =
      "invalid .npy file 'test.npy': missing the \\x93NUMPY magic string; this is not a .npy file";
  CHECK(npy_error("") == expected);
  CHECK(npy_error("PK\x03\x04 zip file") == expected);
  CHECK(npy_error("\x93NUMPZ" + valid.substr(6)) == expected);
  CHECK(npy_error("x") == expected);
}

TEST_CASE("npy truncated files") {
  std::string valid = serialize_npy(Tensor::zeros(DType::Float64, {2, 3}));
  CHECK(npy_error(valid.substr(0, 3)) ==
        "invalid .npy file 'test.npy': truncated header: the file has only 3 bytes");
  CHECK(npy_error(valid.substr(0, 8)) ==
        "invalid .npy file 'test.npy': truncated header: the file has only 8 bytes");
  CHECK(npy_error(valid.substr(0, 60)) == "invalid .npy file 'test.npy': truncated header");
  CHECK(npy_error(valid.substr(0, 128 + 20)) ==
        "invalid .npy file 'test.npy': truncated data: shape (2, 3) of f64 needs 48 bytes, the "
        "file has 20");
  CHECK(npy_error(valid.substr(0, 128)) ==
        "invalid .npy file 'test.npy': truncated data: shape (2, 3) of f64 needs 48 bytes, the "
        "file has 0");
  std::string v2 = npy_bytes(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                             std::string(8, '\0'));
  CHECK(npy_error(v2.substr(0, 11)) == "invalid .npy file 'test.npy': truncated header");
  CHECK(npy_error(valid) == "<no error>");
}

TEST_CASE("npy load from a pipe and from a folder") {
  // A pipe cannot seek, so load_npy reads it whole, as from <(cat file.npy) in a shell.
  Tensor original = Tensor::from_list({1.5, -2, 3});
  std::string fifo = temp_path("pipe");
  std::remove(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << serialize_npy(original);
  });
  Tensor loaded = load_npy(fifo);
  writer.join();
  CHECK(loaded.bitwise_equals(original));
  std::remove(fifo.c_str());

  std::string folder_message;
  try {
    load_npy(std::string(DAMO_BINARY_DIR));
  } catch (const UserError& e) {
    folder_message = e.what();
  }
  CHECK(folder_message == fmt::format("cannot read '{}': Is a directory", DAMO_BINARY_DIR));
}

TEST_CASE("npy header claiming more data than the file holds fails before allocating") {
  // 4e12 bytes could not be allocated here, so an out-of-memory error would mean the tensor
  // was allocated before the size check.
  std::string huge = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }",
                               "abcd");
  std::string expected =
      "invalid .npy file 'test.npy': truncated data: shape (1000000000000,) of f32 needs "
      "4000000000000 bytes, the file has 4";
  CHECK(npy_error(huge) == expected);
  std::string path = temp_path("huge");
  {
    std::ofstream out(path, std::ios::binary);
    out << huge;
  }
  std::string message;
  try {
    load_npy(path);
  } catch (const UserError& e) {
    message = e.what();
  }
  CHECK(message == fmt::format("invalid .npy file '{}': truncated data: shape (1000000000000,) of f32 "
                               "needs 4000000000000 bytes, the file has 4",
                               path));
  CHECK(npy_error(npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                            "")) ==
        "invalid .npy file 'test.npy': shape (4294967296, 4294967296) has more elements than fit in "
        "int64");
}

TEST_CASE("npy unsupported contents") {
  auto with_dict = [](const std::string& dict) { return npy_error(npy_bytes(1, dict, "")); };
  CHECK(npy_error(npy_bytes(4, "{}", "")) ==
        "invalid .npy file 'test.npy': unsupported format version 4");
  CHECK(with_dict("{'descr': '<c16', 'fortran_order': False, 'shape': (), }") ==
        "invalid .npy file 'test.npy': unsupported dtype '<c16': Damo reads bool, int32, int64, "
        "float32 and float64; convert with array.astype() before saving");
  CHECK(with_dict("{'descr': '<u2', 'fortran_order': False, 'shape': (), }") ==
        "invalid .npy file 'test.npy': unsupported dtype '<u2': Damo reads bool, int32, int64, "
        "float32 and float64; convert with array.astype() before saving");
  CHECK(with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }") ==
        "invalid .npy file 'test.npy': descr is not a quoted string (structured dtypes are not "
        "supported)");
  CHECK(with_dict("{'descr': '*f8', 'fortran_order': False, 'shape': (), }") ==
        "invalid .npy file 'test.npy': unsupported byte order in dtype '*f8'");
  CHECK(with_dict("{'fortran_order': False, 'shape': (), }") ==
        "invalid .npy file 'test.npy': header has no 'descr' entry");
  CHECK(with_dict("{'descr': '<f8', 'fortran_order': False, }") ==
        "invalid .npy file 'test.npy': header has no 'shape' entry");
  CHECK(with_dict("{'descr': '<f8', 'shape': (), }") ==
        "invalid .npy file 'test.npy': header has no 'fortran_order' entry");
  CHECK(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }") ==
        "invalid .npy file 'test.npy': invalid shape '(2, x)'");
  CHECK(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': [2], }") ==
        "invalid .npy file 'test.npy': shape is not a tuple");
  // Shapes beyond the limits of a tensor name the file too.
  CHECK(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, "
                  "4294967296), }") ==
        "invalid .npy file 'test.npy': the nonzero sizes of shape (0, 4294967296, 4294967296) "
        "multiply beyond int64");
  CHECK(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
                  "2), }") ==
        "invalid .npy file 'test.npy': shape (4294967296, 4294967296, 2) has more elements than "
        "fit in int64");
}

TEST_CASE("npy load errors name the file") {
  std::string path = fmt::format("{}/tests/no_such_dir/none.npy", DAMO_BINARY_DIR);
  CHECK_THROWS_WITH_AS(load_npy(path),
                       ("cannot open '" + path + "': No such file or directory").c_str(),
                       UserError);
  std::string bad = temp_path("bad");
  write_file_atomically(bad, "not numpy");
  CHECK_THROWS_WITH_AS(load_npy(bad),
                       ("invalid .npy file '" + bad +
                        "': missing the \\x93NUMPY magic string; this is not a .npy file")
                           .c_str(),
                       UserError);
  CHECK_THROWS_AS(save_npy(bad, Tensor()), UserError);
}
