// Tests of the NumPy-style and JSON printing of tensors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "damo/frontend/format.h"

using namespace damo;

TEST_CASE("format scalar") {
  CHECK(format_tensor(Tensor::scalar(DType::Int64, 3)) == "3");
  CHECK(format_tensor(Tensor::scalar(DType::Float32, 2)) == "2.");
  CHECK(format_tensor(Tensor::scalar(DType::Float64, 0.1)) == "0.1");
  CHECK(format_tensor(Tensor::scalar(DType::Bool, 1)) == "true");
  CHECK(format_tensor_with_type(Tensor::scalar(DType::Int32, -7)) == "-7 : i32 ()");
}

TEST_CASE("format float32 prints its shortest text") {
  // 0.1f is 0.100000001490116... as a double; printed as float32 it reads back as 0.1.
  CHECK(format_tensor(Tensor::scalar(DType::Float32, 0.1f)) == "0.1");
}

TEST_CASE("format integer matrix") {
  Tensor t = Tensor::from_list({{1, 2, 3}, {40, 5, -6}}, DType::Int64);
  CHECK(format_tensor_with_type(t) == "[[ 1,  2,  3],\n [40,  5, -6]] : i64 (2, 3)");
}

TEST_CASE("format floats align at the decimal point") {
  Tensor t = Tensor::from_list({1.25, -100, 3}, DType::Float64);
  CHECK(format_tensor(t) == "[   1.25, -100.  ,    3.  ]");
}

TEST_CASE("format nan and infinities") {
  double inf = std::numeric_limits<double>::infinity();
  Tensor t = Tensor::from_list({1.5, std::nan(""), inf, -inf}, DType::Float64);
  CHECK(format_tensor(t) == "[ 1.5,  nan,  inf, -inf]");
}

TEST_CASE("format bools") {
  Tensor t = Tensor::from_list({1, 0}, DType::Bool);
  CHECK(format_tensor(t) == "[ true, false]");
}

TEST_CASE("format rank three") {
  Tensor t = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  CHECK(format_tensor(t) == "[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]");
}

TEST_CASE("format empty") {
  CHECK(format_tensor(Tensor::zeros(DType::Float32, {0})) == "[]");
  // As NumPy prints np.zeros((2, 0)): the shape is in the type.
  CHECK(format_tensor_with_type(Tensor::zeros(DType::Float32, {2, 0})) == "[] : f32 (2, 0)");
  CHECK(tensor_to_json(Tensor::zeros(DType::Float32, {2, 0})) ==
        "{\"dtype\": \"f32\", \"shape\": [2, 0], \"data\": []}");
}

TEST_CASE("format wraps long rows") {
  std::vector<std::int64_t> values;
  for (std::int64_t i = 0; i < 30; ++i) values.push_back(i);
  Tensor t = Tensor::from_vector(values, {30});
  CHECK(format_tensor(t) ==
        "[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
        " 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]");
}

TEST_CASE("format summarizes large tensors") {
  std::vector<std::int64_t> values;
  for (std::int64_t i = 0; i < 2000; ++i) values.push_back(i);
  CHECK(format_tensor(Tensor::from_vector(values, {2000})) ==
        "[   0,    1,    2, ..., 1997, 1998, 1999]");
  CHECK(format_tensor(Tensor::from_vector(values, {1000, 2})) ==
        "[[   0,    1],\n [   2,    3],\n [   4,    5],\n ...,\n [1994, 1995],\n [1996, 1997],\n"
        " [1998, 1999]]");
}

TEST_CASE("format type") {
  CHECK(format_type(DType::Float32, Shape{Dim("n"), Dim(64)}) == "f32 (n, 64)");
  CHECK(format_type(DType::Bool, Shape{}) == "bool ()");
}

TEST_CASE("json of a matrix") {
  Tensor t = Tensor::from_list({{1, 2, 3}, {4, 5, 6}}, DType::Float32);
  CHECK(tensor_to_json(t) ==
        R"({"dtype": "f32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]})");
}

TEST_CASE("json of special floats") {
  double inf = std::numeric_limits<double>::infinity();
  Tensor t = Tensor::from_list({0.5, std::nan(""), inf, -inf}, DType::Float64);
  CHECK(tensor_to_json(t) ==
        R"({"dtype": "f64", "shape": [4], "data": [0.5, "nan", "inf", "-inf"]})");
}

TEST_CASE("json of a scalar and bools") {
  CHECK(tensor_to_json(Tensor::scalar(DType::Int64, 7)) ==
        R"({"dtype": "i64", "shape": [], "data": 7})");
  CHECK(tensor_to_json(Tensor::from_list({1, 0}, DType::Bool)) ==
        R"({"dtype": "bool", "shape": [2], "data": [true, false]})");
}

TEST_CASE("json shape and quoting") {
  CHECK(shape_to_json(Shape{Dim("n"), Dim(3)}) == R"(["n", 3])");
  CHECK(json_quote("a\"b\\c\n\x01") == R"("a\"b\\c\n\u0001")");
}
