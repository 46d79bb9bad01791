// Shape inference of the layout ops: transpose, reshape, expand_dims, squeeze,
// broadcast_to, concatenate, slice, take, take_along_axis and one_hot.
#include <doctest/doctest.h>

#include "damo/graph/ops.h"
#include "damo/runtime/signature.h"

using namespace damo;

namespace {

constexpr DType F32 = DType::Float32;
constexpr DType I32 = DType::Int32;
constexpr DType I64 = DType::Int64;

using Ints = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("transpose shapes") {
  Graph g;
  Expr x = g.input("x", F32, {2, "n", 4});
  CHECK(transpose(x).shape() == Shape{4, "n", 2});
  CHECK(transpose(x)->attrs().ints == Ints{2, 1, 0});
  CHECK(transpose(x, {1, 0, 2}).shape() == Shape{"n", 2, 4});
  CHECK(transpose(x, {-1, 0, 1}).shape() == Shape{4, 2, "n"});
  CHECK(transpose(x, {-1, 0, 1})->attrs().ints == Ints{2, 0, 1});
  CHECK(transpose(x, {0, 1, 2}).node() == x.node());
  Expr s = g.input("s", F32, {});
  CHECK(transpose(s).node() == s.node());
  Expr v = g.input("v", F32, {5});
  CHECK(transpose(v).node() == v.node());
}

TEST_CASE("reshape with static sizes") {
  Graph g;
  Expr x = g.input("x", F32, {2, 3});
  CHECK(reshape(x, {3, 2}).shape() == Shape{3, 2});
  CHECK(reshape(x, {3, 2})->op() == OpKind::Reshape);
  CHECK(reshape(x, {-1}).shape() == Shape{6});
  CHECK(reshape(x, {-1, 3}).node() == x.node());
  CHECK(reshape(x, {1, -1, 1}).shape() == Shape{1, 6, 1});
  CHECK(reshape(x, {2, 3}).node() == x.node());
  Expr e = g.input("e", F32, {0, 3});
  CHECK(reshape(e, {3, 0}).shape() == Shape{3, 0});
  Expr s = g.input("s", F32, {});
  CHECK(reshape(s, {1, 1}).shape() == Shape{1, 1});
  CHECK(reshape(s, {-1}).shape() == Shape{1});
  CHECK(reshape(reshape(s, {1, 1}), {}).shape() == Shape{});
}

TEST_CASE("reshape with symbols") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 2, 3});
  CHECK(reshape(x, {"n", 6}).shape() == Shape{"n", 6});
  CHECK(reshape(x, {-1, 6}).shape() == Shape{"n", 6});
  CHECK(reshape(x, {6, -1}).shape() == Shape{6, "n"});
  CHECK(reshape(x, {"n", -1}).shape() == Shape{"n", 6});
  CHECK(reshape(x, {3, "n", 2}).shape() == Shape{3, "n", 2});
  Expr y = g.input("y", F32, {"n", "m"});
  CHECK(reshape(y, {"m", "n"}).shape() == Shape{"m", "n"});
  CHECK(reshape(y, {"m", -1}).shape() == Shape{"m", "n"});
  CHECK(reshape(y, {1, "n", 1, "m"}).shape() == Shape{1, "n", 1, "m"});
  Expr z = g.input("z", F32, {"n", 0});
  CHECK(reshape(z, {0, "n"}).shape() == Shape{0, "n"});
  CHECK_THROWS_WITH_AS(reshape(y, {-1}),
                       "reshape: cannot reshape f32 (n, m) to (-1,): -1 would stand for the product "
                       "of 'm' and 'n', and Damo has no symbolic size for a product of two "
                       "symbols; keep each symbolic axis separate",
                       UserError);
  CHECK_THROWS_WITH_AS(reshape(g.input("w", F32, {"n", 2, "m"}), {-1}),
                       "reshape: cannot reshape f32 (n, 2, m) to (-1,): -1 would stand for the "
                       "product of 'm' and 'n' times 2, and Damo has no symbolic size for a product "
                       "of two symbols; keep each symbolic axis separate",
                       UserError);
}

