// Op factories: the only way to build non-leaf nodes. Each checks its operands, infers the
// result dtype and shape, and throws UserError naming the op and the operand shapes when
// they do not fit. Semantics follow NumPy unless stated here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// A set of axes for a reduction; the default is every axis.
class Axes {
 public:
  Axes() = default;
  Axes(int axis) : axes_(std::vector<std::int64_t>{axis}) {}
  Axes(std::initializer_list<std::int64_t> axes) : axes_(std::vector<std::int64_t>(axes)) {}
  Axes(std::vector<std::int64_t> axes) : axes_(std::move(axes)) {}

  bool all() const { return !axes_.has_value(); }
  /// Returns the listed axes. Throws UserError when all() is true, because then no list
  /// was given.
  const std::vector<std::int64_t>& list() const {
    if (!axes_)
      throw UserError("Axes::list: these axes mean every axis and contain no list; check all() "
                      "first");
    return *axes_;
  }

 private:
  std::optional<std::vector<std::int64_t>> axes_;
};

// Unary elementwise. Transcendental ops on integer or bool operands compute in float32.
Expr abs(Expr x);
Expr sign(Expr x);  // -1, 0 or 1; NaN stays NaN
Expr exp(Expr x);
Expr expm1(Expr x);
Expr log(Expr x);
Expr log1p(Expr x);
Expr log2(Expr x);
Expr log10(Expr x);
Expr erf(Expr x);  // the error function, 2 / sqrt(pi) times the integral of exp(-t^2) from 0 to x
Expr erfc(Expr x);  // 1 - erf(x), without the cancellation of that difference for large x
Expr sqrt(Expr x);
Expr square(Expr x);
Expr reciprocal(Expr x);
Expr sin(Expr x);
Expr cos(Expr x);
Expr tanh(Expr x);
Expr sigmoid(Expr x);
Expr softplus(Expr x);  // log(1 + exp(x)), computed without overflow
Expr relu(Expr x);      // x where x > 0 or NaN, else +0
// Activations built from the ops above, so that they differentiate and fuse like them. Integer x is converted to a float first, as sigmoid() does.
Expr leaky_relu(Expr x, double slope = 0.01);  // x where x > 0, else slope * x
Expr elu(Expr x, double alpha = 1.0);          // x where x > 0, else alpha * expm1(x)
Expr silu(Expr x);                             // x * sigmoid(x), also called swish
/// With approximate, the tanh form 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), which
/// is jax.nn.gelu's default and PyTorch's gelu(approximate="tanh"); without, the exact
/// 0.5 x (1 + erf(x / sqrt(2))), PyTorch's default.
Expr gelu(Expr x, bool approximate = true);
Expr softsign(Expr x);  // x / (1 + |x|)
/// log(exp(a) + exp(b)) without overflow: max(a, b) + log1p(exp(-|a - b|)), broadcasting.
Expr logaddexp(Expr a, Expr b);
Expr floor(Expr x);
Expr ceil(Expr x);
Expr round(Expr x);     // halves round to even
Expr isnan(Expr x);
Expr isinf(Expr x);
Expr cast(Expr x, DType dtype);  // float to integer: NaN gives 0, out of range saturates
/// The identity in value; autodiff treats it as a constant.
Expr stop_gradient(Expr x);

// Binary elementwise, with broadcasting.
/// Python floor division; integer division by zero gives 0, INT_MIN // -1 gives INT_MIN.
Expr floor_div(Expr a, Expr b);
Expr pow(Expr a, Expr b);
Expr maximum(Expr a, Expr b);  // NaN propagates; +0 is greater than -0
Expr minimum(Expr a, Expr b);

// Ternary elementwise, with broadcasting.
Expr where(Expr condition, Expr if_true, Expr if_false);
/// minimum(maximum(x, low), high), in the promoted dtype of x, low and high, so float bounds
/// make an integer x float: an i32 x with f32 bounds gives f32.
Expr clip(Expr x, Expr low, Expr high);

// The binary and ternary ops above with C++ numbers as operands, such as maximum(x, 0) or
// where(mask, x, 0.0). Each number becomes a weak literal (see literal_like), so it takes the
// dtype of the tensor operands as it does in x * 0.5.
#define DAMO_OPS_WITH_NUMBER(function)                                                      \
  template <Number T> Expr function(Expr a, T b) { return function(a, literal_like(a, b)); } \
  template <Number T> Expr function(T a, Expr b) { return function(literal_like(b, a), b); }
