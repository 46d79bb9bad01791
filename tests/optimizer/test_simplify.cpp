// The simplifier's rule table, case by case: each line is an expression and the text it
// must simplify to (canonical order first, as in the pipelines). Every float case is also
// evaluated before and after on NaN, infinities, signed zeros and ordinary numbers, and
// the values must agree bit for bit.
#include <doctest/doctest.h>

#include "damo/optimizer/canonicalize.h"
#include "damo/optimizer/simplify.h"
#include "optimizer_test_util.h"

namespace damo {
namespace {

using testing::check_same_values;

// Inputs shared by the cases: float vectors x, y; an int vector i, j; bools b, c; a matrix.
struct Inputs {
  Graph graph;
  Expr x = graph.input("x", DType::Float32, {144});
  Expr y = graph.input("y", DType::Float32, {144});
  Expr i = graph.input("i", DType::Int32, {144});
  Expr j = graph.input("j", DType::Int32, {144});
  Expr b = graph.input("b", DType::Bool, {144});
  Expr m = graph.input("m", DType::Float32, {2, 3});
  Expr t = graph.input("t", DType::Float32, {2, 3, 4});
  Expr d = graph.input("d", DType::Float64, {144});

  // x and y hold every pair of special values; i and j every pair of a few integers.
  Feeds feeds() const {
    auto [a, c] = testing::special_pairs(DType::Float32);
    Tensor ints_a = Tensor::empty(DType::Int32, {144});
    Tensor ints_b = Tensor::empty(DType::Int32, {144});
    std::vector<double> ints = {0, 1, -1, 2, -7, 5, 100, -100, 2147483647, -2147483648.0, 3, -3};
    for (std::int64_t k = 0; k < 144; ++k) {
      ints_a.set_double(k, ints[static_cast<std::size_t>(k / 12)]);
      ints_b.set_double(k, ints[static_cast<std::size_t>(k % 12)]);
    }
    Tensor bools = Tensor::empty(DType::Bool, {144});
    for (std::int64_t k = 0; k < 144; ++k) bools.set_double(k, (k * 7) % 3 == 0);
    return {{"x", a},
            {"y", c},
            {"i", ints_a},
            {"j", ints_b},
            {"b", bools},
            {"m", testing::random_tensor(DType::Float32, {2, 3}, 7)},
            {"t", testing::random_tensor(DType::Float32, {2, 3, 4}, 8)},
            {"d", a.cast(DType::Float64)}};
  }
};

// Canonical order, then the simplifier, repeated until nothing changes.
Expr simplified(Expr e, bool fast_math = false) {
  Pipeline pipeline("test", testing::test_options().pipeline_options);
  pipeline.repeat(8, pass_list(std::make_unique<Canonicalize>(),
                               std::make_unique<Simplify>(SimplifyOptions{fast_math, {}})));
  return pipeline.run({e}).roots[0];
}

struct Case {
  const char* name;
  Expr input;
  const char* expected;
};

void check_case(const Case& c, const Feeds& feeds, bool fast_math = false) {
  Expr actual = simplified(c.input, fast_math);
  INFO("case " << c.name << ": input " << to_infix(c.input) << "; actual " << to_infix(actual)
               << "; expected " << c.expected);
  CHECK(to_infix(actual) == c.expected);
  CHECK(actual.dtype() == c.input.dtype());
  CHECK(actual.shape() == c.input.shape());
  if (!fast_math) check_same_values(evaluate(actual, feeds), evaluate(c.input, feeds), c.name);
}

TEST_CASE("simplify rule table") {
  Inputs in;
  Expr x = in.x, y = in.y, b = in.b;
  std::vector<Case> cases = {
      {"add negative zero", x + (-0.0), "x"},
      {"add negative zero first", -0.0 + x, "x"},
      {"add positive zero kept", x + 0.0, "x + 0"},
      {"sub positive zero", x - 0.0, "x"},
      {"sub negative zero kept", x - (-0.0), "x - -0"},
      {"negative zero minus", -0.0 - x, "-x"},
      {"zero minus kept", 0.0 - x, "0 - x"},
      {"mul one", x * 1.0, "x"},
      {"one mul", 1.0 * x, "x"},
      {"mul minus one", x * -1.0, "-x"},
      {"mul zero kept", x * 0.0, "x * 0"},
      {"mul self", x * x, "square(x)"},
      {"div one", x / 1.0, "x"},
      {"div minus one", x / -1.0, "-x"},
      {"div self kept", x / x, "x / x"},
      {"one over", 1.0 / x, "reciprocal(x)"},
      {"sub self kept", x - x, "x - x"},
      {"neg neg", -(-x), "x"},
      {"sub neg", x - (-y), "x + y"},
      {"add neg", x + (-y), "x - y"},
      {"mul neg neg", (-x) * (-y), "x * y"},
      {"div neg neg", (-x) / (-y), "x / y"},
      {"pow one", pow(x, literal_like(x, 1.0)), "x"},
      {"pow two", pow(x, literal_like(x, 2.0)), "square(x)"},
      {"pow zero", pow(x, literal_like(x, 0.0)), "broadcast_to(1, [144])"},
      {"pow minus one", pow(x, literal_like(x, -1.0)), "reciprocal(x)"},
      {"pow half kept", pow(x, literal_like(x, 0.5)), "x ** 0.5"},
      {"pow half of abs", pow(abs(x), literal_like(x, 0.5)), "sqrt(abs(x))"},
      {"pow half of exp", pow(exp(x), literal_like(x, 0.5)), "sqrt(exp(x))"},
      {"square neg", square(-x), "square(x)"},
      {"abs neg", abs(-x), "abs(x)"},
      {"abs abs", abs(abs(x)), "abs(x)"},
      {"relu relu", relu(relu(x)), "relu(x)"},
      {"floor floor", floor(floor(x)), "floor(x)"},
      {"maximum self", maximum(x, x), "x"},
      {"where same", where(b, x, x), "x"},
      {"where not", where(!b, x, y), "where(b, y, x)"},
      {"not not", !(!b), "b"},
      {"not eq", !(x == y), "x != y"},
      {"not lt kept", !(x < y), "not x < y"},
      {"neg lt neg", -x < -y, "x > y"},
      {"neg eq neg", -x == -y, "x == y"},
      {"lt self", x < x, "broadcast_to(false, [144])"},
      {"le self kept", x <= x, "x <= x"},
      {"and true", b & true, "b"},
      {"or false", b | false, "b"},
      {"cast f32 f64 f32", cast(cast(x, DType::Float64), DType::Float32), "x"},
      {"cast f64 f32 f64 kept", cast(cast(in.d, DType::Float32), DType::Float64),
       "cast(cast(d, f32), f64)"},
  };
  Feeds feeds = in.feeds();
  for (const Case& c : cases) check_case(c, feeds);
}

TEST_CASE("simplify integer rules") {
  Inputs in;
  Expr i = in.i, j = in.j;
  std::vector<Case> cases = {
      {"add zero", i + 0, "i"},
      {"zero add", 0 + i, "i"},
      {"mul zero", i * 0, "broadcast_to(0, [144])"},
      {"sub self", i - i, "broadcast_to(0, [144])"},
      {"zero minus", 0 - i, "-i"},
      {"floor div one", floor_div(i, literal_like(i, 1)), "i"},
      {"mod one", i % 1, "broadcast_to(0, [144])"},
      {"eq self", i == i, "broadcast_to(true, [144])"},
      {"not lt", !(i < j), "i >= j"},
      {"neg lt neg kept", -i < -j, "-i < -j"},
      {"pow two", pow(i, literal_like(i, 2)), "square(i)"},
      {"cast i32 i64 i32", cast(cast(i, DType::Int64), DType::Int32), "i"},
  };
  Feeds feeds = in.feeds();
  for (const Case& c : cases) check_case(c, feeds);
}

TEST_CASE("simplify layout rules") {
  Inputs in;
  Expr m = in.m, t = in.t;
  std::vector<Case> cases = {
      {"transposes cancel", transpose(transpose(m)), "m"},
      {"transposes compose", transpose(transpose(t, {1, 2, 0}), {1, 2, 0}),
       "transpose(t, [2, 0, 1])"},
      {"reshape reshape", reshape(reshape(m, {6}), {3, 2}), "reshape(m, [3, 2])"},
      {"reshape back", reshape(reshape(m, {6}), {2, 3}), "m"},
      {"squeeze expand_dims", squeeze(expand_dims(m, 0), Axes(0)), "m"},
      {"expand_dims squeeze", expand_dims(squeeze(expand_dims(m, 1), Axes(1)), 1),
       "expand_dims(m, 1)"},
      {"broadcast broadcast", broadcast_to(broadcast_to(m, Shape{4, 2, 3}), Shape{5, 4, 2, 3}),
       "broadcast_to(m, [5, 4, 2, 3])"},
      {"slices compose", slice(slice(t, 2, 1, std::nullopt), 2, 1, std::nullopt), "t[:, :, 2:]"},
      {"slices compose with steps", slice(slice(in.x, 0, 3, std::nullopt, 2), 0, 1, 60, 3),
       "x[5:120:6]"},
      {"slices compose backwards", slice(slice(in.x, 0, std::nullopt, std::nullopt, -1), 0, 4, std::nullopt, 5),
       "x[139:3:-5]"},
      {"slices compose to the start", slice(slice(in.x, 0, 10, std::nullopt), 0, std::nullopt, std::nullopt, -1),
       "x[:9:-1]"},
      {"slices compose empty", slice(slice(in.x, 0, 3, std::nullopt), 0, 5, 5), "x[:0]"},
      {"slices on two axes kept", slice(slice(t, 1, 1, std::nullopt), 2, 1, std::nullopt),
       "t[:, 1:, 1:]"},
  };
  Feeds feeds = in.feeds();
  for (const Case& c : cases) check_case(c, feeds);
}

TEST_CASE("simplify composes every pair of slices") {
  // Bounds from -15 to 15 or open, and steps of either sign, over 13 elements: each pair of
  // slices becomes one slice (or the input itself) with the same values.
  Graph g;
  Expr v = g.input("v", DType::Float32, {13});
  Feeds feeds = {{"v", testing::random_tensor(DType::Float32, {13}, 9)}};
  const std::vector<std::optional<std::int64_t>> bounds = {std::nullopt, -15, -4, 0, 2, 7, 12, 15};
  int pairs = 0;
  for (std::int64_t inner_step : {-3, -1, 1, 2})
    for (std::int64_t outer_step : {-2, -1, 1, 4})
      for (std::size_t a = 0; a < bounds.size(); a += 2)
        for (std::size_t b = 1; b < bounds.size(); b += 3)
          for (std::size_t c = 0; c < bounds.size(); c += 3) {
            Expr inner = slice(v, 0, bounds[a], bounds[b], inner_step);
            Expr input = slice(inner, 0, bounds[c], bounds[(c + 5) % bounds.size()], outer_step);
            Expr actual = simplified(input);
            INFO(to_infix(input) << " -> " << to_infix(actual));
            CHECK(actual.shape() == input.shape());
            bool single = actual.node() == v.node() ||
                          (actual->op() == OpKind::Slice && actual->input(0) == v.node());
            CHECK(single);
            check_same_values(evaluate(actual, feeds), evaluate(input, feeds), "slice pair");
            ++pairs;
          }
  CHECK(pairs == 4 * 4 * 4 * 3 * 3);
}

TEST_CASE("fast-math rules are off by default") {
  Inputs in;
  Expr x = in.x;
  CHECK(to_infix(simplified(x * 0.0)) == "x * 0");
  CHECK(to_infix(simplified(x - x)) == "x - x");
  CHECK(to_infix(simplified(x / x)) == "x / x");
  CHECK(to_infix(simplified(x + 0.0)) == "x + 0");
}

TEST_CASE("fast-math rules apply under the option") {
  Inputs in;
  Expr x = in.x;
  Feeds feeds = in.feeds();
  std::vector<Case> cases = {
      {"mul zero", x * 0.0, "broadcast_to(0, [144])"},
      {"sub self", x - x, "broadcast_to(0, [144])"},
      {"div self", x / x, "broadcast_to(1, [144])"},
      {"add zero", x + 0.0, "x"},
  };
  for (const Case& c : cases) check_case(c, feeds, true);
}

TEST_CASE("simplify golden dump") {
  Graph g;
  Expr x = g.input("x", DType::Float32, {3});
  Expr e = -(-(x * 1.0)) + (-0.0);
  // Each literal is a weak f64 constant first (%1, %6) and becomes f32 where it meets x.
  CHECK(dump({e}) ==
        "%8 = add f32 (3,)\n"
        "  %5 = neg f32 (3,)\n"
        "    %4 = neg f32 (3,)\n"
        "      %3 = mul f32 (3,)\n"
        "        %0 = input f32 (3,) x\n"
        "        %2 = constant f32 () weak 1\n"
        "  %7 = constant f32 () weak -0\n");
  CHECK(dump({simplified(e)}) == "%0 = input f32 (3,) x\n");
}

}  // namespace
}  // namespace damo
