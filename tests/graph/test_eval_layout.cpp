// Tests of the evaluator's layout ops and of the scatters that autodiff uses as their
// gradients, against references written with plain index loops.
#include <doctest/doctest.h>

#include <algorithm>

#include "graph/eval_test_util.h"

using namespace damo;
using damo::test::check_values;
using damo::test::values_of;

namespace {

// Row-major offset of index in a tensor of dims.
std::int64_t offset_of(const Dims& index, const Dims& dims) {
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < dims.size(); ++i) offset = offset * dims[i] + index[i];
  return offset;
}

// The index rule of take: one wrap of a negative index, then clamping.
std::int64_t ref_clamp(std::int64_t i, std::int64_t n) {
  if (i < 0) i += n;
  return std::min(std::max(i, std::int64_t{0}), n - 1);
}

Tensor int_tensor(const std::vector<std::int64_t>& values, const Dims& dims) {
  return Tensor::from_vector(values, dims);
}

Expr input_for(Graph& g, const std::string& name, const Tensor& value) {
  return g.input(name, value.dtype(), Shape::from_dims(value.shape()));
}

}  // namespace

TEST_CASE("eval transpose every permutation") {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Bool}) {
    Tensor x = test::random_tensor(dtype, {2, 3, 4}, 31);
    std::vector<int> perm = {0, 1, 2};
    do {
      INFO(dtype_name(dtype), " perm ", perm[0], perm[1], perm[2]);
      Graph g;
      Tensor result = evaluate(transpose(input_for(g, "x", x), perm), {{"x", x}});
      Dims dims = {x.dim(perm[0]), x.dim(perm[1]), x.dim(perm[2])};
      std::vector<double> expected;
      for (std::int64_t i = 0; i < test::numel_of(dims); ++i) {
        Dims out = test::unravel(i, dims);
        Dims in(3);
        for (int k = 0; k < 3; ++k) in[perm[k]] = out[k];
        expected.push_back(x.get_double(offset_of(in, x.shape())));
      }
      check_values(result, dtype, dims, expected);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("eval reshape, expand_dims and squeeze") {
  Graph g;
  Tensor x = test::random_tensor(DType::Float32, {5, 6}, 32);
  Expr in = g.input("x", DType::Float32, Shape{"n", 6});
  Feeds feeds = {{"x", x}};
  check_values(evaluate(reshape(in, {"n", 2, 3}), feeds), DType::Float32, {5, 2, 3}, values_of(x));
  check_values(evaluate(reshape(in, {"n", -1, 1}), feeds), DType::Float32, {5, 6, 1}, values_of(x));
  check_values(evaluate(expand_dims(in, 0), feeds), DType::Float32, {1, 5, 6}, values_of(x));
  check_values(evaluate(expand_dims(in, -1), feeds), DType::Float32, {5, 6, 1}, values_of(x));
  check_values(evaluate(squeeze(expand_dims(in, 1)), feeds), DType::Float32, {5, 6}, values_of(x));

  Tensor y = test::random_tensor(DType::Int64, {2, 3, 4}, 33, -9, 9);
  Expr yin = input_for(g, "y", y);
  check_values(evaluate(reshape(yin, {4, 6}), {{"y", y}}), DType::Int64, {4, 6}, values_of(y));
  check_values(evaluate(reshape(yin, {24}), {{"y", y}}), DType::Int64, {24}, values_of(y));
  Tensor ones = Tensor::full(DType::Float64, {1, 3, 1}, 2);
  check_values(evaluate(squeeze(input_for(g, "o", ones), Axes{0, 2}), {{"o", ones}}),
               DType::Float64, {3}, {2, 2, 2});
}

TEST_CASE("eval broadcast_to with static and symbolic shapes") {
  Graph g;
  Tensor x = test::random_tensor(DType::Float64, {3, 1}, 34);
  Expr in = input_for(g, "x", x);
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected.push_back(x.get_double(j));
  check_values(evaluate(broadcast_to(in, Shape{2, 3, 4}), {{"x", x}}), DType::Float64, {2, 3, 4},
               expected);

  // The size of n comes from another evaluated input.
  Expr row = g.input("r", DType::Float64, Shape{1, 3});
  Expr other = g.input("v", DType::Float64, Shape{"n"});
  Tensor r = test::random_tensor(DType::Float64, {1, 3}, 35);
  Feeds feeds = {{"r", r}, {"v", Tensor::zeros(DType::Float64, {4})}};
  std::vector<Tensor> results = evaluate({broadcast_to(row, Shape{"n", 3}), other}, feeds);
  std::vector<double> rows;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) rows.push_back(r.get_double(j));
  check_values(results[0], DType::Float64, {4, 3}, rows);

  CHECK_THROWS_WITH_AS(evaluate(broadcast_to(row, Shape{"n", 3}), {{"r", r}}),
                       doctest::Contains("symbolic dimension 'n'"), UserError);
}

TEST_CASE("eval concatenate along each axis") {
  Graph g;
  Tensor a = test::random_tensor(DType::Float32, {2, 3}, 36);
  Tensor b = test::random_tensor(DType::Float32, {2, 1}, 37);
  Tensor c = Tensor::zeros(DType::Float32, {2, 0});
  Tensor d = test::random_tensor(DType::Float32, {2, 4}, 38);
  Feeds feeds = {{"a", a}, {"b", b}, {"c", c}, {"d", d}};
  Expr ea = input_for(g, "a", a), eb = input_for(g, "b", b), ec = input_for(g, "c", c),
       ed = input_for(g, "d", d);
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) expected.push_back(a.get_double(i * 3 + j));
    expected.push_back(b.get_double(i));
    for (int j = 0; j < 4; ++j) expected.push_back(d.get_double(i * 4 + j));
  }
  check_values(evaluate(concatenate({ea, eb, ec, ed}, 1), feeds), DType::Float32, {2, 8}, expected);
  check_values(evaluate(concatenate({ed, ed}, -2), feeds), DType::Float32, {4, 4}, [&] {
    std::vector<double> v = values_of(d);
    v.insert(v.end(), v.begin(), v.end());
    return v;
  }());

  // An i32 part is converted to the promoted dtype first.
  Tensor i = Tensor::from_vector(std::vector<std::int32_t>{7, 8}, {2, 1});
  feeds["i"] = i;
  std::vector<double> mixed = {b.get_double(0), 7, b.get_double(1), 8};
  check_values(evaluate(concatenate({eb, input_for(g, "i", i)}, 1), feeds), DType::Float32, {2, 2},
               mixed);
}