TEST_CASE("reshape merges a symbolic axis with static ones into a derived size") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 2, 3});
  Expr flat = reshape(x, {-1});
  CHECK(flat.shape() == Shape{Dim::from_symbol("n*6")});
  CHECK(flat.shape().to_string() == "(n*6,)");
  CHECK(reshape(x, {-1, 3}).shape() == Shape{Dim::from_symbol("n*2"), 3});
  CHECK(reshape(x, {3, -1}).shape() == Shape{3, Dim::from_symbol("n*2")});

  // Splitting the derived size again gives back n, and a known factor of it can be named.
  CHECK(reshape(flat, {-1, 6}).shape() == Shape{"n", 6});
  CHECK(reshape(flat, {2, -1}).shape() == Shape{2, Dim::from_symbol("n*3")});
  CHECK(reshape(flat, {"n", 2, 3}).shape() == Shape{"n", 2, 3});
  CHECK(reshape(reshape(x, {-1, 3}), {"n", -1}).shape() == Shape{"n", 6});

  // A derived size n*t-m contains the static factor gcd(t, m): (n-1, 3) flattens to n*3-3,
  // which splits back into (n-1, 3).
  Expr v = g.input("v", F32, {"n", 3});
  Expr tail = slice(v, 0, 1, std::nullopt);
  CHECK(tail.shape() == Shape{Dim::from_symbol("n-1"), 3});
  Expr tail_flat = reshape(tail, {-1});
  CHECK(tail_flat.shape().to_string() == "(n*3-3,)");
  CHECK(reshape(tail_flat, {-1, 3}).shape() == Shape{Dim::from_symbol("n-1"), 3});
  // A slice of a derived size keeps counting from its base.
  CHECK(slice(flat, 0, 2, std::nullopt).shape().to_string() == "(n*6-2,)");

  // Sizes of 0 stay static, and a static 0 on both sides makes both shapes empty.
  Expr z = g.input("z", F32, {"n", 0});
  CHECK(reshape(z, {-1}).shape() == Shape{0});
  CHECK(reshape(z, {0}).shape() == Shape{0});
  CHECK(reshape(z, {0, 5}).shape() == Shape{0, 5});
  CHECK(reshape(z, {Dim("n").times(0)}).shape() == Shape{0});
  // A quotient that is not a whole multiple of n is refused.
  CHECK_THROWS_WITH_AS(reshape(v, {-1, 2}),
                       "reshape: cannot reshape f32 (n, 3) to (-1, 2): -1 would stand for 'n' * 3 "
                       "/ 2, and Damo has no symbolic size for a quotient; give the input an axis "
                       "of size 2 of its own (a shape such as (m, 2)) or use static sizes",
                       UserError);
  CHECK_THROWS_WITH_AS(reshape(flat, {"n", 4, -1}),
                       "reshape: cannot reshape f32 (n*6,) to (n, 4, -1): the element counts do "
                       "not divide",
                       UserError);
}

TEST_CASE("derived symbolic sizes: names, products and quotients") {
  CHECK(Dim("n").times(3).to_string() == "n*3");
  CHECK(Dim("n").times(1) == Dim("n"));
  CHECK(Dim("n").times(0) == Dim(0));
  CHECK(Dim(7).times(3) == Dim(21));
  CHECK(Dim("n").minus(2).times(3).to_string() == "n*3-6");
  CHECK(Dim("n").times(3).minus(2).to_string() == "n*3-2");
  CHECK(Dim::from_symbol("n*3-6").divided(3)->to_string() == "n-2");
  CHECK(Dim::from_symbol("n*6").divided(2)->to_string() == "n*3");
  CHECK_FALSE(Dim::from_symbol("n*3-2").divided(3).has_value());
  CHECK_FALSE(Dim("n").divided(2).has_value());
  CHECK(Dim(12).divided(4) == Dim(3));
  CHECK_FALSE(Dim(12).divided(5).has_value());
  CHECK(Dim::from_symbol("n*3").base_symbol() == "n");
  CHECK(Dim::from_symbol("n*3-1").is_derived());
  // Names that are not canonical are not derived sizes.
  CHECK_THROWS_AS(Dim::from_symbol("n*1"), UserError);
  CHECK_THROWS_AS(Dim::from_symbol("n-2*3"), UserError);
  CHECK_THROWS_AS(Dim::from_symbol("n*03"), UserError);
  CHECK_THROWS_WITH_AS(Dim::from_symbol("n*4611686018427387904").times(2),
                       "the size n*4611686018427387904 times 2 does not fit in 64 bits", UserError);

  SymbolSizes sizes{{"n", 5}};
  CHECK(symbol_size(sizes, "n*3") == 15);
  CHECK(symbol_size(sizes, "n*3-4") == 11);
  CHECK(symbol_size(sizes, "n*3-40") == 0);
  CHECK(symbol_size(sizes, "m*3") == std::nullopt);
  SymbolSizes huge{{"n", std::int64_t{1} << 62}};
  CHECK_THROWS_WITH_AS(symbol_size(huge, "n*4"),
                       "the size n*4 does not fit in 64 bits when n is 4611686018427387904; give n "
                       "a smaller size",
                       UserError);
  // 2n overflows, but 2n - 2 fits.
  CHECK(symbol_size(huge, "n*2-2") == INT64_MAX - 1);
  CHECK_THROWS_WITH_AS(Dim("n").times(-1), "Dim::times: the factor -1 is negative; a size cannot be negative",
                       UserError);
}