DAMO_OPS_WITH_NUMBER(floor_div)
DAMO_OPS_WITH_NUMBER(pow)
DAMO_OPS_WITH_NUMBER(maximum)
DAMO_OPS_WITH_NUMBER(minimum)
#undef DAMO_OPS_WITH_NUMBER

template <Number T> Expr where(Expr condition, Expr if_true, T if_false) {
  return where(condition, if_true, literal_like(if_true, if_false));
}
template <Number T> Expr where(Expr condition, T if_true, Expr if_false) {
  return where(condition, literal_like(if_false, if_true), if_false);
}
/// Both branches numbers: with no tensor dtype to take, the result is float64 when either
/// number is floating-point and int64 otherwise, as in NumPy.
template <Number T, Number U> Expr where(Expr condition, T if_true, U if_false) {
  return where(condition, literal_like(condition, if_true), literal_like(condition, if_false));
}
template <Number T> Expr clip(Expr x, Expr low, T high) { return clip(x, low, literal_like(x, high)); }
template <Number T> Expr clip(Expr x, T low, Expr high) { return clip(x, literal_like(x, low), high); }
template <Number T, Number U> Expr clip(Expr x, T low, U high) {
  return clip(x, literal_like(x, low), literal_like(x, high));
}

// Reductions over a set of axes.
Expr sum(Expr x, Axes axes = {}, bool keepdims = false);
Expr mean(Expr x, Axes axes = {}, bool keepdims = false);
Expr prod(Expr x, Axes axes = {}, bool keepdims = false);
Expr max(Expr x, Axes axes = {}, bool keepdims = false);
Expr min(Expr x, Axes axes = {}, bool keepdims = false);
/// Row-major index within the reduced axes of the first maximum; NaN counts as maximum.
Expr argmax(Expr x, Axes axes = {}, bool keepdims = false);
Expr argmin(Expr x, Axes axes = {}, bool keepdims = false);
Expr logsumexp(Expr x, Axes axes = {}, bool keepdims = false);
/// Variance over axes: the sum of squared deviations from the mean, divided by the count of
/// reduced elements minus ddof (0 for the population variance, 1 for the sample variance).
/// Integer x is converted to a float first, as mean() does.
Expr var(Expr x, Axes axes = {}, bool keepdims = false, std::int64_t ddof = 0);
/// Standard deviation over axes: sqrt(var(x, axes, keepdims, ddof)).
Expr stddev(Expr x, Axes axes = {}, bool keepdims = false, std::int64_t ddof = 0);
/// Euclidean (L2, or Frobenius) norm over axes: sqrt(sum(x^2)). Its gradient at a zero
/// norm is 0, the subgradient that PyTorch takes, where sqrt'(0) would give NaN.
Expr norm(Expr x, Axes axes = {}, bool keepdims = false);
Expr all(Expr x, Axes axes = {}, bool keepdims = false);
Expr any(Expr x, Axes axes = {}, bool keepdims = false);
/// Builds the reduction op (Sum ... Any) by kind.
Expr reduce(OpKind op, Expr x, Axes axes = {}, bool keepdims = false);

// Layout.
/// Permutes axes; the default reverses them.
Expr transpose(Expr x, std::vector<int> perm = {});
/// New shape with the same element count; one dimension may be -1 (inferred). When x has
/// symbolic sizes, -1 may stand for a static size or for one symbol times a static factor:
/// (n, 2) to (-1, 2) gives (n, 2), and (n, 2) to (-1,) the derived size n*2. A -1 that
/// would be a product of two symbols (n*m), or a quotient that is not a whole multiple of
/// a symbol ((n, 3) to (-1, 2)), throws UserError.
Expr reshape(Expr x, std::vector<Dim> shape);
Expr expand_dims(Expr x, int axis);
/// Removes the given axes of size 1, or every static axis of size 1 by default.
Expr squeeze(Expr x, Axes axes = {});
Expr broadcast_to(Expr x, const Shape& shape);
/// Joins parts along axis, which must be static in every part. Concatenating along a
/// symbolic axis throws UserError, because Damo has no symbolic size such as n+m.
Expr concatenate(const std::vector<Expr>& parts, int axis = 0);
/// Joins parts of one shape along a new axis at position axis (from -(rank + 1) to rank).
Expr stack(const std::vector<Expr>& parts, int axis = 0);
/// Python slice start:stop:step along one axis; nullopt means the default bound. On an
/// axis of symbolic size n, the slice's size must be n less a constant. That takes a start
/// of 0 or more, a stop that is open or negative, and step 1 (x[1:], x[:-1]). Any other
/// slice of such an axis throws UserError, unless it is empty for every n.
Expr slice(Expr x, int axis, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
           std::int64_t step = 1);
