// The shape checks of the scatter factories (slice_scatter, index_add,
// scatter_add_along_axis): a source that does not fit the result shape is a UserError, not
// an out-of-bounds kernel. The JIT differential fuzzer found the missing checks.
#include <doctest/doctest.h>

#include <functional>
#include <limits>

#include "damo/graph/eval.h"
#include "damo/graph/ops.h"

using namespace damo;

namespace {

std::string user_error(const std::function<void()>& build) {
  try {
    build();
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("slice_scatter source must fill the slice") {
  Graph g;
  Expr src = g.input("src", DType::Float32, {2, 3});
  CHECK(user_error([&] { slice_scatter(src, {2, 7}, 1, 1, 4, 1); }) == "no error");
  CHECK(user_error([&] { slice_scatter(src, {2, 7}, 1, 0, 6, 2); }) == "no error");
  CHECK(user_error([&] { slice_scatter(src, {2, 7}, 1, 6, 0, -2); }) == "no error");
  CHECK(user_error([&] {
          slice_scatter(src, {2, 7}, 1, 0, 2, 1);
        }) == "slice_scatter: the slice 0:2:1 selects 2 elements of axis 1, but the source f32 (2, 3) has 3");
  CHECK(user_error([&] {
          slice_scatter(src, {3, 7}, 1, 0, 3, 1);
        }) == "slice_scatter: axis 0 of the source f32 (2, 3) must match the target shape (3, 7)");
  CHECK(user_error([&] {
          slice_scatter(src, {2, 7}, 1, 6, 9, 1);
        }) == "slice_scatter: the slice 6:9:1 reaches outside axis 1 of size 7; pass the normalized "
           "bounds that slice() stores");
  CHECK(user_error([&] {
          slice_scatter(src, {2, 7}, 1, 0, 3, 0);
        }) == "slice_scatter: step must not be zero");
  CHECK(user_error([&] {
          slice_scatter(src, {2, "n"}, 1, 0, 3, 1);
        }) == "slice_scatter: the source f32 (2, 3) is not the slice 0:3 of axis 1 of the target "
           "shape (2, n); on a symbolic axis the start is 0 or more, the stop 0 or below (counted "
           "from the end) and the source has the slice's size");
  CHECK(user_error([&] {
          slice_scatter(src, {2, 7}, 1, 0, 7, std::numeric_limits<std::int64_t>::min());
        }) == "slice_scatter: the slice 0:7:-9223372036854775808 selects 0 elements of axis 1, but "
           "the source f32 (2, 3) has 3");
}

TEST_CASE("index_add source must have the gathered shape") {
  Graph g;
  Expr src = g.input("src", DType::Float32, {2, 3});
  Expr i = g.input("i", DType::Int64, {3});
  CHECK(index_add(src, i, {2, 5}, 1).shape() == Shape{2, 5});
  CHECK(user_error([&] {
          index_add(src, i, {4, 3}, 0);
        }) == "index_add: the source f32 (2, 3) must have the shape (3, 3): the target shape (4, 3) "
           "with axis 0 replaced by the indices' shape (3,)");
  CHECK(user_error([&] {
          index_add(src, src, {2, 5}, 1);
        }) == "index_add: indices must be i32 or i64, not f32 (2, 3)");
}

TEST_CASE("scatter_add_along_axis source must fit the result") {
  Graph g;
  Expr src = g.input("src", DType::Float32, {2, 3});
  Expr idx = g.input("idx", DType::Int32, {2, 3});
  Expr row = g.input("row", DType::Int32, {1, 3});
  Expr flat = g.input("flat", DType::Int32, {3});
  CHECK(scatter_add_along_axis(src, idx, {2, 9}, 1).shape() == Shape{2, 9});
  CHECK(scatter_add_along_axis(src, row, {1, 3}, 0).shape() == Shape{1, 3});
  CHECK(scatter_add_along_axis(src, idx, {2, 1}, 0).shape() == Shape{2, 1});
  CHECK(user_error([&] {
          scatter_add_along_axis(src, idx, {3, 9}, 1);
        }) ==
        "scatter_add_along_axis: axis 0 of the target shape (3, 9) must be 1 or match the "
        "source f32 (2, 3)");
  CHECK(user_error([&] {
          scatter_add_along_axis(src, flat, {2, 9}, 1);
        }) ==
        "scatter_add_along_axis: the source f32 (2, 3) and the indices i32 (3,) must have the "
        "rank of the target shape (2, 9)");
}

TEST_CASE("scatter found by the fuzzer evaluates") {
  // index_add with a source whose axis did not match the indices used to reach an internal
  // check of the evaluator and out-of-bounds reads in compiled code. The factory rejects
  // it, and the well-formed version evaluates.
  Graph g;
  Expr src = g.input("src", DType::Float32, {2, 3});
  Expr two = g.constant(Tensor::from_vector<std::int64_t>({0, 0}, {2}));
  CHECK(user_error([&] {
          index_add(src, two, {2, 4}, 1);
        }) == "index_add: the source f32 (2, 3) must have the shape (2, 2): the target shape (2, 4) "
           "with axis 1 replaced by the indices' shape (2,)");
  Expr three = g.constant(Tensor::from_vector<std::int64_t>({0, 0, 3}, {3}));
  Tensor out = evaluate(index_add(src, three, {2, 4}, 1),
                        {{"src", Tensor::from_list({{1, 2, 3}, {4, 5, 6}})}});
  CHECK(out.equals(Tensor::from_list({{3, 0, 0, 3}, {9, 0, 0, 6}})));
}
