// Damaged model files through damo-segment's reader: every truncation and every single-bit
// flip is rejected with a UserError, and each kind of damage has its own message.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "reliability_util.h"
#include "segment/model.h"

using namespace segment;
using damo::reliability::message_of;

namespace {

// Two numeric features, 3 hidden units, 2 segments.
Model tiny_model() {
  Model model;
  model.label = "Channel";
  model.segments = {"retail", "horeca"};
  FeatureColumn a, b;
  a.name = "Fresh";
  a.mean = 1;
  a.scale = 2;
  b.name = "Milk";
  b.log1p = true;
  b.scale = 1;
  model.schema.columns = {a, b};
  model.hidden = {3};
  model.weights = {damo::Tensor::full(damo::DType::Float32, {2, 3}, 0.5),
                   damo::Tensor::zeros(damo::DType::Float32, {3}),
                   damo::Tensor::full(damo::DType::Float32, {3, 2}, -0.25),
                   damo::Tensor::zeros(damo::DType::Float32, {2})};
  return model;
}

std::string parse_error(const std::string& bytes) {
  return message_of<damo::UserError>([&] { parse_model(bytes, "m.bin"); });
}

// A file with a valid header around payload, so that the payload decoder itself is reached.
std::string with_header(const std::string& payload) {
  std::string bytes = serialize_model(tiny_model()).substr(0, kModelHeaderSize);
  std::uint64_t size = payload.size();
  std::uint32_t crc = crc32(payload);
  std::memcpy(bytes.data() + 12, &size, sizeof size);
  std::memcpy(bytes.data() + 20, &crc, sizeof crc);
  return bytes + payload;
}

}  // namespace

TEST_CASE("model every truncation is rejected") {
  std::string bytes = serialize_model(tiny_model());
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    INFO("length " << length);
    std::string message = parse_error(bytes.substr(0, length));
    CHECK(message.starts_with("m.bin is truncated"));
  }
  CHECK(parse_error(bytes.substr(0, 10)) ==
        "m.bin is truncated: 10 bytes, shorter than the 24-byte header; train the model again");
  CHECK(parse_error(bytes.substr(0, 100)) ==
        fmt::format("m.bin is truncated: the header announces {} payload bytes but only 76 follow; "
                    "train the model again",
                    bytes.size() - kModelHeaderSize));
}

TEST_CASE("model every single-bit flip is rejected") {
  std::string bytes = serialize_model(tiny_model());
  int rejected = 0;
  for (std::size_t position = 0; position < bytes.size(); ++position) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[position] = static_cast<char>(damaged[position] ^ (1 << bit));
      INFO("byte " << position << " bit " << bit);
      std::string message = parse_error(damaged);
      CHECK(message.starts_with("m.bin "));
      rejected += message.starts_with("m.bin ") ? 1 : 0;
    }
  }
  CHECK(rejected == static_cast<int>(bytes.size()) * 8);
}

TEST_CASE("model other format versions name both versions") {
  std::string bytes = serialize_model(tiny_model());
  for (std::uint32_t version : {0u, 3u, 0xFFFFFFFFu}) {
    std::string other = bytes;
    std::memcpy(other.data() + 8, &version, sizeof version);
    CHECK(parse_error(other) ==
          fmt::format("m.bin has model format version {}, but this damo-segment reads versions 1 "
                      "to 2; train the model again with this version",
                      version));
  }
}

TEST_CASE("model payload damage behind a valid checksum") {
  std::string payload = serialize_model(tiny_model()).substr(kModelHeaderSize);
  CHECK(parse_error(with_header(payload)) == "no error");
  // The label's length field claims more bytes than the payload has.
  std::string long_string = payload;
  long_string[7] = '\x7f';
  CHECK(parse_error(with_header(long_string)) ==
        "m.bin is not a valid model file: a string longer than the rest of the payload at "
        "payload byte 8; train the model again");
  // The last weight tensor announces more floats than the cut payload holds.
  CHECK(parse_error(with_header(payload.substr(0, payload.size() - 4))) ==
        "m.bin is not a valid model file: a weight tensor larger than the file at payload byte " +
            std::to_string(payload.size() - 8) + "; train the model again");
  CHECK(parse_error(with_header(payload.substr(0, 3))) ==
        "m.bin is not a valid model file: the payload ends early at payload byte 0; train the model again");
  // A name is UTF-8 text, as every CSV cell it comes from: 0xFF starts no UTF-8 sequence.
  std::string latin = payload;
  latin[8] = '\xff';
  CHECK(parse_error(with_header(latin)) ==
        "m.bin is not a valid model file: a name that is not UTF-8 text at payload byte 15; train the model again");
  CHECK(parse_error(with_header(payload + "zz")) ==
        "m.bin is not a valid model file: 2 unread bytes at payload byte " +
            std::to_string(payload.size()) + "; train the model again");
}

TEST_CASE("model file of another kind") {
  std::string dir = (std::filesystem::path(DAMO_BINARY_DIR) / "test_tmp" / "model_inputs").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string png = dir + "/image.png";
  std::ofstream(png, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  CHECK(message_of<damo::UserError>([&] { load_model(png); }) ==
        png +
            " is not a damo-segment model file (it does not start with \"DAMOSEGM\"); pass a "
            "file written by 'damo-segment train --model'");
  std::string empty = dir + "/empty.bin";
  std::ofstream(empty, std::ios::binary).flush();
  CHECK(message_of<damo::UserError>([&] { load_model(empty); }) ==
        empty + " is truncated: 0 bytes, shorter than the 24-byte header; train the model again");
  CHECK(message_of<damo::UserError>([&] { load_model(dir); }) ==
        "cannot read '" + dir + "': Is a directory");
}

TEST_CASE("model weight dims whose product wraps around") {
  // Found by the model fuzzer: dimensions (2, 2^62 + 2) multiply to 4 modulo 2^64, which
  // passed the size check and left the error to Tensor, without the file name.
  std::string payload = serialize_model(tiny_model()).substr(kModelHeaderSize);
  std::string first_weight_shape;
  for (std::uint64_t v : {std::uint64_t{2}, std::uint64_t{2}, std::uint64_t{3}})
    first_weight_shape.append(reinterpret_cast<const char*>(&v), sizeof v);
  std::size_t at = payload.find(first_weight_shape);
  REQUIRE(at != std::string::npos);
  std::uint64_t huge = (std::uint64_t{1} << 62) + 2;
  std::memcpy(payload.data() + at + 16, &huge, sizeof huge);
  CHECK(parse_error(with_header(payload)) ==
        "m.bin is not a valid model file: a weight tensor larger than the file at payload byte " +
            std::to_string(at + 24) + "; train the model again");
}

TEST_CASE("model flag byte other than 0 or 1") {
  // Found by the model fuzzer: a log1p flag of 63 read as true and saved back as 1, so the
  // reader accepted bytes that no writer produces.
  std::string payload = serialize_model(tiny_model()).substr(kModelHeaderSize);
  std::size_t name = payload.find("Fresh");
  REQUIRE(name != std::string::npos);
  std::size_t flag = name + 5 + 1 + 8;  // after the name, the kind byte and the median
  REQUIRE(payload[flag] == 0);
  payload[flag] = 63;
  CHECK(parse_error(with_header(payload)) ==
        "m.bin is not a valid model file: a log1p flag other than 0 or 1 at payload byte " +
            std::to_string(flag + 1) + "; train the model again");
  payload[flag] = 1;
  CHECK(parse_error(with_header(payload)) == "no error");
}