/// True for a slice or slice_scatter node of a symbolic axis. Its attributes are then
/// (axis, start, stop, 1, 1), where the stop is 0 or below and counts from the axis's end.
bool slice_counts_from_end(const Node& node);
/// NumPy take: selects indices (any integer shape) along axis. Negative indices count
/// from the end; out-of-range indices are clamped.
Expr take(Expr x, Expr indices, int axis = 0);
/// NumPy take_along_axis: indices has x's rank; index clamping as in take().
Expr take_along_axis(Expr x, Expr indices, int axis);
/// One-hot encoding along a new last axis; out-of-range indices give a row of zeros.
Expr one_hot(Expr indices, std::int64_t depth, DType dtype = DType::Float32);

// Random numbers. Each element is a pure function of the key's value, the stream and the
// element's row-major position (Philox4x32-10), so equal calls give the same uniform values
// on every backend and thread count, and a new key gives new values. A training step draws fresh
// values per call by keeping the key in an i64 shared variable and updating it to key + 1.
// Draws in one function that must differ take different streams: equal arguments make
// equal nodes.

/// Uniform values in [0, 1) of a float dtype and the given shape, which may have symbolic
/// sizes. key is an integer scalar; streams 0 to 2^32 - 1 under one key are independent.
Expr random_uniform(Expr key, const Shape& shape, DType dtype = DType::Float32, std::int64_t stream = 0);
/// Standard normal values: the Box-Muller transform of the uniform streams 2 * stream and
/// 2 * stream + 1; stream is below 2^31.
Expr random_normal(Expr key, const Shape& shape, DType dtype = DType::Float32, std::int64_t stream = 0);
/// Inverted dropout: zeroes each element of x where random_uniform(key, x's shape, x's
/// dtype, stream) is below rate and scales the others by 1 / (1 - p), with p the drop
/// probability: rate rounded to the draw's steps of 2^-24 (f32) or 2^-53 (f64). The expected
/// value is then x. rate must be in [0, 1), and rate 0 returns x.
Expr dropout(Expr x, Expr key, double rate, std::int64_t stream = 0);
/// Booleans of the given shape, each true with probability p: random_uniform(key, shape,
/// p's dtype, stream) < p. p is f32 or f64 and broadcasts to shape, so it may differ per
/// element. A p below 0 acts as 0, above 1 as 1, and NaN gives false. The probability is p
/// rounded up to a multiple of 2^-24 (f32) or 2^-53 (f64).
Expr bernoulli(Expr key, Expr p, const Shape& shape, std::int64_t stream = 0);
/// Draws booleans as above with p a number in [0, 1], comparing in f64.
Expr bernoulli(Expr key, double p, const Shape& shape, std::int64_t stream = 0);
/// Integers in [low, high) of an integer dtype: low + floor(u * (high - low)) with u the f64
/// draw random_uniform(key, shape, f64, stream). high - low is at most 2^53, and each value
/// has probability 1 / (high - low) within a relative error of (high - low) / 2^53.
Expr randint(Expr key, const Shape& shape, std::int64_t low, std::int64_t high,
             DType dtype = DType::Int64, std::int64_t stream = 0);
/// A random order of 0 to n - 1 as an i64 vector: the argsort of n f64 uniform draws. n may
/// be symbolic.
Expr permutation(Expr key, const Dim& n, std::int64_t stream = 0);
/// Class indices (i64) drawn along axis with probabilities softmax(logits) by the
/// Gumbel-max trick: argmax(logits - log(-log(1 - u))), with -log(1 - u) kept at least
/// the grid step of u. The result has logits' shape without axis.
Expr categorical(Expr key, Expr logits, int axis = -1, std::int64_t stream = 0);

