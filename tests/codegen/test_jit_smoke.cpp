#include "jit_check.h"

using namespace damo;
using namespace damo::testing;

TEST_CASE("jit add of two vectors") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {"n"});
  Expr y = g.input("y", DType::Float32, {"n"});
  std::mt19937_64 rng(1);
  for (std::int64_t n : {0, 1, 7, 17, 1000, 100000}) {
    check_jit_matches_reference({x, y}, {x + y * 2.0},
                                {random_tensor(DType::Float32, {n}, rng), random_tensor(DType::Float32, {n}, rng)},
                                "n=" + std::to_string(n));
  }
}