TEST_CASE("eval slice with positive and negative steps") {
  struct SliceCase {
    std::optional<std::int64_t> start, stop;
    std::int64_t step;
    std::vector<std::int64_t> rows;  // the selected indices, as Python selects them
  };
  const SliceCase cases[] = {
      {1, 6, 2, {1, 3, 5}},
      {std::nullopt, std::nullopt, -1, {6, 5, 4, 3, 2, 1, 0}},
      {5, 1, -2, {5, 3}},
      {std::nullopt, std::nullopt, 3, {0, 3, 6}},
      {-2, std::nullopt, 1, {5, 6}},
      {4, 2, 1, {}},
      {std::nullopt, -100, -1, {6, 5, 4, 3, 2, 1, 0}},
      {-1, -8, -3, {6, 3, 0}},
      {0, 1, 1, {0}},
  };
  Tensor x = test::random_tensor(DType::Float64, {7, 5}, 39);
  for (const SliceCase& c : cases) {
    INFO("start ", c.start.value_or(-999), " stop ", c.stop.value_or(-999), " step ", c.step);
    Graph g;
    Expr in = input_for(g, "x", x);
    std::vector<double> rows, cols;
    for (std::int64_t r : c.rows)
      for (int j = 0; j < 5; ++j) rows.push_back(x.get_double(r * 5 + j));
    auto n = static_cast<std::int64_t>(c.rows.size());
    check_values(evaluate(slice(in, 0, c.start, c.stop, c.step), {{"x", x}}), DType::Float64,
                 {n, 5}, rows);

    // The same slice along axis 1 of the transpose.
    Tensor t = evaluate(transpose(in), {{"x", x}});
    Expr tin = input_for(g, "t", t);
    for (int i = 0; i < 5; ++i)
      for (std::int64_t r : c.rows) cols.push_back(x.get_double(r * 5 + i));
    check_values(evaluate(slice(tin, 1, c.start, c.stop, c.step), {{"t", t}}), DType::Float64,
                 {5, n}, cols);
  }
}

