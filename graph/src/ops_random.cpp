// Factories of random numbers: the random_uniform op, and normal values, Bernoulli draws,
// integers, permutations, categorical draws and dropout built from it.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string_view>

#include "op_builder.h"

namespace damo {

using detail::check_operands;
using detail::describe;
using detail::make_node;

namespace {

// The checks of every random factory; op names the factory the user called.
void check_key(const std::string& op, const Expr& key) {
  check_operands(op, {key});
  if (!is_integer(key.dtype()) || key.rank() != 0)
    throw UserError(fmt::format("{}: the key must be an i32 or i64 scalar, not {}; keep it in an i64 "
                                "shared variable and add 1 to it in the updates of each call that "
                                "should draw new values",
                                op, describe(key)));
}

void check_dtype(const std::string& op, DType dtype) {
  if (!is_float(dtype))
    throw UserError(fmt::format("{}: the dtype must be f32 or f64, not {}; cast the result for other "
                                "dtypes",
                                op, dtype_name(dtype)));
}

void check_stream(const std::string& op, std::int64_t stream, std::int64_t largest, const char* reason) {
  if (stream < 0 || stream > largest)
    throw UserError(fmt::format("{}: stream {} is outside [0, {}]; {}", op, stream, largest, reason));
}

// random_uniform for a factory built on it: an error about the shape names op, the
// function the user called, instead of random_uniform.
Expr draw_for(const std::string& op, Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  try {
    return random_uniform(key, shape, dtype, stream);
  } catch (const UserError& error) {
    std::string_view message = error.what();
    std::string_view own = "random_uniform: ";
    if (message.substr(0, own.size()) != own) throw;
    throw UserError(op + ": " + std::string(message.substr(own.size())));
  }
}

constexpr std::int64_t kLargestStream = 0xFFFFFFFF;
constexpr const char* kStreamReason = "streams are numbers of 32 bits";

}  // namespace

Expr random_uniform(Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  check_key("random_uniform", key);
  check_dtype("random_uniform", dtype);
  check_stream("random_uniform", stream, kLargestStream, kStreamReason);
  for (int axis = 0; axis < shape.rank(); ++axis)
    if (shape[axis].is_static() && shape[axis].size() < 0)
      throw UserError(fmt::format("random_uniform: shape {} has the negative size {} on axis {}; "
                                  "sizes are 0 or more",
                                  shape.to_string(), shape[axis].size(), axis));
  Attrs attrs;
  attrs.ints = {stream};
  attrs.dtype = dtype;
  return make_node(OpKind::RandomUniform, dtype, shape, {key}, attrs);
}

Expr random_normal(Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  check_key("random_normal", key);
  check_dtype("random_normal", dtype);
  check_stream("random_normal", stream, kLargestStream / 2,
               "it uses the uniform streams 2 * stream and 2 * stream + 1");
  Expr radius_uniform = draw_for("random_normal", key, shape, dtype, 2 * stream);
  Expr angle_uniform = draw_for("random_normal", key, shape, dtype, 2 * stream + 1);
  // 1 - u is in (0, 1], so the log is finite.
  Expr radius = sqrt(log1p(-radius_uniform) * -2.0);
  return radius * cos(angle_uniform * (2 * std::numbers::pi));
}

Expr dropout(Expr x, Expr key, double rate, std::int64_t stream) {
  check_operands("dropout", {x, key});
  check_key("dropout", key);
  check_stream("dropout", stream, kLargestStream, kStreamReason);
  if (!is_float(x.dtype()))
    throw UserError(
        fmt::format("dropout: x must be f32 or f64, not {}; cast it first", describe(x)));
  if (!(rate >= 0 && rate < 1))
    throw UserError(
        fmt::format("dropout: rate {} is outside [0, 1); it is the probability of "
                    "zeroing an element",
                    rate));
  // The comparison runs in x's dtype, where a rate just below 1 can round to 1.
  if (x.dtype() == DType::Float32 && static_cast<float>(rate) >= 1.0f)
    throw UserError(fmt::format("dropout: rate {} rounds to 1 in f32, which would zero every element "
                                "of {}; use at most 0.99999994",
                                rate, describe(x)));
  if (rate == 0) return x;
  // The draws are multiples of 2^-bits, and u >= rate compares in x's dtype, so an element
  // is kept with probability 1 - ceil(r * 2^bits) / 2^bits, r the rate in x's dtype. Scaling
  // by its inverse keeps the expected value at x even for rates whose rounding matters.
  int bits = x.dtype() == DType::Float32 ? 24 : 53;
  double rounded_rate = x.dtype() == DType::Float32 ? static_cast<float>(rate) : rate;
  double dropped_draws = std::ceil(std::ldexp(rounded_rate, bits));
  double keep_probability = std::ldexp(std::ldexp(1.0, bits) - dropped_draws, -bits);
  Expr keep = random_uniform(key, x.shape(), x.dtype(), stream) >= rate;
  return where(keep, x * (1 / keep_probability), 0.0);
}

Expr bernoulli(Expr key, Expr p, const Shape& shape, std::int64_t stream) {
  check_operands("bernoulli", {key, p});
  check_key("bernoulli", key);
  check_stream("bernoulli", stream, kLargestStream, kStreamReason);
  if (p->is_constant()) {
    const Tensor& values = p->value();
    for (std::int64_t i = 0; i < values.numel(); ++i) {
      double value = values.get_double(i);
      if (!(value >= 0 && value <= 1))
        throw UserError(fmt::format("bernoulli: p {}{} is outside [0, 1]; it is the probability "
                                    "of true",
                                    value,
                                    values.numel() == 1 ? "" : fmt::format(" at flat index {}", i)));
    }
  }
  // An integer literal such as 0 or 1 is a probability too.
  if (p->weak() && is_integer(p.dtype())) p = cast(p, DType::Float64);
  if (!is_float(p.dtype()))
    throw UserError(fmt::format("bernoulli: p must be f32 or f64, not {}; p is the probability "
                                "of true, so cast it to a float dtype",
                                describe(p)));
  std::optional<Shape> joined = broadcast_shapes(p.shape(), shape);
  if (!joined || *joined != shape)
    throw UserError(fmt::format("bernoulli: p of shape {} does not broadcast to the shape {}; "
                                "give p size 1 or the shape's size on each of its axes",
                                p.shape().to_string(), shape.to_string()));
  // u < p is true with probability p, rounded up to a multiple of the draw's 2^-24 or 2^-53.
  return draw_for("bernoulli", key, shape, p.dtype(), stream) < p;
}

Expr bernoulli(Expr key, double p, const Shape& shape, std::int64_t stream) {
  check_key("bernoulli", key);
  return bernoulli(key, key.graph().scalar(p, DType::Float64), shape, stream);
}

Expr randint(Expr key, const Shape& shape, std::int64_t low, std::int64_t high, DType dtype,
             std::int64_t stream) {
  check_key("randint", key);
  check_stream("randint", stream, kLargestStream, kStreamReason);
  if (!is_integer(dtype))
    throw UserError(fmt::format("randint: the dtype must be i32 or i64, not {}; use "
                                "random_uniform for float values",
                                dtype_name(dtype)));
  if (low >= high)
    throw UserError(fmt::format("randint: low {} is not below high {}; the values are drawn from "
                                "[low, high)",
                                low, high));
  if (dtype == DType::Int32 && (low < std::numeric_limits<std::int32_t>::min() ||
                                high - 1 > std::numeric_limits<std::int32_t>::max()))
    throw UserError(fmt::format("randint: [{}, {}) does not fit in i32; use i64 or a narrower range",
                                low, high));
  // The count of values, computed unsigned because high - low can exceed the i64 range.
  std::uint64_t count = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  constexpr std::uint64_t kLargestCount = std::uint64_t{1} << 53;
  if (count > kLargestCount)
    throw UserError(fmt::format("randint: high - low is {}, more than 2^53; each value comes "
                                "from one 53-bit uniform draw, so split the range",
                                count));
  // u is at most 1 - 2^-53, so u * count lies count * 2^-53 below count, more than half a unit
  // in the last place, and rounds below it: the floor is in [0, count). Each value gets the
  // floor or the ceiling of 2^53 / count of the 2^53 draws, a relative bias of at most
  // count / 2^53.
  Expr u = draw_for("randint", key, shape, DType::Float64, stream);
  Expr offset = cast(floor(u * static_cast<double>(count)), DType::Int64);
  Expr value = low == 0 ? offset : offset + low;
  return dtype == DType::Int64 ? value : cast(value, dtype);
}

Expr permutation(Expr key, const Dim& n, std::int64_t stream) {
  check_key("permutation", key);
  check_stream("permutation", stream, kLargestStream, kStreamReason);
  if (n.is_static() && n.size() < 0)
    throw UserError(fmt::format("permutation: n is {}, a negative count; give the number of "
                                "positions to order, 0 or more",
                                n.size()));
  // Sorting n f64 draws gives every order the same probability, apart from ties between
  // draws. argsort keeps tied draws in position order, so a tie still gives a permutation.
  return argsort(draw_for("permutation", key, Shape({n}), DType::Float64, stream), 0);
}

Expr categorical(Expr key, Expr logits, int axis, std::int64_t stream) {
  check_operands("categorical", {key, logits});
  check_key("categorical", key);
  check_stream("categorical", stream, kLargestStream, kStreamReason);
  if (!is_float(logits.dtype()))
    throw UserError(fmt::format("categorical: logits must be f32 or f64, not {}; they are the "
                                "log-probabilities of the classes, up to a constant",
                                describe(logits)));
  if (logits.rank() == 0)
    throw UserError("categorical: logits is a scalar; give the classes along an axis, as in a "
                    "vector of log-probabilities");
  if (axis < -logits.rank() || axis >= logits.rank())
    throw UserError(fmt::format("categorical: axis {} is out of range for logits of rank {}; use "
                                "-{} to {}",
                                axis, logits.rank(), logits.rank(), logits.rank() - 1));
  const Dim& classes = logits.shape()[axis < 0 ? axis + logits.rank() : axis];
  if (classes.is_static() && classes.size() == 0)
    throw UserError(fmt::format("categorical: logits {} have no classes along axis {}, so there is "
                                "nothing to draw from; give at least one class",
                                describe(logits), axis));
  // The Gumbel-max trick: argmax(logits + g), with g = -log(-log(1 - u)) standard Gumbel
  // noise, picks class k with probability softmax(logits)_k.
  // u = 0 would give g = +inf, which meets a logit of -inf as NaN. So -log(1 - u) is kept at
  // least the grid step of u, and u = 0 gets the noise of the smallest positive draw.
  Expr u = draw_for("categorical", key, logits.shape(), logits.dtype(), stream);
  double grid_step = logits.dtype() == DType::Float32 ? 0x1p-24 : 0x1p-53;
  Expr gumbel = -log(maximum(-log1p(-u), key.graph().scalar(grid_step, logits.dtype())));
  return argmax(logits + gumbel, Axes(std::vector<std::int64_t>{axis}));
}

}  // namespace damo
