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

Expr random_uniform(Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  check_operands("random_uniform", {key});
  if (!is_integer(key.dtype()) || key.rank() != 0)
    throw UserError(
        fmt::format("random_uniform: the key must be an i32 or i64 scalar, not {}; "
                    "keep it in an i64 shared variable and add 1 to it in the updates of each call "
                    "that should draw new values",
                    describe(key)));
  if (!is_float(dtype))
    throw UserError(
        fmt::format("random_uniform: the dtype must be f32 or f64, not {}; cast the "
                    "result for other dtypes",
                    dtype_name(dtype)));
  if (stream < 0 || stream > std::int64_t{0xFFFFFFFF})
    throw UserError(
        fmt::format("random_uniform: stream {} is outside [0, 4294967295]; streams "
                    "are numbers of 32 bits",
                    stream));
  Attrs attrs;
  attrs.ints = {stream};
  attrs.dtype = dtype;
  return make_node(OpKind::RandomUniform, dtype, shape, {key}, attrs);
}

Expr random_normal(Expr key, const Shape& shape, DType dtype, std::int64_t stream) {
  if (stream < 0 || stream > std::int64_t{0x7FFFFFFF})
    throw UserError(
        fmt::format("random_normal: stream {} is outside [0, 2147483647]; it uses "
                    "the uniform streams 2 * stream and 2 * stream + 1",
                    stream));
  Expr radius_uniform = random_uniform(key, shape, dtype, 2 * stream);
  Expr angle_uniform = random_uniform(key, shape, dtype, 2 * stream + 1);
  // 1 - u is in (0, 1], so the log is finite.
  Expr radius = sqrt(log1p(-radius_uniform) * -2.0);
  return radius * cos(angle_uniform * (2 * std::numbers::pi));
}

Expr dropout(Expr x, Expr key, double rate, std::int64_t stream) {
  check_operands("dropout", {x, key});
  if (!is_float(x.dtype()))
    throw UserError(
        fmt::format("dropout: x must be f32 or f64, not {}; cast it first", describe(x)));
  if (!(rate >= 0 && rate < 1))
    throw UserError(
        fmt::format("dropout: rate {} is outside [0, 1); it is the probability of "
                    "zeroing an element",
                    rate));
  if (rate == 0) return x;
  Expr keep = random_uniform(key, x.shape(), x.dtype(), stream) >= rate;
  return where(keep, x * (1 / (1 - rate)), 0.0);
}

}  // namespace damo