TEST_CASE("eval take wraps once and clamps") {
  Graph g;
  Tensor x = test::random_tensor(DType::Float32, {4, 5}, 40);
  Tensor idx = int_tensor({0, -1, -5, -6, 7, 2}, {2, 3});
  Expr in = input_for(g, "x", x);
  Feeds feeds = {{"x", x}, {"i", idx}};
  Expr indices = input_for(g, "i", idx);

  std::vector<double> expected;
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 6; ++k)
      expected.push_back(x.get_double(r * 5 + ref_clamp(idx.get_int64(k), 5)));
  check_values(evaluate(take(in, indices, 1), feeds), DType::Float32, {4, 2, 3}, expected);

  expected.clear();
  for (int k = 0; k < 6; ++k)
    for (int c = 0; c < 5; ++c)
      expected.push_back(x.get_double(ref_clamp(idx.get_int64(k), 4) * 5 + c));
  check_values(evaluate(take(in, indices, 0), feeds), DType::Float32, {2, 3, 5}, expected);

  // i32 scalar index.
  Tensor scalar_index = Tensor::from_vector(std::vector<std::int32_t>{-2}, {});
  feeds["s"] = scalar_index;
  std::vector<double> row;
  for (int c = 0; c < 5; ++c) row.push_back(x.get_double(2 * 5 + c));
  check_values(evaluate(take(in, input_for(g, "s", scalar_index), 0), feeds), DType::Float32, {5},
               row);

  // Nothing can be taken from an empty axis: the result is zeros.
  Tensor empty = Tensor::zeros(DType::Float32, {2, 0});
  feeds["e"] = empty;
  check_values(evaluate(take(input_for(g, "e", empty), indices, 1), feeds), DType::Float32,
               {2, 2, 3}, std::vector<double>(12, 0.0));
}

namespace {

// take_along_axis reference: dims of x and indices broadcast outside axis.
std::vector<double> ref_take_along(const Tensor& x, const Tensor& idx, int axis, Dims& dims) {
  dims = test::broadcast_shape(x.shape(), idx.shape());
  dims[axis] = idx.dim(axis);
  std::vector<double> out;
  for (std::int64_t i = 0; i < test::numel_of(dims); ++i) {
    Dims o = test::unravel(i, dims);
    std::int64_t k = idx.get_int64(test::broadcast_offset(o, idx.shape()));
    Dims in = o;
    for (std::size_t d = 0; d < in.size(); ++d)
      if (x.shape()[d] == 1) in[d] = 0;
    in[axis] = ref_clamp(k, x.dim(axis));
    out.push_back(x.get_double(offset_of(in, x.shape())));
  }
  return out;
}

}  // namespace

TEST_CASE("eval take_along_axis broadcasts other axes") {
  struct AlongCase {
    Dims x, idx;
    int axis;
  };
  const AlongCase cases[] = {
      {{3, 4}, {3, 2}, 1}, {{1, 4}, {3, 2}, 1},       {{3, 4}, {1, 2}, 1},
      {{3, 4}, {5, 4}, 0}, {{2, 3, 4}, {2, 1, 5}, 2}, {{2, 3, 1}, {2, 3, 7}, 2},
  };
  for (const AlongCase& c : cases) {
    INFO(dims_to_string(c.x), " ", dims_to_string(c.idx), " axis ", c.axis);
    Graph g;
    Tensor x = test::random_tensor(DType::Float64, c.x, 41);
    Tensor idx = test::random_tensor(DType::Int64, c.idx, 42, -6, 6);
    Dims dims;
    std::vector<double> expected = ref_take_along(x, idx, c.axis, dims);
    Expr e = take_along_axis(input_for(g, "x", x), input_for(g, "i", idx), c.axis);
    check_values(evaluate(e, {{"x", x}, {"i", idx}}), DType::Float64, dims, expected);
  }
}