// Neural-network ops.
Expr softmax(Expr x, int axis = -1);
Expr log_softmax(Expr x, int axis = -1);
/// Running sums along axis: element k is the sum of elements 0..k, or of k..n-1 when
/// reverse is true. Floats keep their dtype (float32 sums in double and rounds each
/// element once); integers and bools sum in i64, wrapping.
Expr cumsum(Expr x, int axis, bool reverse = false);
/// Int64 positions that sort each line along axis: a stable sort, ascending with NaN last,
/// or descending with NaN first. Equal values (+0 and -0 among them) keep their order.
Expr argsort(Expr x, int axis = -1, bool descending = false);
/// The values of x sorted along axis, as take_along_axis(x, argsort(x, axis, descending)),
/// so the gradient flows back to the positions the values came from.
Expr sort(Expr x, int axis = -1, bool descending = false);
/// Cross-entropy of probabilities p (..., C) against targets along the last axis:
/// dense targets of p's shape (one-hot or probabilities) give -sum(t * log(p), -1); integer
/// class targets of shape (...) give -log(p[..., t]) and NaN where t is out of range.
Expr categorical_crossentropy(Expr p, Expr targets);
/// -(t * log(p) + (1 - t) * log(1 - p)), elementwise.
Expr binary_crossentropy(Expr p, Expr targets);

/// The size bound to a symbolic dimension at run time, as an i64 scalar. A function that
/// computes it must take an input with that dimension.
Expr dim_size(Graph& graph, const std::string& symbol);

// Ops that autodiff introduces. Each throws UserError when src, indices and shape do not fit.
/// Zeros of the given shape with src written into the slice start:stop:step along axis.
/// The bounds are normalized as slice() stores them (see printer.h's dump()), and src has
/// the slice's shape. On a symbolic axis of shape the step is 1 and the stop is 0 or below,
/// counted from the end (0 is the end), as slice() stores it there.
Expr slice_scatter(Expr src, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                   std::int64_t step);
/// Zeros of the given shape with src added at indices along axis (the gradient of take).
Expr index_add(Expr src, Expr indices, const Shape& shape, int axis);
/// Zeros of the given shape with src added at indices along axis (the gradient of
/// take_along_axis).
Expr scatter_add_along_axis(Expr src, Expr indices, const Shape& shape, int axis);

// Ops that the optimizer introduces.
/// Cross-entropy of softmax(logits) along the last axis, computed from the logits through
/// log-sum-exp; targets are dense (logits' shape) or integer classes.
Expr softmax_crossentropy(Expr logits, Expr targets);
/// Gradient of softmax_crossentropy with respect to the logits, for upstream gradient g of
/// the loss's shape: g[..., None] * (softmax(logits) * sum(targets, -1) - targets), which
/// is g[..., None] * (softmax(logits) - targets) for one-hot or probability targets.
Expr softmax_crossentropy_grad(Expr logits, Expr targets, Expr g);
/// activation(op(a) @ op(b) + bias), where op transposes the last two axes when asked.
/// activation is Param for none, or a unary op kind; bias may be undefined.
Expr fused_matmul(Expr a, Expr b, Expr bias, OpKind activation, bool transpose_a = false,
                  bool transpose_b = false);
/// A placeholder for operand index of a fused body: a scalar of the given dtype.
Expr param(Graph& graph, int index, DType dtype);
/// body, a scalar expression over param(0..n-1), applied elementwise to the broadcast
/// operands.
Expr fused_elementwise(Expr body, const std::vector<Expr>& operands);
/// reduce(op, body applied elementwise to operands, axes, keepdims).
Expr fused_reduction(OpKind op, Expr body, const std::vector<Expr>& operands, Axes axes,
                     bool keepdims);

/// Builds a node like node but with new inputs, one per input of node, through the factory
/// of its op; used by rewrites. Leaves are returned unchanged.
Expr rebuild(const Node& node, const std::vector<Expr>& inputs);

/// Builds the unary op of the given kind; throws InternalError for other kinds.
Expr unary(OpKind op, Expr x);
/// Builds the binary op of the given kind; throws InternalError for other kinds.
Expr binary(OpKind op, Expr a, Expr b);

}  // namespace damo
