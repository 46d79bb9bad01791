// Factories of random numbers: the random_uniform op, and normal values and dropout built
// from it.
#include <fmt/format.h>

#include <cmath>
#include <numbers>

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

constexpr std::int64_t kLargestStream = 0xFFFFFFFF;
constexpr const char* kStreamReason = "streams are numbers of 32 bits";

}  // namespace

Expr random_uniform(Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  check_key("random_uniform", key);
  check_dtype("random_uniform", dtype);
  check_stream("random_uniform", stream, kLargestStream, kStreamReason);
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
  Expr radius_uniform = random_uniform(key, shape, dtype, 2 * stream);
  Expr angle_uniform = random_uniform(key, shape, dtype, 2 * stream + 1);
  // 1 - u is in (0, 1], so the log is finite.
  Expr radius = sqrt(log1p(-radius_uniform) * -2.0);
  return radius * cos(angle_uniform * (2 * std::numbers::pi));
}

Expr dropout(Expr x, Expr key, double rate, std::int64_t stream) {
  check_operands("dropout", {x});
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
  Expr keep = random_uniform(key, x.shape(), x.dtype(), stream) >= rate;
  return where(keep, x * (1 / (1 - rate)), 0.0);
}

}  // namespace damo
