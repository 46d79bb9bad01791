// FuzzInput: reads the bytes of one fuzzer input as a stream of small decisions. Reading
// past the end yields zeros, so every input, however short, decodes to something.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace damo::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool exhausted() const { return position_ >= size_; }

  std::uint8_t byte() { return exhausted() ? 0 : data_[position_++]; }

  /// A value in [0, count), count at most 256.
  int below(int count) { return count <= 1 ? 0 : byte() % count; }

  /// True with probability about numerator / 256.
  bool chance(int numerator) { return byte() < numerator; }

  std::uint32_t u32() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = value << 8 | byte();
    return value;
  }

  /// Returns the bytes not read yet.
  std::string_view rest() const {
    if (exhausted()) return {};
    return {reinterpret_cast<const char*>(data_ + position_), size_ - position_};
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace damo::fuzz
