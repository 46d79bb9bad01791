// Rng: the seeded random source of the demo. std::mt19937_64's output sequence is fixed by
// the C++ standard but the standard distributions are not, so the bounded integers,
// uniforms and normals are computed here to make a seed give the same splits, weights and
// clusters with every standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace segment {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  /// A uniform integer in [0, bound); bound must be positive.
  std::uint64_t below(std::uint64_t bound);
  /// A uniform double in [0, 1).
  double uniform();
  /// A standard normal sample (Box-Muller).
  double normal();
  /// Shuffles values in place (Fisher-Yates).
  void shuffle(std::vector<std::size_t>& values);

 private:
  std::mt19937_64 engine_;
};

}  // namespace segment
