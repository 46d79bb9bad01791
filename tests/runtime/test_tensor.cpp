// Tests of Tensor: construction, element access and conversion, sharing, cast, reshape,
// permute, comparison, hashing and printing; plus dtypes and shape helpers.
#include <doctest/doctest.h>

#include <type_traits>
#include <utility>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "damo/runtime/shared_variable.h"
#include "damo/runtime/tensor.h"

using namespace damo;

namespace {

constexpr DType B = DType::Bool;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;
constexpr DType F32 = DType::Float32;
constexpr DType F64 = DType::Float64;

std::string user_error(const std::function<void()>& build) {
  try {
    build();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("tensor from nested list") {
  Tensor t = Tensor::from_list({{1, 2, 3}, {4, 5, 6}}, DType::Float32);
  CHECK(t.shape() == Dims{2, 3});
  CHECK(t.dtype() == DType::Float32);
  CHECK(t.get_double(4) == 5.0);
  CHECK(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
  CHECK(t.to_string() == "[[1, 2, 3], [4, 5, 6]]");
  CHECK(Tensor::from_list(7, I64).shape() == Dims{});
  CHECK(Tensor::from_list(7, I64).item() == 7);
  CHECK(Tensor::from_list({}, F32).shape() == Dims{0});
  CHECK(Tensor::from_list({{}, {}}, F32).shape() == Dims{2, 0});
}

TEST_CASE("tensor from ragged list rejected") {
  CHECK_THROWS_AS(Tensor::from_list({{1, 2}, {3}}), UserError);
  CHECK(user_error([] { Tensor::from_list({{1, 2}, {3}}); }) ==
        "Tensor::from_list: a row at depth 1 has 1 items but an earlier row has 2");
  CHECK(user_error([] { Tensor::from_list({{1, 2}, 3}); }) ==
        "Tensor::from_list: a number appears where a nested list was expected (rows must all "
        "have the same depth)");
  CHECK(user_error([] { Tensor::from_list({1, {2, 3}}); }) ==
        "Tensor::from_list: a nested list appears where a number was expected");
}

TEST_CASE("tensor from list keeps int64 exact") {
  Tensor t = Tensor::from_list({9007199254740993LL, 9223372036854775807LL}, I64);
  CHECK(t.data<std::int64_t>()[0] == 9007199254740993LL);
  CHECK(t.data<std::int64_t>()[1] == std::numeric_limits<std::int64_t>::max());
  Tensor minimum = Tensor::from_list({std::numeric_limits<std::int64_t>::min()}, I64);
  CHECK(minimum.data<std::int64_t>()[0] == std::numeric_limits<std::int64_t>::min());
  Tensor unsigned_leaf = Tensor::from_list({9007199254740993ULL}, I64);
  CHECK(unsigned_leaf.data<std::int64_t>()[0] == 9007199254740993LL);

  // Integer leaves saturate in a narrower integer dtype and round in a float dtype.
  Tensor narrow = Tensor::from_list({3000000000LL, -3000000000LL, 7}, I32);
  CHECK(narrow.data<std::int32_t>()[0] == std::numeric_limits<std::int32_t>::max());
  CHECK(narrow.data<std::int32_t>()[1] == std::numeric_limits<std::int32_t>::min());
  CHECK(narrow.data<std::int32_t>()[2] == 7);
  CHECK(Tensor::from_list({9007199254740993LL}, F64).get_double(0) == 9007199254740992.0);
  CHECK(Tensor::from_list({2, 0}, B).to_string() == "[true, false]");

  // Mixed lists and doubles into integer dtypes convert each leaf from its own type.
  Tensor mixed = Tensor::from_list({9007199254740993LL, 2.5, -2.5}, I64);
  CHECK(mixed.data<std::int64_t>()[0] == 9007199254740993LL);
  CHECK(mixed.data<std::int64_t>()[1] == 2);
  CHECK(mixed.data<std::int64_t>()[2] == -2);
  CHECK(Tensor::from_list({1, 2.5}, F32).to_string() == "[1, 2.5]");
  CHECK(NestedList(9007199254740993LL).value() == 9007199254740992.0);

  CHECK(user_error([] { Tensor::from_list({18446744073709551615ULL}, I64); }) ==
        "NestedList: the integer 18446744073709551615 is above the int64 maximum "
        "9223372036854775807, and no Damo dtype represents it exactly; pass it as a double, such as "
        "18446744073709551615.0, for a float tensor");
}

TEST_CASE("tensor construction") {
  Tensor z(F64, {2, 2});
  CHECK(z.defined());
  CHECK(z.numel() == 4);
  CHECK(z.nbytes() == 32);
  CHECK(z.rank() == 2);
  CHECK(z.dim(1) == 2);
  for (int i = 0; i < 4; ++i) CHECK(z.get_double(i) == 0.0);
  CHECK_FALSE(Tensor().defined());
  CHECK(Tensor::full(I32, {3}, 7.9).get_int64(2) == 7);
  CHECK(Tensor::scalar(B, 2).get_double(0) == 1.0);
  CHECK(Tensor::scalar(F32, 0.1).item() == static_cast<double>(0.1f));
  Tensor e = Tensor::empty(F32, {0, 5});
  CHECK(e.numel() == 0);
  CHECK(e.nbytes() == 0);
  CHECK(e.raw_data() != nullptr);
  CHECK(user_error([] { Tensor(F32, {2, -1}); }) == "negative dimension -1 in shape (2, -1)");
}

TEST_CASE("tensor from vector") {
  Tensor t = Tensor::from_vector(std::vector<std::int32_t>{1, -2, 3, 4, 5, 6}, {3, 2});
  CHECK(t.dtype() == I32);
  CHECK(t.shape() == Dims{3, 2});
  CHECK(t.data<std::int32_t>()[1] == -2);
  CHECK_THROWS_AS(t.data<float>(), UserError);
  CHECK(user_error([] { Tensor::from_vector(std::vector<double>{1, 2, 3}, {2, 2}); }) ==
        "Tensor::from_vector: 3 values do not fill shape (2, 2) of 4 elements");
}

TEST_CASE("tensor views share caller memory") {
  alignas(8) double memory[4] = {1, 2, 3, 4};
  Tensor v = Tensor::view(memory, F64, {2, 2});
  CHECK(v.is_view());
  CHECK_FALSE(Tensor(F64, {1}).is_view());
  CHECK(v.get_double(3) == 4);
  memory[3] = 9;
  CHECK(v.get_double(3) == 9);
  v.set_double(0, -1);
  CHECK(memory[0] == -1);
  CHECK(Tensor::view(nullptr, F32, {0}).numel() == 0);
  CHECK(user_error([] { Tensor::view(nullptr, F32, {2}); }) ==
        "Tensor::view: null data pointer for shape (2,)");
  auto* misaligned = reinterpret_cast<char*>(memory) + 1;
  CHECK(user_error([&] { Tensor::view(misaligned, F32, {1}); })
            .ends_with("is not aligned to 4 bytes for f32"));
  // 2^61 float64 elements are 2^64 bytes, which wraps a byte count to 0.
  CHECK(user_error([&] { Tensor::view(memory, F64, {std::int64_t{1} << 61}); }) ==
        "Tensor::view: a f64 tensor of shape (2305843009213693952,) covers more bytes than memory "
        "can hold; check the shape passed with the data pointer");
  CHECK(Tensor::view(memory, F64, {std::int64_t{1} << 40}).nbytes() == std::size_t{1} << 43);
}

TEST_CASE("tensor element conversion") {
  Tensor i = Tensor(I32, {4});
  i.set_double(0, 1e20);
  i.set_double(1, -1e20);
  i.set_double(2, NAN);
  i.set_double(3, -2.7);
  CHECK(i.get_int64(0) == std::numeric_limits<std::int32_t>::max());
  CHECK(i.get_int64(1) == std::numeric_limits<std::int32_t>::min());
  CHECK(i.get_int64(2) == 0);
  CHECK(i.get_int64(3) == -2);

  Tensor b = Tensor(B, {2});
  b.set_double(0, 0.5);
  b.set_double(1, 0.0);
  CHECK(b.get_double(0) == 1.0);
  CHECK(b.get_double(1) == 0.0);

  Tensor f = Tensor::from_list({NAN, 1e30, -3.5}, F64);
  CHECK(f.get_int64(0) == 0);
  CHECK(f.get_int64(1) == 0);
  CHECK(f.get_int64(2) == -3);

  Tensor big = Tensor::scalar(I64, 0);
  big.set_double(0, 1e19);
  CHECK(big.get_int64(0) == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("tensor item requires one element") {
  CHECK(Tensor::full(F32, {1, 1}, 3).item() == 3);
  CHECK(user_error([] { Tensor(F32, {2, 3}).item(); }) ==
        "Tensor::item: tensor of shape (2, 3) has 6 elements, not 1");
}

TEST_CASE("tensor copies share and clone copies") {
  Tensor a = Tensor::from_list({1, 2, 3});
  Tensor shared = a;
  Tensor cloned = a.clone();
  a.set_double(0, 10);
  CHECK(shared.get_double(0) == 10);
  CHECK(cloned.get_double(0) == 1);
  CHECK(cloned.raw_data() != a.raw_data());
  CHECK_FALSE(Tensor().clone().defined());
}

TEST_CASE("tensor cast") {
  Tensor f = Tensor::from_list({-2.7, 2.7, NAN, 1e20, -1e20, -0.0}, F64);
  Tensor i = f.cast(I32);
  CHECK(i.dtype() == I32);
  CHECK(i.get_int64(0) == -2);
  CHECK(i.get_int64(1) == 2);
  CHECK(i.get_int64(2) == 0);
  CHECK(i.get_int64(3) == std::numeric_limits<std::int32_t>::max());
  CHECK(i.get_int64(4) == std::numeric_limits<std::int32_t>::min());
  CHECK(i.get_int64(5) == 0);

  Tensor b = f.cast(B);
  CHECK(b.get_double(0) == 1);
  CHECK(b.get_double(2) == 1);
  CHECK(b.get_double(5) == 0);

  Tensor l = Tensor::from_vector(std::vector<std::int64_t>{(std::int64_t{1} << 40) + 1}, {1});
  CHECK(l.cast(F64).get_double(0) == 1099511627777.0);
  CHECK(l.cast(F32).get_double(0) == 1099511627776.0);
  CHECK(Tensor::from_list({1, 0}, B).cast(F32).get_double(0) == 1.0);

  Tensor same = f.cast(F64);
  CHECK(same.raw_data() != f.raw_data());
  CHECK(same.bitwise_equals(f));
}

TEST_CASE("tensor reshape shares storage") {
  Tensor t = Tensor::from_list({{1, 2, 3}, {4, 5, 6}});
  Tensor r = t.reshape({3, 2});
  CHECK(r.shape() == Dims{3, 2});
  CHECK(r.raw_data() == t.raw_data());
  CHECK(user_error([&] { t.reshape({4}); }) ==
        "cannot reshape a tensor of shape (2, 3) (6 elements) to (4,)");
  CHECK(t.reshape({6, 1}).get_double(5) == 6);
  CHECK(Tensor::scalar(F32, 1).reshape({1, 1}).shape() == Dims{1, 1});
}

TEST_CASE("tensor permute") {
  Tensor t(I64, {2, 3, 4});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(i));
  Tensor p = t.permute({2, 0, 1});
  CHECK(p.shape() == Dims{4, 2, 3});
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) CHECK(p.get_int64(a * 6 + b * 3 + c) == b * 12 + c * 4 + a);
  CHECK(t.permute({0, 1, 2}).bitwise_equals(t));
  CHECK(Tensor(F32, {0, 3}).permute({1, 0}).shape() == Dims{3, 0});
  CHECK(user_error([&] { t.permute({0, 1}); }) == "permute: 2 axes given for a tensor of rank 3");
  CHECK(user_error([&] { t.permute({0, 1, 1}); }) ==
        "permute: the axes (0, 1, 1) are not a permutation of 0 to 2; name each axis of the rank-3 tensor once");
  CHECK(user_error([&] { t.permute({0, 1, 3}); }) ==
        "permute: the axes (0, 1, 3) are not a permutation of 0 to 2; name each axis of the rank-3 tensor once");
}

TEST_CASE("tensor equality and hashing") {
  Tensor a = Tensor::from_list({1.0, NAN, 0.0}, F64);
  Tensor b = Tensor::from_list({1.0, NAN, -0.0}, F64);
  CHECK(a.equals(b));
  CHECK_FALSE(a.bitwise_equals(b));
  CHECK(a.bitwise_equals(a.clone()));
  CHECK(a.content_hash() == a.clone().content_hash());
  CHECK(a.content_hash() != b.content_hash());
  CHECK_FALSE(a.equals(a.cast(F32)));
  CHECK_FALSE(a.equals(a.reshape({3, 1})));
  CHECK(Tensor().equals(Tensor()));
  CHECK_FALSE(Tensor().equals(a));
  CHECK(Tensor(F32, {0}).bitwise_equals(Tensor(F32, {0})));
  CHECK_FALSE(Tensor(F32, {0}).bitwise_equals(Tensor(F32, {0, 1})));

  // Integers beyond 2^53 differ even where their doubles are equal.
  Tensor big1 = Tensor::from_vector(std::vector<std::int64_t>{(std::int64_t{1} << 60)}, {1});
  Tensor big2 = Tensor::from_vector(std::vector<std::int64_t>{(std::int64_t{1} << 60) + 1}, {1});
  CHECK_FALSE(big1.equals(big2));
}

TEST_CASE("tensor to string") {
  CHECK(Tensor::scalar(F32, 2.5).to_string() == "2.5");
  CHECK(Tensor::from_list({1, 0}, B).to_string() == "[true, false]");
  CHECK(Tensor::from_list({-1, 7}, I64).to_string() == "[-1, 7]");
  CHECK(Tensor(F32, {0}).to_string() == "[]");
  CHECK(Tensor(F32, {2, 0}).to_string() == "[[], []]");
  CHECK(Tensor().to_string() == "<undefined tensor>");

  Tensor long_vector(I32, {1001});
  for (std::int64_t i = 0; i < 1001; ++i) long_vector.set_double(i, static_cast<double>(i));
  CHECK(long_vector.to_string() == "[0, 1, 2, ..., 998, 999, 1000]");
  Tensor thousand(I32, {1000});
  CHECK(thousand.to_string().find("...") == std::string::npos);

  Tensor matrix(I32, {40, 40});
  std::string text = matrix.to_string();
  CHECK(text.starts_with("[[0, 0, 0, ..., 0, 0, 0], [0, 0, 0, ..., 0, 0, 0], [0, 0, 0, ..., "
                         "0, 0, 0], ..., [0, 0, 0, ..., 0, 0, 0]"));
  CHECK(text.ends_with("]]"));
}

TEST_CASE("shape helpers") {
  CHECK(dims_numel({}) == 1);
  CHECK(dims_numel({2, 0, 5}) == 0);
  CHECK(dims_numel({3, 4}) == 12);
  CHECK(user_error([] { dims_numel({std::int64_t{1} << 40, std::int64_t{1} << 40}); }) ==
        "shape (1099511627776, 1099511627776) has more elements than fit in int64");
  CHECK(user_error([] { dims_numel({2, -3}); }) == "negative dimension -3 in shape (2, -3)");
  CHECK(dims_to_string({}) == "()");
  CHECK(dims_to_string({3}) == "(3,)");
  CHECK(dims_to_string({2, 3}) == "(2, 3)");
}

TEST_CASE("dtype names and sizes") {
  CHECK(dtype_name(B) == "bool");
  CHECK(dtype_name(I32) == "i32");
  CHECK(dtype_name(F64) == "f64");
  for (DType d : kAllDTypes) CHECK(parse_dtype(dtype_name(d)) == d);
  CHECK(parse_dtype("float32") == F32);
  CHECK(parse_dtype("int64") == I64);
  CHECK(parse_dtype("float16") == std::nullopt);
  CHECK(dtype_size(B) == 1);
  CHECK(dtype_size(I32) == 4);
  CHECK(dtype_size(I64) == 8);
  CHECK(dtype_size(F32) == 4);
  CHECK(dtype_size(F64) == 8);
  CHECK(is_float(F32));
  CHECK_FALSE(is_float(I64));
  CHECK(is_integer(I32));
  CHECK_FALSE(is_integer(B));
}

TEST_CASE("shared variable keeps dtype and shape") {
  SharedVariable w("w", Tensor::from_list({1, 2}));
  CHECK(w.name() == "w");
  CHECK(w.dtype() == F32);
  CHECK(w.shape() == Dims{2});
  Tensor copy = w.get_value();
  copy.set_double(0, 5);
  CHECK(w.get_value().get_double(0) == 1);
  w.set_value(Tensor::from_list({3, 4}));
  CHECK(w.get_value().get_double(1) == 4);
  CHECK(user_error([&] { w.set_value(Tensor::from_list({3, 4, 5})); }) ==
        "shared variable 'w' is f32 (2,); the new value is f32 (3,); a shared variable keeps "
        "the dtype and shape it was created with");
  CHECK(user_error([&] { w.set_value(Tensor()); }) ==
        "shared variable 'w': cannot set an undefined value");
}

// Compiled functions read a shared variable's bytes with the dtype and shape it was created
// with, so its tensor can be read and written in place but never replaced.
static_assert(!std::is_assignable_v<decltype(std::declval<SharedVariable&>().value()), Tensor>);

TEST_CASE("shared variable data writes in place") {
  SharedVariable w("w", Tensor::from_list({1, 2}));
  static_cast<float*>(w.data())[1] = 7;
  CHECK(w.value().get_double(1) == 7);
  CHECK(w.value().shape() == Dims{2});
  CHECK(w.data() == w.value().raw_data());
}

TEST_CASE("released large buffers are reused") {
#if defined(DAMO_SANITIZED)
  constexpr bool kReuse = false;
#else
  constexpr bool kReuse = true;
#endif
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  release_unused_buffers();

  const void* first = nullptr;
  {
    Tensor a = Tensor::empty(DType::Float32, {4000, 1000});
    first = a.data<float>();
  }
  Tensor b = Tensor::empty(DType::Float32, {4000, 1000});
  CHECK((b.data<float>() == first) == kReuse);
  b = Tensor();
  // 16,000,000 bytes round up to 8 huge pages.
  CHECK(release_unused_buffers() == (kReuse ? 16 * kMiB : 0));
  CHECK(release_unused_buffers() == 0);

  // Below 4 MiB nothing is kept, and at most 64 MiB is: the oldest buffers go first.
  { Tensor small = Tensor::empty(DType::Float32, {1000}); }
  CHECK(release_unused_buffers() == 0);
  {
    std::vector<Tensor> five;
    for (int i = 0; i < 5; ++i) five.push_back(Tensor::empty(DType::Float64, {2 * 1024 * 1024}));
  }
  CHECK(release_unused_buffers() == (kReuse ? 64 * kMiB : 0));
  { Tensor large = Tensor::empty(DType::Float64, {10 * 1024 * 1024}); }
  CHECK(release_unused_buffers() == 0);
}
