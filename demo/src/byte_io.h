// ByteWriter and ByteReader: little-endian binary encoding of the model payload.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "damo/runtime/error.h"
#include "text_util.h"

namespace segment {

class ByteWriter {
 public:
  /// Appends an integer or floating-point value in little-endian byte order.
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(T value) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
    out_.append(reinterpret_cast<const char*>(bytes), sizeof(T));
  }
  /// Appends the length as uint64 and then the bytes.
  void put_string(std::string_view text) {
    put<std::uint64_t>(text.size());
    out_.append(text);
  }
  void put_bytes(const void* data, std::size_t size) {
    out_.append(static_cast<const char*>(data), size);
  }

  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

/// Reads what ByteWriter wrote; reading past the end throws UserError naming the source.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  template <class T>
  requires std::is_arithmetic_v<T> T get() {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, take(sizeof(T)), sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }
  /// Reads a length and that many bytes of UTF-8 text: every string of a model is a name or
  /// a category from a CSV table, which the reader accepts only as UTF-8.
  std::string get_string() {
    auto size = get<std::uint64_t>();
    if (size > remaining()) fail("a string longer than the rest of the payload");
    std::string text(take(size), size);
    if (invalid_utf8_at(text) != std::string_view::npos) fail("a name that is not UTF-8 text");
    return text;
  }
  const char* take(std::size_t size) {
    if (size > remaining()) fail("the payload ends early");
    const char* data = bytes_.data() + position_;
    position_ += size;
    return data;
  }

  std::size_t remaining() const { return bytes_.size() - position_; }
  /// Offset of the next byte to read.
  std::size_t position() const { return position_; }

  /// Throws UserError naming what is wrong and the current offset.
  [[noreturn]] void fail(const std::string& what) const { fail_at(what, position_); }
  /// Throws UserError naming what is wrong and the offset where the bad value starts.
  [[noreturn]] void fail_at(const std::string& what, std::size_t offset) const {
    throw damo::UserError(source_ + " is not a valid model file: " + what + " at payload byte " +
                          std::to_string(offset) + "; train the model again");
  }

 private:
  std::string_view bytes_;
  std::string source_;
  std::size_t position_ = 0;
};

}  // namespace segment
