// The algebraic rules, one per line: name, pattern, replacement and an optional condition.
// Commutative operands arrive in canonical order (constants last), so each rule is written
// for that order only. A replacement takes the node's dtype and shape: a smaller result is
// broadcast, and a rule whose result would have another dtype does not fire.
//
// Why rules that look exact are missing: x + 0.0 -> x turns -0 into +0; 0 - x -> -x turns
// +0 into -0 (only -0 - x is -x); x ** 0.5 -> sqrt(x) differs at -0 and -inf; not(x < y) ->
// x >= y and x == x -> true differ at NaN; -x < -y -> y < x fails for the minimum integer,
// whose negation is itself.
#include "simplify_rules.h"

#include <cmath>
#include <optional>

namespace damo::detail {

namespace {

using namespace damo::pattern;

// Constant patterns, by what every element must be.
const Pattern one = constant(1);
const Pattern minus_one = constant(-1);
const Pattern two = constant(2);
const Pattern half = constant(0.5);
const Pattern zero = constant(0);  // either sign
const Pattern positive_zero =
    constant_where([](double v) { return v == 0 && !std::signbit(v); }, 0);
const Pattern negative_zero =
    constant_where([](double v) { return v == 0 && std::signbit(v); }, -0.0);
const Pattern true_value = constant_where([](double v) { return v != 0; }, 1);
const Pattern false_value = constant_where([](double v) { return v == 0; }, 0);

Pattern eq(Pattern a, Pattern b) { return op(OpKind::Eq, {std::move(a), std::move(b)}); }
Pattern ne(Pattern a, Pattern b) { return op(OpKind::Ne, {std::move(a), std::move(b)}); }
Pattern lt(Pattern a, Pattern b) { return op(OpKind::Lt, {std::move(a), std::move(b)}); }
Pattern le(Pattern a, Pattern b) { return op(OpKind::Le, {std::move(a), std::move(b)}); }
Pattern gt(Pattern a, Pattern b) { return op(OpKind::Gt, {std::move(a), std::move(b)}); }
Pattern ge(Pattern a, Pattern b) { return op(OpKind::Ge, {std::move(a), std::move(b)}); }
Pattern cast(Pattern a) { return op(OpKind::Cast, {std::move(a)}); }
Pattern transpose(Pattern a) { return op(OpKind::Transpose, {std::move(a)}); }
Pattern reshape(Pattern a) { return op(OpKind::Reshape, {std::move(a)}); }
Pattern expand_dims(Pattern a) { return op(OpKind::ExpandDims, {std::move(a)}); }
Pattern squeeze(Pattern a) { return op(OpKind::Squeeze, {std::move(a)}); }
Pattern broadcast_to(Pattern a) { return op(OpKind::BroadcastTo, {std::move(a)}); }
Pattern slice(Pattern a) { return op(OpKind::Slice, {std::move(a)}); }

// Conditions.
Condition is_float_var(Var v) {
  return [v](const Match& m, const Node&) { return is_float(m[v]->dtype()); };
}

Condition is_integer_var(Var v) {
  return [v](const Match& m, const Node&) { return !is_float(m[v]->dtype()); };
}

// True when no element of node can be -0 or -inf, where x ** 0.5 and sqrt(x) differ
// (pow gives +0 and +inf, sqrt gives -0 and NaN). Elsewhere sqrt(x) is the correctly
// rounded x ** 0.5; glibc's powf can differ from it in the last bit.
bool never_negative_zero_or_minus_infinity(const Node& node) {
  switch (node.op()) {
  case OpKind::Abs:
  case OpKind::Exp:
  case OpKind::Square:
  case OpKind::Sigmoid:
  case OpKind::Softplus:
  case OpKind::Relu: return true;
  case OpKind::Cast: return !is_float(node.input(0)->dtype());
  case OpKind::Constant: {
    const Tensor& v = node.value();
    for (std::int64_t i = 0; i < v.numel(); ++i) {
      double e = v.get_double(i);
      if ((e == 0 && std::signbit(e)) || e == -INFINITY) return false;
    }
    return true;
  }
  default: return false;
  }
}

Condition no_negative_zero_or_minus_infinity(Var v) {
  return [v](const Match& m, const Node&) { return never_negative_zero_or_minus_infinity(*m[v]); };
}

// True when converting from -> to keeps every value, so a later cast gets the same value.
bool lossless_cast(DType from, DType to) {
  if (from == to || from == DType::Bool) return true;
  switch (from) {
  case DType::Int32: return to == DType::Int64 || to == DType::Float64;
  case DType::Float32: return to == DType::Float64;
  default: return false;
  }
}

// Builders of replacements that need attributes.
Expr compose_transposes(const Match& m, const Node& root) {
  const auto& inner = m[y]->attrs().ints;
  const auto& outer = root.attrs().ints;
  std::vector<int> perm;
  for (std::int64_t axis : outer)
    perm.push_back(static_cast<int>(inner[static_cast<std::size_t>(axis)]));
  return damo::transpose(m.expr(x), perm);
}

// One slice in place of a slice of a slice along the same axis. The outer slice's k-th
// element is element s2 + k * t2 of the inner slice, which is element
// s1 + (s2 + k * t2) * t1 of x.
// On a symbolic axis both slices count their stops from the end, so x[s1:-e1][s2:-e2] is
// x[s1 + s2:-(e1 + e2)].
bool slices_same_axis(const Match& m, const Node& root) {
  if (m[y]->attr(0) != root.attr(0)) return false;
  if (!slice_counts_from_end(root)) return true;
  std::int64_t start = 0, stop = 0;
  return !__builtin_add_overflow(m[y]->attr(1), root.attr(1), &start) &&
         !__builtin_add_overflow(m[y]->attr(2), root.attr(2), &stop) && start <= INT64_MAX + stop;
}

Expr compose_slices(const Match& m, const Node& root) {
  int axis = static_cast<int>(root.attr(0));
  if (slice_counts_from_end(root)) {
    std::int64_t stop = m[y]->attr(2) + root.attr(2);
    return damo::slice(m.expr(x), axis, m[y]->attr(1) + root.attr(1),
                       stop == 0 ? std::nullopt : std::optional<std::int64_t>(stop));
  }
  std::int64_t length = root.shape()[axis].size();
  if (length == 0) return damo::slice(m.expr(x), axis, 0, 0);
  std::int64_t step = m[y]->attr(3) * root.attr(3);
  std::int64_t start = m[y]->attr(1) + root.attr(1) * m[y]->attr(3);
  std::int64_t last = start + (length - 1) * step;
  // A negative stop would count from the end, so a backward slice that ends at element 0
  // leaves its stop open.
  std::optional<std::int64_t> stop = last + (step > 0 ? 1 : -1);
  if (*stop < 0) stop = std::nullopt;
  return damo::slice(m.expr(x), axis, start, stop, step);
}

Expr reshape_to_root(const Match& m, const Node& root) {
  return damo::reshape(m.expr(x), root.shape().dims());
}

Expr broadcast_to_root(const Match& m, const Node& root) {
  return damo::broadcast_to(m.expr(x), root.shape());
}

Expr expand_dims_like_y(const Match& m, const Node&) {
  return damo::expand_dims(m.expr(x), static_cast<int>(m[y]->attr(0)));
}

Expr cast_to_root(const Match& m, const Node& root) { return damo::cast(m.expr(x), root.dtype()); }

bool squeezes_expanded_axis(const Match& m, const Node& root) {
  return root.attrs().ints == std::vector<std::int64_t>{m[y]->attr(0)};
}

bool expands_squeezed_axis(const Match& m, const Node& root) {
  return m[y]->attrs().ints == std::vector<std::int64_t>{root.attr(0)};
}

bool is_scalar_var(const Match& m, const Node&) { return m[x]->rank() == 0; }

bool first_cast_lossless(const Match& m, const Node&) {
  return lossless_cast(m[x]->dtype(), m[y]->dtype());
}

}  // namespace

// clang-format off: one rule per line.
std::vector<Rule> exact_simplify_rules() {
  return {
      // Identities of arithmetic.
      {"add_negative_zero", add(x, negative_zero), x, is_float_var(x)},
      {"add_zero_integer", add(x, zero), x, is_integer_var(x)},
      {"sub_positive_zero", sub(x, positive_zero), x},
      {"negative_zero_minus", sub(negative_zero, x), neg(x), is_float_var(x)},
      {"zero_minus_integer", sub(zero, x), neg(x), is_integer_var(x)},
      {"sub_self_integer", sub(x, x), constant(0), is_integer_var(x)},
      {"mul_one", mul(x, one), x},
      {"mul_minus_one", mul(x, minus_one), neg(x)},
      {"mul_zero_integer", mul(x, zero), constant(0), is_integer_var(x)},
      {"mul_self", mul(x, x), square(x)},
      {"div_one", div(x, one), x},
      {"div_minus_one", div(x, minus_one), neg(x)},
      {"one_over", div(one, x), reciprocal(x)},
      {"floor_div_one_integer", floor_div(x, one), x, is_integer_var(x)},
      {"mod_one_integer", mod(x, one), constant(0), is_integer_var(x)},
      {"pow_zero", pow(x, zero), constant(1)},
      {"pow_one", pow(x, one), x},
      {"pow_two", pow(x, two), square(x)},
      {"pow_minus_one", pow(x, minus_one), reciprocal(x), is_float_var(x)},
      {"pow_half", pow(x, half), sqrt(x), no_negative_zero_or_minus_infinity(x)},

      // Negations.
      {"neg_neg", neg(neg(x)), x},
      {"sub_neg", sub(x, neg(y)), add(x, y)},
      {"add_neg", add(x, neg(y)), sub(x, y)},
      {"mul_neg_neg", mul(neg(x), neg(y)), mul(x, y)},
      {"div_neg_neg", div(neg(x), neg(y)), div(x, y)},
      {"square_neg", square(neg(x)), square(x)},
      {"square_abs", square(abs(x)), square(x)},
      {"abs_neg", abs(neg(x)), abs(x)},
      {"neg_expand_dims_neg", neg(bind(y, expand_dims(neg(x)))), build(expand_dims_like_y)},
      {"neg_reshape_neg", neg(reshape(neg(x))), build(reshape_to_root)},

      // Idempotent ops.
      {"abs_abs", abs(abs(x)), abs(x)},
      {"relu_relu", relu(relu(x)), relu(x)},
      {"sign_sign", sign(sign(x)), sign(x)},
      {"floor_floor", floor(floor(x)), floor(x)},
      {"ceil_ceil", ceil(ceil(x)), ceil(x)},
      {"round_round", round(round(x)), round(x)},
      {"maximum_self", maximum(x, x), x},
      {"minimum_self", minimum(x, x), x},

      // Selection and logic.
      {"where_same", where(y, x, x), x},
      {"where_not", where(logical_not(y), x, z), where(y, z, x)},
      {"where_true", where(true_value, x, y), x},
      {"where_false", where(false_value, x, y), y},
      {"not_not", logical_not(logical_not(x)), x},
      {"not_eq", logical_not(eq(x, y)), ne(x, y)},
      {"not_ne", logical_not(ne(x, y)), eq(x, y)},
      {"not_lt_integer", logical_not(lt(x, y)), ge(x, y), is_integer_var(x)},
      {"not_le_integer", logical_not(le(x, y)), gt(x, y), is_integer_var(x)},
      {"not_gt_integer", logical_not(gt(x, y)), le(x, y), is_integer_var(x)},
      {"not_ge_integer", logical_not(ge(x, y)), lt(x, y), is_integer_var(x)},
      {"and_true", logical_and(x, true_value), x},
      {"and_false", logical_and(x, false_value), constant(0)},
      {"or_false", logical_or(x, false_value), x},
      {"or_true", logical_or(x, true_value), constant(1)},
      {"and_self", logical_and(x, x), x},
      {"or_self", logical_or(x, x), x},

      // Comparisons.
      {"lt_self", lt(x, x), constant(0)},
      {"gt_self", gt(x, x), constant(0)},
      {"eq_self_integer", eq(x, x), constant(1), is_integer_var(x)},
      {"ne_self_integer", ne(x, x), constant(0), is_integer_var(x)},
      {"le_self_integer", le(x, x), constant(1), is_integer_var(x)},
      {"ge_self_integer", ge(x, x), constant(1), is_integer_var(x)},
      {"eq_neg_neg", eq(neg(x), neg(y)), eq(x, y)},
      {"ne_neg_neg", ne(neg(x), neg(y)), ne(x, y)},
      {"lt_neg_neg", lt(neg(x), neg(y)), gt(x, y), is_float_var(x)},
      {"le_neg_neg", le(neg(x), neg(y)), ge(x, y), is_float_var(x)},
      {"gt_neg_neg", gt(neg(x), neg(y)), lt(x, y), is_float_var(x)},
      {"ge_neg_neg", ge(neg(x), neg(y)), le(x, y), is_float_var(x)},

      // Casts.
      {"cast_cast", cast(bind(y, cast(x))), build(cast_to_root), first_cast_lossless},

      // Layout.
      {"transpose_transpose", transpose(bind(y, transpose(x))), build(compose_transposes)},
      {"reshape_reshape", reshape(reshape(x)), build(reshape_to_root)},
      {"reshape_expand_dims", reshape(expand_dims(x)), build(reshape_to_root)},
      {"reshape_squeeze", reshape(squeeze(x)), build(reshape_to_root)},
      {"squeeze_expand_dims", squeeze(bind(y, expand_dims(x))), x, squeezes_expanded_axis},
      {"expand_dims_squeeze", expand_dims(bind(y, squeeze(x))), x, expands_squeezed_axis},
      {"broadcast_broadcast", broadcast_to(broadcast_to(x)), build(broadcast_to_root)},
      {"slice_slice", slice(bind(y, slice(x))), build(compose_slices), slices_same_axis},
      {"reshape_broadcast_scalar", reshape(broadcast_to(x)), build(broadcast_to_root),
       is_scalar_var},
      {"expand_dims_broadcast_scalar", expand_dims(broadcast_to(x)), build(broadcast_to_root),
       is_scalar_var},
      {"squeeze_broadcast_scalar", squeeze(broadcast_to(x)), build(broadcast_to_root),
       is_scalar_var},
  };
}
// clang-format on

// clang-format off: one rule per line.
std::vector<Rule> fast_math_simplify_rules() {
  return {
      {"fast_add_zero", add(x, zero), x},        {"fast_sub_zero", sub(x, zero), x},
      {"fast_sub_self", sub(x, x), constant(0)}, {"fast_mul_zero", mul(x, zero), constant(0)},
      {"fast_div_self", div(x, x), constant(1)},
  };
}
// clang-format on

}  // namespace damo::detail