TEST_CASE("expand dims and squeeze") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 3});
  CHECK(expand_dims(x, 0).shape() == Shape{1, "n", 3});
  CHECK(expand_dims(x, 2).shape() == Shape{"n", 3, 1});
  CHECK(expand_dims(x, -1).shape() == Shape{"n", 3, 1});
  CHECK(expand_dims(x, -1)->attrs().ints == Ints{2});
  CHECK(expand_dims(x, -3).shape() == Shape{1, "n", 3});
  Expr s = g.input("s", F32, {});
  CHECK(expand_dims(s, 0).shape() == Shape{1});

  Expr y = g.input("y", F32, {1, "n", 1, 3});
  CHECK(squeeze(y).shape() == Shape{"n", 3});
  CHECK(squeeze(y)->attrs().ints == Ints{0, 2});
  CHECK(squeeze(y, 2).shape() == Shape{1, "n", 3});
  CHECK(squeeze(y, -2).shape() == Shape{1, "n", 3});
  CHECK(squeeze(y, {0, 2}).shape() == Shape{"n", 3});
  CHECK(squeeze(x).node() == x.node());
  Expr one = g.input("one", F32, {1});
  CHECK(squeeze(one).shape() == Shape{});
}

TEST_CASE("broadcast to shapes") {
  Graph g;
  Expr v = g.input("v", F32, {3});
  CHECK(broadcast_to(v, {"n", 3}).shape() == Shape{"n", 3});
  CHECK(broadcast_to(v, {"n", 3})->op() == OpKind::BroadcastTo);
  CHECK(broadcast_to(v, {2, 5, 3}).shape() == Shape{2, 5, 3});
  CHECK(broadcast_to(v, {3}).node() == v.node());
  Expr c = g.input("c", F32, {"n", 1});
  CHECK(broadcast_to(c, {"n", 4}).shape() == Shape{"n", 4});
  Expr s = g.input("s", F32, {});
  CHECK(broadcast_to(s, {0, 2}).shape() == Shape{0, 2});
}

TEST_CASE("concatenate shapes and dtype") {
  Graph g;
  Expr a = g.input("a", F32, {2, 3});
  Expr b = g.input("b", F32, {4, 3});
  Expr c = g.input("c", I32, {"n", 2});
  Expr d = g.input("d", F32, {"n", 5});
  CHECK(concatenate({a, b}).shape() == Shape{6, 3});
  CHECK(concatenate({a, b, a}, 0).shape() == Shape{8, 3});
  CHECK(concatenate({a, b}, -2)->attrs().ints == Ints{0});
  CHECK(concatenate({c, d}, 1).shape() == Shape{"n", 7});
  CHECK(concatenate({c, d}, -1).dtype() == F32);
  CHECK(concatenate({c, d}, 1)->input(0)->op() == OpKind::Cast);
  CHECK(concatenate({a}).node() == a.node());
  Expr e = g.input("e", F32, {0, 3});
  CHECK(concatenate({e, a}).shape() == Shape{2, 3});
}

