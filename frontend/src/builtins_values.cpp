// Builtins that make leaves: symbolic inputs (vector, matrix, tensor, scalar), shared
// variables, and constant tensors (zeros, ones, full, arange, rand, randn).
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include "builtins.h"
#include "damo/runtime/npy.h"
#include "damo/frontend/lexer.h"

namespace damo {

namespace {

// Declares the input that the statement assigns to, such as x in x = vector(f32).
Value declare_input(Args& a, int rank) {
  // A copy, because evaluating the shape below may run nested calls.
  std::optional<std::string> name = a.interpreter().assignment_target();
  if (!name)
    a.interpreter().fail(a.call_offset(),
                         fmt::format("{}() declares an input, which is named after its "
                                     "variable; assign it, as in x = {}(f32)",
                                     a.name(), a.name()));
  DType dtype = a.dtype("dtype", DType::Float32);

  std::vector<Dim> dims;
  if (rank == 0) {
    // A scalar has no dimensions.
  } else if (a.has("shape")) {
    dims = a.shape("shape");
    if (rank > 0 && static_cast<int>(dims.size()) != rank)
      a.fail("shape", fmt::format("{}() needs {} dimension{}, but the shape has {}", a.name(), rank,
                                  rank == 1 ? "" : "s", dims.size()));
  } else {
    for (int i = 0; i < rank; ++i) dims.emplace_back(fmt::format("{}_{}", *name, i));
  }
  return Value::tensor(a.graph().input(*name, dtype, Shape(std::move(dims))));
}

// Checks that a constant of this shape is small enough to create right away.
Dims constant_shape(Args& a) {
  Dims dims = a.static_shape("shape");
  std::int64_t numel =
      with_location(a.interpreter(), a.offset("shape"), [&] { return dims_numel(dims); });
  if (numel > kMaxEvaluatedElements)
    a.fail("shape", fmt::format("{}(): a tensor of shape {} has {} elements, more than the "
                                "{} that the interpreter creates; pass larger tensors as "
                                "arguments of a compiled function (function([...], [...]))",
                                a.name(), dims_to_string(dims), numel, kMaxEvaluatedElements));
  return dims;
}

Value constant(Args& a, const Tensor& t) { return Value::tensor(a.graph().constant(t)); }

// Checks that value fits an integer dtype, for the builtins that fill tensors.
void check_fits(Args& a, const std::string& param, DType dtype, double value) {
  if (is_float(dtype) || dtype == DType::Bool) return;
  // The value is truncated toward zero first, as the cast does.
  double low = dtype == DType::Int32 ? -2147483648.0 : -9223372036854775808.0;
  double high = dtype == DType::Int32 ? 2147483648.0 : 9223372036854775808.0;
  double truncated = std::trunc(value);
  if (!(truncated >= low && truncated < high))
    a.fail(param, fmt::format("{}(): {} does not fit {}; use a wider dtype or a smaller value",
                              a.name(), value, dtype_name(dtype)));
}

void check_fits(Args& a, const std::string& param, DType dtype, std::int64_t value) {
  if (dtype == DType::Int32 && (value < std::numeric_limits<std::int32_t>::min() ||
                                value > std::numeric_limits<std::int32_t>::max()))
    a.fail(param, fmt::format("{}(): {} does not fit i32; use i64 or a smaller value", a.name(), value));
}

// Stores an integer exactly, beyond the 2^53 that a double holds.
void set_integer(Tensor& t, std::int64_t index, std::int64_t value) {
  if (t.dtype() == DType::Int64) t.data<std::int64_t>()[index] = value;
  else if (t.dtype() == DType::Int32) t.data<std::int32_t>()[index] = static_cast<std::int32_t>(value);
  else t.set_double(index, static_cast<double>(value));
}

// The decimal digits of a non-negative 128-bit count.
std::string decimal_text(__int128 value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value > 0);
  return digits;
}

// arange over integers, counted in 128 bits so that no bound or step overflows.
Value integer_arange(Args& a) {
  std::int64_t start = a.has("stop") ? a.integer("start") : 0;
  std::int64_t stop = a.has("stop") ? a.integer("stop") : a.integer("start");
  std::int64_t step = a.integer("step", 1);
  if (step == 0) a.fail("step", "arange(): step must not be 0");
  __int128 span = static_cast<__int128>(stop) - start;
  // Rounded up: division truncates toward zero, which rounds a positive quotient down.
  __int128 count = span / step;
  if (span % step != 0 && (span > 0) == (step > 0)) ++count;
  if (count < 0) count = 0;
  if (count > kMaxEvaluatedElements)
    a.fail("stop", fmt::format("arange(): {} elements are more than the {} that the "
                               "interpreter creates",
                               decimal_text(count), kMaxEvaluatedElements));
  auto length = static_cast<std::int64_t>(count);
  DType dtype = a.dtype("dtype", DType::Int64);
  Tensor t = Tensor::empty(dtype, {length});
  for (std::int64_t i = 0; i < length; ++i) {
    // Every value lies between start and stop, so it fits int64.
    auto value = static_cast<std::int64_t>(static_cast<__int128>(start) + static_cast<__int128>(i) * step);
    if (is_float(dtype)) {
      t.set_double(i, static_cast<double>(value));
    } else {
      check_fits(a, i == 0 ? "start" : "stop", dtype, value);
      set_integer(t, i, value);
    }
  }
  return constant(a, t);
}

Value make_arange(Args& a) {
  bool integral = true;
  for (const char* param : {"start", "stop", "step"})
    if (a.has(param) && !is_integer(a.tensor(param).dtype())) integral = false;
  if (integral) return integer_arange(a);

  auto read = [&](const std::string& param, double fallback) {
    return a.has(param) ? a.number(param) : fallback;
  };
  double start = read("start", 0);
  double stop = a.has("stop") ? read("stop", 0) : start;
  if (!a.has("stop")) start = 0;
  double step = read("step", 1);
  if (step == 0 || !std::isfinite(step)) a.fail("step", "arange(): step must be finite and not 0");
  if (!std::isfinite(start) || !std::isfinite(stop))
    a.fail("start", "arange(): start and stop must be finite");

  double count = std::ceil((stop - start) / step);
  if (count > static_cast<double>(kMaxEvaluatedElements))
    a.fail("stop", fmt::format("arange(): {} elements are more than the {} that the interpreter "
                               "creates",
                               count, kMaxEvaluatedElements));
  auto length = static_cast<std::int64_t>(std::max(0.0, count));
  DType dtype = a.dtype("dtype", DType::Float32);
  Tensor t = Tensor::empty(dtype, {length});
  for (std::int64_t i = 0; i < length; ++i) {
    double value = start + static_cast<double>(i) * step;
    check_fits(a, "stop", dtype, value);
    t.set_double(i, value);
  }
  return constant(a, t);
}

// num values from start to stop, both included, as NumPy's linspace: value i is
// start + i * (stop - start) / (num - 1), and the last one is stop itself. An integer dtype
// takes each value rounded down, as NumPy does.
Value make_linspace(Args& a) {
  double start = a.number("start");
  double stop = a.number("stop");
  if (!std::isfinite(start) || !std::isfinite(stop))
    a.fail("start", "linspace(): start and stop must be finite");
  std::int64_t num = a.integer("num", 50);
  if (num < 0 || num > kMaxEvaluatedElements)
    a.fail("num", fmt::format("linspace(): num {} must be from 0 to {}", num, kMaxEvaluatedElements));
  DType dtype = a.dtype("dtype", DType::Float32);
  Tensor t = Tensor::empty(dtype, {num});
  double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
  for (std::int64_t i = 0; i < num; ++i) {
    double value = i + 1 == num && num > 1 ? stop : start + static_cast<double>(i) * step;
    if (is_integer(dtype)) value = std::floor(value);
    check_fits(a, "stop", dtype, value);
    t.set_double(i, value);
  }
  return constant(a, t);
}

// A constant read from a NumPy .npy file, so that data need not be written as a list.
Value load_npy_file(Args& a) {
  std::string path = a.string("path");
  Tensor t;
  try {
    t = load_npy(path);
  } catch (const UserError& error) {
    a.fail("path", error.message());
  }
  if (t.numel() > kMaxEvaluatedElements)
    a.fail("path", fmt::format("load_npy(): '{}' holds {} elements, more than the {} that the "
                               "interpreter keeps as a constant; load it from a C++ program",
                               path, t.numel(), kMaxEvaluatedElements));
  return constant(a, t);
}

// Writes the value of x to a .npy file. x must have a value, so an expression of inputs is
// called first and its result saved.
Value save_npy_file(Args& a) {
  std::string path = a.string("path");
  Expr x = a.tensor("x");
  Tensor value = a.interpreter().constant_value(x, a.offset("x"));
  try {
    save_npy(path, value);
  } catch (const UserError& error) {
    a.fail("path", error.message());
  }
  return Value();
}

// The n x m identity: ones on the diagonal, zeros elsewhere.
Value make_eye(Args& a) {
  std::int64_t n = a.integer("n");
  std::int64_t m = a.has("m") ? a.integer("m") : n;
  if (n < 0 || m < 0)
    a.fail(n < 0 ? "n" : "m",
           fmt::format("eye(): the sizes must be 0 or more, not n = {} and m = {}", n, m));
  if (n > 0 && m > kMaxEvaluatedElements / n)
    a.fail("m", fmt::format("eye(): a {} x {} matrix has more than the {} elements that the "
                            "interpreter creates",
                            n, m, kMaxEvaluatedElements));
  Tensor t = Tensor::zeros(a.dtype("dtype", DType::Float32), {n, m});
  for (std::int64_t i = 0; i < std::min(n, m); ++i) t.set_double(i * m + i, 1.0);
  return constant(a, t);
}

// Uniform doubles in [0, 1) from the top 53 bits of a 64-bit Mersenne Twister, whose
// output sequence the C++ standard fixes, so a seed gives the same values everywhere.
double next_uniform(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

Value make_random(Args& a, bool normal) {
  DType dtype = a.dtype("dtype");
  if (!is_float(dtype)) a.fail("dtype", fmt::format("{}() makes f32 or f64 values", a.name()));
  Dims dims = constant_shape(a);
  std::int64_t seed = a.integer("seed", 0);
  std::mt19937_64 engine(static_cast<std::uint64_t>(seed));
  Tensor t = Tensor::empty(dtype, dims);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (!normal) {
      t.set_double(i, next_uniform(engine));
      continue;
    }
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    double radius = std::sqrt(-2.0 * std::log(1.0 - next_uniform(engine)));
    double angle = 2.0 * std::numbers::pi * next_uniform(engine);
    t.set_double(i, radius * std::cos(angle));
  }
  return constant(a, t);
}

Value make_shared_variable(Args& a) {
  std::string name = a.string("name");
  // Printed expressions show the name as it is, so it must read back as this variable: a
  // plain name that no builtin, dtype or none takes.
  if (!is_plain_name(name))
    a.fail("name", fmt::format("the shared variable name '{}' is not a plain name; use letters, "
                               "digits and underscores, starting with a letter or underscore, "
                               "and no keyword",
                               name));
  bool dtype_word = parse_dtype(name) && dtype_name(*parse_dtype(name)) == name;
  if (builtin_table().find(name) != nullptr || dtype_word || name == "none")
    a.fail("name", fmt::format("the shared variable name '{}' names a builtin, a dtype or none, so "
                               "printed expressions would not read back; choose another name",
                               name));
  Expr value = a.tensor("value");
  Tensor initial = a.interpreter().constant_value(value, a.offset("value"));
  // A literal's f64 becomes f32, the default float, as it would next to an f32 tensor.
  if (value->weak() && initial.dtype() == DType::Float64) initial = initial.cast(DType::Float32);
  return Value::tensor(a.graph().shared(name, initial));
}

}  // namespace

