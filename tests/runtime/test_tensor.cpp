#include <doctest/doctest.h>

#include "damo/runtime/tensor.h"

using namespace damo;

TEST_CASE("tensor from nested list") {
  Tensor t = Tensor::from_list({{1, 2, 3}, {4, 5, 6}}, DType::Float32);
  CHECK(t.shape() == Dims{2, 3});
  CHECK(t.dtype() == DType::Float32);
  CHECK(t.get_double(4) == 5.0);
  CHECK(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
  CHECK(t.to_string() == "[[1, 2, 3], [4, 5, 6]]");
}

TEST_CASE("tensor from ragged list rejected") {
  CHECK_THROWS_AS(Tensor::from_list({{1, 2}, {3}}), UserError);
}