TEST_CASE("slice normalization") {
  Graph g;
  Expr v = g.input("v", F32, {6});
  Expr m = g.input("m", F32, {"n", 5});
  using std::nullopt;
  struct Case {
    std::optional<std::int64_t> start, stop;
    std::int64_t step;
    Ints attrs;
    std::int64_t length;
  };
  // Each expected length is len(range(6)[start:stop:step]) in Python.
  const Case cases[] = {
      {1, 3, 1, {0, 1, 3, 1}, 2},
      {-2, nullopt, 1, {0, 4, 6, 1}, 2},
      {nullopt, -1, 1, {0, 0, 5, 1}, 5},
      {-100, 100, 2, {0, 0, 6, 2}, 3},
      {1, nullopt, 2, {0, 1, 6, 2}, 3},
      {nullopt, nullopt, -1, {0, 5, -1, -1}, 6},
      {4, 0, -1, {0, 4, 0, -1}, 4},
      {nullopt, nullopt, -4, {0, 5, -1, -4}, 2},
      {100, -100, -2, {0, 5, -1, -2}, 3},
      {-1, -3, -1, {0, 5, 3, -1}, 2},
      {3, 3, 1, {0, 0, 0, 1}, 0},
      {4, 1, 1, {0, 0, 0, 1}, 0},
      {1, 4, -1, {0, 0, 0, -1}, 0},
      {-10, nullopt, -1, {0, 0, 0, -1}, 0},
      {10, nullopt, 1, {0, 0, 0, 1}, 0},
  };
  for (const Case& c : cases) {
    Expr s = slice(v, 0, c.start, c.stop, c.step);
    CAPTURE(c.start.value_or(999));
    CAPTURE(c.stop.value_or(999));
    CAPTURE(c.step);
    CHECK(s->op() == OpKind::Slice);
    CHECK(s->attrs().ints == c.attrs);
    CHECK(s.shape() == Shape{c.length});
  }

  CHECK(slice(v, 0, nullopt, nullopt).node() == v.node());
  CHECK(slice(v, 0, 0, 6).node() == v.node());
  CHECK(slice(v, 0, -100, 100).node() == v.node());
  CHECK(slice(v, -1, 1, 3).node() == slice(v, 0, 1, 3).node());
  CHECK(slice(m, 1, 1, 3).shape() == Shape{"n", 2});
  CHECK(slice(m, -1, 1, 3)->attrs().ints == Ints{1, 1, 3, 1});
  CHECK(slice(m, 0, nullopt, nullopt).node() == m.node());
}

TEST_CASE("take shapes") {
  Graph g;
  Expr x = g.input("x", F32, {5, "n", 3});
  Expr i = g.input("i", I64, {"k", 2});
  Expr j = g.input("j", I32, {});
  CHECK(take(x, i, 0).shape() == Shape{"k", 2, "n", 3});
  CHECK(take(x, i, 1).shape() == Shape{5, "k", 2, 3});
  CHECK(take(x, i, -1).shape() == Shape{5, "n", "k", 2});
  CHECK(take(x, i, -1)->attrs().ints == Ints{2});
  CHECK(take(x, j, 2).shape() == Shape{5, "n"});
  CHECK(take(x, j).shape() == Shape{"n", 3});
  CHECK(take(x, i).dtype() == F32);
  Expr e = g.input("e", I64, {0});
  CHECK(take(x, e, 1).shape() == Shape{5, 0, 3});
}

TEST_CASE("take along axis shapes") {
  Graph g;
  Expr x = g.input("x", F32, {"n", 5});
  Expr i = g.input("i", I64, {"n", 2});
  Expr r = g.input("r", I64, {1, 2});
  CHECK(take_along_axis(x, i, 1).shape() == Shape{"n", 2});
  CHECK(take_along_axis(x, i, -1)->attrs().ints == Ints{1});
  CHECK(take_along_axis(x, r, 1).shape() == Shape{"n", 2});
  Expr col = g.input("col", F32, {4, 1});
  Expr row = g.input("row", I32, {1, 3});
  CHECK(take_along_axis(col, row, 0).shape() == Shape{1, 3});
  CHECK(take_along_axis(col, row, 1).shape() == Shape{4, 3});
  CHECK(take_along_axis(x, i, 1).dtype() == F32);
}

TEST_CASE("one hot shapes") {
  Graph g;
  Expr y = g.input("y", I64, {"n"});
  CHECK(one_hot(y, 3).shape() == Shape{"n", 3});
  CHECK(one_hot(y, 3).dtype() == F32);
  CHECK(one_hot(y, 3, I64).dtype() == I64);
  CHECK(one_hot(y, 3, I64)->attrs().ints == Ints{3});
  CHECK(one_hot(y, 0).shape() == Shape{"n", 0});
  Expr s = g.input("s", DType::Int32, {});
  CHECK(one_hot(s, 4).shape() == Shape{4});
  Expr m = g.input("m", I64, {2, "k"});
  CHECK(one_hot(m, 7, DType::Bool).shape() == Shape{2, "k", 7});
}
