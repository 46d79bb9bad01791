// Distributions over std::mt19937_64 that do not depend on the standard library.
#include "segment/random.h"

#include <cmath>
#include <numbers>

#include "damo/runtime/error.h"

namespace segment {

std::uint64_t Rng::below(std::uint64_t bound) {
  DAMO_ASSERT(bound > 0, "Rng::below needs a positive bound");
  // Rejects the top partial block of the 64-bit range so every result is equally likely.
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t draw = engine_();
  while (draw >= limit) draw = engine_();
  return draw % bound;
}

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  double u1 = 1.0 - uniform();  // in (0, 1], so the log is finite
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void Rng::shuffle(std::vector<std::size_t>& values) {
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[below(i)]);
}

}  // namespace segment