TEST_CASE("eval one_hot gives zero rows out of range") {
  Graph g;
  Tensor idx = int_tensor({0, 2, -1, 3, 5}, {5});
  Expr in = input_for(g, "i", idx);
  std::vector<double> expected = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  for (DType dtype : {DType::Float32, DType::Int32, DType::Bool}) {
    INFO(dtype_name(dtype));
    check_values(evaluate(one_hot(in, 4, dtype), {{"i", idx}}), dtype, {5, 4}, expected);
  }
  Tensor grid = int_tensor({1, 0, 1, 1}, {2, 2});
  check_values(evaluate(one_hot(input_for(g, "j", grid), 2), {{"j", grid}}), DType::Float32,
               {2, 2, 2}, {0, 1, 1, 0, 0, 1, 0, 1});
}

TEST_CASE("eval slice_scatter writes into zeros") {
  Graph g;
  Tensor src = test::random_tensor(DType::Float32, {2, 3}, 43);
  Expr in = input_for(g, "s", src);
  // (start, stop, step) normalized as slice() stores them; stop -1 with a negative step
  // means "before index 0".
  const std::int64_t cases[][4] = {{1, 6, 2}, {6, -1, -3}, {0, 3, 1}};
  const std::vector<std::int64_t> columns[] = {{1, 3, 5}, {6, 3, 0}, {0, 1, 2}};
  for (int c = 0; c < 3; ++c) {
    INFO("case ", c);
    std::vector<double> expected(14, 0.0);
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 3; ++k) expected[r * 7 + columns[c][k]] = src.get_double(r * 3 + k);
    Expr e = slice_scatter(in, Shape{2, 7}, 1, cases[c][0], cases[c][1], cases[c][2]);
    check_values(evaluate(e, {{"s", src}}), DType::Float32, {2, 7}, expected);
  }
}

TEST_CASE("eval index_add accumulates repeated indices") {
  Graph g;
  for (DType dtype : {DType::Float64, DType::Int64}) {
    INFO(dtype_name(dtype));
    Tensor src = test::random_tensor(dtype, {3, 2, 2}, 44, -9, 9);
    Tensor idx = int_tensor({0, -1, 0, 9}, {2, 2});
    Expr e = index_add(input_for(g, std::string("s") + std::string(dtype_name(dtype)), src),
                       input_for(g, "i", idx), Shape{3, 4}, 1);
    std::vector<double> expected(12, 0.0);
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 4; ++k)
        expected[r * 4 + ref_clamp(idx.get_int64(k), 4)] += src.get_double(r * 4 + k);
    Feeds feeds = {{std::string("s") + std::string(dtype_name(dtype)), src}, {"i", idx}};
    check_values(evaluate(e, feeds), dtype, {3, 4}, expected);
  }
}

TEST_CASE("eval scatter_add_along_axis sums over broadcast axes") {
  struct ScatterCase {
    Dims out, src, idx;
    int axis;
  };
  const ScatterCase cases[] = {
      {{3, 4}, {3, 2}, {3, 2}, 1},          {{1, 4}, {3, 2}, {3, 2}, 1},
      {{3, 4}, {3, 2}, {1, 2}, 1},          {{5, 3}, {2, 3}, {2, 3}, 0},
      {{2, 3, 4}, {2, 3, 5}, {2, 1, 5}, 2},
  };
  for (const ScatterCase& c : cases) {
    INFO(dims_to_string(c.out), " ", dims_to_string(c.src), " axis ", c.axis);
    Graph g;
    Tensor src = test::random_tensor(DType::Float32, c.src, 45);
    Tensor idx = test::random_tensor(DType::Int32, c.idx, 46, -6, 6);
    std::vector<double> expected(static_cast<std::size_t>(test::numel_of(c.out)), 0.0);
    for (std::int64_t i = 0; i < src.numel(); ++i) {
      Dims s = test::unravel(i, c.src);
      std::int64_t k = idx.get_int64(test::broadcast_offset(s, c.idx));
      Dims target = s;
      for (std::size_t d = 0; d < target.size(); ++d)
        if (c.out[d] == 1) target[d] = 0;
      target[c.axis] = ref_clamp(k, c.out[c.axis]);
      expected[offset_of(target, c.out)] += src.get_double(i);
    }
    Expr e = scatter_add_along_axis(input_for(g, "s", src), input_for(g, "i", idx),
                                    Shape::from_dims(c.out), c.axis);
    check_values(evaluate(e, {{"s", src}, {"i", idx}}), DType::Float32, c.out, expected,
                 {1e-6, 1e-6});
  }
}