void add_value_builtins(std::vector<Builtin>& out) {
  out.push_back(define("vector(dtype=f32, shape=fresh)",
                       "declares a rank-1 input named after its variable",
                       [](Args& a) { return declare_input(a, 1); }));
  out.push_back(define("matrix(dtype=f32, shape=fresh)",
                       "declares a rank-2 input named after its variable",
                       [](Args& a) { return declare_input(a, 2); }));
  out.push_back(define("tensor(dtype, shape)",
                       "declares an input of the given shape, named after its variable",
                       [](Args& a) { return declare_input(a, -1); }));
  out.push_back(define("scalar(dtype=f32)", "declares a rank-0 input named after its variable",
                       [](Args& a) { return declare_input(a, 0); }));
  out.push_back(define("shared(name, value)",
                       "a shared variable holding a copy of a constant value",
                       make_shared_variable));
  out.push_back(define("zeros(dtype, shape)", "a constant of zeros", [](Args& a) {
    DType dtype = a.dtype("dtype");
    return constant(a, Tensor::zeros(dtype, constant_shape(a)));
  }));
  out.push_back(define("ones(dtype, shape)", "a constant of ones", [](Args& a) {
    DType dtype = a.dtype("dtype");
    return constant(a, Tensor::full(dtype, constant_shape(a), 1));
  }));
  out.push_back(define("full(dtype, shape, value)", "a constant filled with value", [](Args& a) {
    DType dtype = a.dtype("dtype");
    Dims dims = constant_shape(a);
    if (is_integer(dtype) && is_integer(a.tensor("value").dtype())) {
      // Integers go through int64, which keeps values beyond 2^53 exact.
      std::int64_t value = a.integer("value");
      check_fits(a, "value", dtype, value);
      Tensor t = Tensor::empty(dtype, dims);
      for (std::int64_t i = 0; i < t.numel(); ++i) set_integer(t, i, value);
      return constant(a, t);
    }
    double value = a.number("value");
    check_fits(a, "value", dtype, value);
    return constant(a, Tensor::full(dtype, dims, value));
  }));
  out.push_back(define("arange(start, stop=none, step=1, dtype=none)",
                       "evenly spaced values in [start, stop); arange(n) counts from 0",
                       make_arange));
  out.push_back(define("linspace(start, stop, num=50, dtype=f32)",
                       "num evenly spaced values from start to stop, both included", make_linspace));
  out.push_back(define("eye(n, m=n, dtype=f32)", "the n x m identity matrix", make_eye));
  out.push_back(define("load_npy(path)", "a constant read from a NumPy .npy file", load_npy_file));
  out.push_back(define("save_npy(path, x)", "writes the value of x to a NumPy .npy file",
                       save_npy_file));
  out.push_back(define("rand(dtype, shape, seed=0)", "uniform random values in [0, 1)",
                       [](Args& a) { return make_random(a, false); }));
  out.push_back(define("randn(dtype, shape, seed=0)", "standard normal random values",
                       [](Args& a) { return make_random(a, true); }));
}

}  // namespace damo
