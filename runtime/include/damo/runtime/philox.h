// Philox4x32-10, a counter-based random number generator. Each output block is a pure
// function of a 64-bit key and a 128-bit counter, so any element of a random tensor can be
// computed on its own, in any order and on any thread, with the same result. The reference
// evaluator calls these functions, and the JIT emits the same arithmetic as LLVM IR.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace damo::philox {

inline constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kKeyStep0 = 0x9E3779B9u;
inline constexpr std::uint32_t kKeyStep1 = 0xBB67AE85u;
inline constexpr int kRounds = 10;

using Block = std::array<std::uint32_t, 4>;

/// Computes the four output words for counter c under the key (k0, k1).
constexpr Block generate(Block c, std::uint32_t k0, std::uint32_t k1) {
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kKeyStep0;
      k1 += kKeyStep1;
    }
    std::uint64_t p0 = std::uint64_t{kMultiplier0} * c[0];
    std::uint64_t p1 = std::uint64_t{kMultiplier1} * c[2];
    c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<std::uint32_t>(p0)};
  }
  return c;
}

/// Computes the block of `counter` in `stream` under a 64-bit key. The counter words are
/// (low and high words of counter, stream, 0), and the key is (low word, high word).
constexpr Block counter_block(std::uint64_t key, std::uint64_t counter, std::uint32_t stream) {
  return generate({static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32), stream, 0},
                  static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32));
}

/// One block gives four float32 elements, one per word, or two float64 elements.
inline constexpr std::uint64_t kFloatsPerBlock = 4;
inline constexpr std::uint64_t kDoublesPerBlock = 2;

/// Converts the top 24 bits of a word to a float in [0, 1). Every value is a multiple of
/// 2^-24.
inline float uniform_float(std::uint32_t word) { return static_cast<float>(word >> 8) * 0x1p-24f; }

/// Converts 53 bits, all of `high` and the top 21 bits of `low`, to a double in [0, 1).
/// Every value is a multiple of 2^-53.
inline double uniform_double(std::uint32_t high, std::uint32_t low) {
  std::uint64_t bits = (std::uint64_t{high} << 21) | (low >> 11);
  return static_cast<double>(bits) * 0x1p-53;
}

/// Element `index` of a float32 draw: word index % 4 of block index / 4.
inline float float_element(std::uint64_t key, std::uint64_t index, std::uint32_t stream) {
  Block block = counter_block(key, index / kFloatsPerBlock, stream);
  return uniform_float(block[index % kFloatsPerBlock]);
}

/// Element `index` of a float64 draw: words 0 and 1 of block index / 2 for an even index,
/// words 2 and 3 for an odd one.
inline double double_element(std::uint64_t key, std::uint64_t index, std::uint32_t stream) {
  Block block = counter_block(key, index / kDoublesPerBlock, stream);
  std::size_t first = 2 * (index % kDoublesPerBlock);
  return uniform_double(block[first], block[first + 1]);
}

}  // namespace damo::philox
