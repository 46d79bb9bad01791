// Builtins for the graph ops of ops.h, each under its op name, so that every op the printer
// writes reads back.
#include <fmt/format.h>

#include "builtins.h"

namespace damo {

namespace {

using UnaryFn = Expr (*)(Expr);
using BinaryFn = Expr (*)(Expr, Expr);

Value tensor_value(Expr e) { return Value::tensor(e); }

void add_unary(std::vector<Builtin>& out) {
  struct Entry {
    const char* name;
    UnaryFn fn;
    const char* summary;
  };
  static constexpr Entry kUnary[] = {
      {"abs", &abs, "absolute value"},
      {"sign", &sign, "-1, 0 or 1 by the sign of x; NaN stays NaN"},
      {"exp", &exp, "e to the power x"},
      {"expm1", &expm1, "exp(x) - 1, accurate near 0"},
      {"log", &log, "natural logarithm"},
      {"log1p", &log1p, "log(1 + x), accurate near 0"},
      {"sqrt", &sqrt, "square root"},
      {"square", &square, "x * x"},
      {"reciprocal", &reciprocal, "1 / x"},
      {"sin", &sin, "sine"},
      {"cos", &cos, "cosine"},
      {"tanh", &tanh, "hyperbolic tangent"},
      {"sigmoid", &sigmoid, "1 / (1 + exp(-x))"},
      {"softplus", &softplus, "log(1 + exp(x)), without overflow"},
      {"relu", &relu, "max(x, 0); NaN stays NaN"},
      {"silu", &silu, "x * sigmoid(x), also called swish"},
      {"softsign", &softsign, "x / (1 + |x|)"},
      {"log2", &log2, "base-2 logarithm"},
      {"log10", &log10, "base-10 logarithm"},
      {"erf", &erf, "error function"},
      {"erfc", &erfc, "1 - erf(x), accurate where erf(x) is near 1"},
      {"floor", &floor, "round down"},
      {"ceil", &ceil, "round up"},
      {"round", &round, "round to nearest, halves to even"},
      {"isnan", &isnan, "true where x is NaN"},
      {"isinf", &isinf, "true where x is infinite"},
      {"stop_gradient", &stop_gradient, "x, treated as a constant by grad"},
      {"neg", &neg, "-x"},
      {"logical_not", &logical_not, "not x"},
  };
  for (const Entry& e : kUnary) {
    UnaryFn fn = e.fn;
    out.push_back(define(fmt::format("{}(x)", e.name), e.summary,
                         [fn](Args& a) { return tensor_value(fn(a.tensor("x"))); }));
  }
  out.push_back(define("leaky_relu(x, slope=0.01)", "x where x > 0, else slope * x", [](Args& a) {
    return tensor_value(leaky_relu(a.tensor("x"), a.has("slope") ? a.number("slope") : 0.01));
  }));
  out.push_back(define("gelu(x, approximate=true)",
                       "x * normal CDF(x): 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), or "
                       "with approximate=false the exact 0.5 x (1 + erf(x / sqrt(2)))",
                       [](Args& a) { return tensor_value(gelu(a.tensor("x"), a.boolean("approximate", true))); }));
  out.push_back(define("elu(x, alpha=1.0)", "x where x > 0, else alpha * expm1(x)", [](Args& a) {
    return tensor_value(elu(a.tensor("x"), a.has("alpha") ? a.number("alpha") : 1.0));
  }));
  out.push_back(define("cast(x, dtype)", "x converted to dtype; f32(x) is the same", [](Args& a) {
    DType dtype = a.dtype("dtype");
    a.interpreter().check_literal_fits(a.tensor("x"), dtype, a.offset("x"));
    return tensor_value(cast(a.tensor("x"), dtype));
  }));
}

void add_binary(std::vector<Builtin>& out) {
  struct Entry {
    const char* name;
    BinaryFn fn;
    const char* summary;
  };
  static constexpr Entry kBinary[] = {
      {"add", &add, "a + b"},
      {"sub", &sub, "a - b"},
      {"mul", &mul, "a * b"},
      {"div", &div, "a / b; integers divide as floats"},
      {"floor_div", &floor_div, "a // b, rounding toward negative infinity"},
      {"mod", &mod, "a % b, with the sign of b"},
      {"pow", &pow, "a ** b"},
      {"maximum", &maximum, "elementwise maximum; NaN propagates"},
      {"minimum", &minimum, "elementwise minimum; NaN propagates"},
      {"logaddexp", &logaddexp, "log(exp(a) + exp(b)), without overflow"},
      {"eq", &eq, "a == b"},
      {"ne", &ne, "a != b"},
      {"lt", &lt, "a < b"},
      {"le", &le, "a <= b"},
      {"gt", &gt, "a > b"},
      {"ge", &ge, "a >= b"},
      {"logical_and", &logical_and, "a and b"},
      {"logical_or", &logical_or, "a or b"},
      {"matmul", &matmul, "a @ b, with NumPy's rules for rank 1 and batches"},
  };
  for (const Entry& e : kBinary) {
    BinaryFn fn = e.fn;
    out.push_back(define(fmt::format("{}(a, b)", e.name), e.summary,
                         [fn](Args& a) { return tensor_value(fn(a.tensor("a"), a.tensor("b"))); }));
  }
  out.push_back(define("where(condition, if_true, if_false)",
                       "if_true where condition holds, else if_false", [](Args& a) {
                         return tensor_value(where(a.tensor("condition"), a.tensor("if_true"),
                                                   a.tensor("if_false")));
                       }));
  out.push_back(
      define("clip(x, low, high)", "minimum(maximum(x, low), high), in x's dtype", [](Args& a) {
        return tensor_value(clip(a.tensor("x"), a.tensor("low"), a.tensor("high")));
      }));
}

void add_reductions(std::vector<Builtin>& out) {
  struct Entry {
    const char* name;
    OpKind op;
    const char* summary;
  };
  static constexpr Entry kReductions[] = {
      {"sum", OpKind::Sum, "sum over axes"},
      {"mean", OpKind::Mean, "mean over axes"},
      {"prod", OpKind::Prod, "product over axes"},
      {"max", OpKind::Max, "maximum over axes"},
      {"min", OpKind::Min, "minimum over axes"},
      {"argmax", OpKind::ArgMax, "row-major index of the first maximum within the axes"},
      {"argmin", OpKind::ArgMin, "row-major index of the first minimum within the axes"},
      {"logsumexp", OpKind::LogSumExp, "log(sum(exp(x))) over axes, without overflow"},
      {"all", OpKind::All, "true when every element over the axes is true"},
      {"any", OpKind::Any, "true when some element over the axes is true"},
  };
  for (const Entry& e : kReductions) {
    OpKind op = e.op;
    out.push_back(
        define(fmt::format("{}(x, axis=all, keepdims=false)", e.name), e.summary, [op](Args& a) {
          return tensor_value(
              reduce(op, a.tensor("x"), a.axes("axis"), a.boolean("keepdims", false)));
        }));
  }
  out.push_back(define("var(x, axis=all, keepdims=false, ddof=0)",
                       "variance over axes: squared deviations from the mean, summed and divided "
                       "by the count minus ddof",
                       [](Args& a) {
                         return tensor_value(var(a.tensor("x"), a.axes("axis"),
                                                 a.boolean("keepdims", false), a.integer("ddof", 0)));
                       }));
  out.push_back(define("norm(x, axis=all, keepdims=false)",
                       "Euclidean norm over axes, sqrt(sum(x^2)); its gradient at 0 is 0",
                       [](Args& a) {
                         return tensor_value(norm(a.tensor("x"), a.axes("axis"), a.boolean("keepdims", false)));
                       }));
  out.push_back(define("std(x, axis=all, keepdims=false, ddof=0)",
                       "standard deviation over axes: sqrt(var(x, axis, keepdims, ddof))",
                       [](Args& a) {
                         return tensor_value(stddev(a.tensor("x"), a.axes("axis"),
                                                    a.boolean("keepdims", false), a.integer("ddof", 0)));
                       }));
}

int axis_argument(Args& a, const std::string& param, int fallback) {
  std::int64_t axis = a.integer(param, fallback);
  if (axis < -1000000 || axis > 1000000)
    a.fail(param, fmt::format("axis {} is out of range", axis));
  return static_cast<int>(axis);
}

void add_layout(std::vector<Builtin>& out) {
  out.push_back(
      define("transpose(x, perm=reversed)", "permutes axes; reverses them by default", [](Args& a) {
        std::vector<int> perm;
        if (a.has("perm")) perm = a.int_list("perm");
        return tensor_value(transpose(a.tensor("x"), perm));
      }));
  out.push_back(
      define("reshape(x, shape)", "same elements in a new shape; one size may be -1",
             [](Args& a) { return tensor_value(reshape(a.tensor("x"), a.shape("shape"))); }));
  out.push_back(define("expand_dims(x, axis)", "inserts an axis of size 1", [](Args& a) {
    return tensor_value(expand_dims(a.tensor("x"), axis_argument(a, "axis", 0)));
  }));
  out.push_back(define("squeeze(x, axis=all)", "removes axes of size 1", [](Args& a) {
    return tensor_value(squeeze(a.tensor("x"), a.axes("axis")));
  }));
  out.push_back(define("broadcast_to(x, shape)", "x broadcast to shape", [](Args& a) {
    return tensor_value(broadcast_to(a.tensor("x"), Shape(a.shape("shape"))));
  }));
  out.push_back(
      define("concatenate(parts, axis=0)", "joins a list of tensors along an axis", [](Args& a) {
        return tensor_value(concatenate(a.tensors("parts"), axis_argument(a, "axis", 0)));
      }));
  out.push_back(define("stack(parts, axis=0)", "joins a list of tensors of one shape along a new axis",
                       [](Args& a) {
                         return tensor_value(stack(a.tensors("parts"), axis_argument(a, "axis", 0)));
                       }));
  out.push_back(define("slice(x, axis, start=none, stop=none, step=1)",
                       "x[start:stop:step] along one axis", [](Args& a) {
                         return tensor_value(slice(a.tensor("x"), axis_argument(a, "axis", 0),
                                                   a.optional_integer("start"),
                                                   a.optional_integer("stop"),
                                                   a.integer("step", 1)));
                       }));
  out.push_back(define("take(x, indices, axis=0)",
                       "elements at integer indices along an axis, as NumPy's take", [](Args& a) {
                         return tensor_value(
                             take(a.tensor("x"), a.tensor("indices"), axis_argument(a, "axis", 0)));
                       }));
  out.push_back(define("take_along_axis(x, indices, axis)",
                       "elements at indices of x's rank along an axis", [](Args& a) {
                         return tensor_value(take_along_axis(a.tensor("x"), a.tensor("indices"),
                                                             axis_argument(a, "axis", 0)));
                       }));
  out.push_back(define(
      "dim_size(dimension)", "the size bound to a symbolic dimension at run time, as i64",
      [](Args& a) {
        Dim d = a.dimension("dimension");
        if (d.is_static()) return tensor_value(a.graph().scalar(static_cast<double>(d.size()), DType::Int64));
        return tensor_value(dim_size(a.graph(), d.symbol()));
      }));
  out.push_back(define(
      "one_hot(indices, depth, dtype=f32)", "one-hot rows along a new last axis", [](Args& a) {
        return tensor_value(
            one_hot(a.tensor("indices"), a.integer("depth"), a.dtype("dtype", DType::Float32)));
      }));
  out.push_back(define("random_uniform(key, shape, dtype=f32, stream=0)",
                       "uniform values in [0, 1) drawn from an integer key, the same for the same "
                       "key; a new key gives new values",
                       [](Args& a) {
                         return tensor_value(random_uniform(a.tensor("key"), Shape(a.shape("shape")),
                                                            a.dtype("dtype", DType::Float32),
                                                            a.integer("stream", 0)));
                       }));
  out.push_back(define("random_normal(key, shape, dtype=f32, stream=0)",
                       "standard normal values drawn from an integer key", [](Args& a) {
                         return tensor_value(random_normal(a.tensor("key"), Shape(a.shape("shape")),
                                                           a.dtype("dtype", DType::Float32),
                                                           a.integer("stream", 0)));
                       }));
  out.push_back(define("dropout(x, key, rate, stream=0)",
                       "x with each element zeroed with probability rate and the rest scaled by "
                       "1 / (1 - rate)",
                       [](Args& a) {
                         return tensor_value(
                             dropout(a.tensor("x"), a.tensor("key"), a.number("rate"), a.integer("stream", 0)));
                       }));
  out.push_back(define("bernoulli(key, p, shape, stream=0)",
                       "booleans, each true with probability p; p is a float number or tensor "
                       "that broadcasts to shape",
                       [](Args& a) {
                         return tensor_value(bernoulli(a.tensor("key"), a.tensor("p"),
                                                       Shape(a.shape("shape")), a.integer("stream", 0)));
                       }));
  out.push_back(define("permutation(key, n, stream=0)", "a random order of 0 to n - 1 (i64)",
                       [](Args& a) {
                         return tensor_value(
                             permutation(a.tensor("key"), a.dimension("n"), a.integer("stream", 0)));
                       }));
  out.push_back(define("categorical(key, logits, axis=-1, stream=0)",
                       "class indices drawn with probabilities softmax(logits) along axis",
                       [](Args& a) {
                         return tensor_value(categorical(a.tensor("key"), a.tensor("logits"),
                                                         axis_argument(a, "axis", -1),
                                                         a.integer("stream", 0)));
                       }));
  out.push_back(define("randint(key, shape, low, high, dtype=i64, stream=0)",
                       "integers drawn uniformly from [low, high)", [](Args& a) {
                         return tensor_value(randint(a.tensor("key"), Shape(a.shape("shape")),
                                                     a.integer("low"), a.integer("high"),
                                                     a.dtype("dtype", DType::Int64),
                                                     a.integer("stream", 0)));
                       }));
}

Expr integer_targets(Args& a, const std::string& param) {
  Expr targets = a.tensor(param);
  if (!is_integer(targets.dtype()))
    a.fail(param, fmt::format("{}() needs integer class targets, not {}; use the dense form "
                              "without 'sparse_'",
                              a.name(), dtype_name(targets.dtype())));
  return targets;
}

// Returns x as a vector, for the builtins that flatten when no axis is given. A shape with
// one symbolic size flattens to a derived size such as n*3. A shape with two symbols would
// flatten to their product, which has no size in Damo.
Expr flattened(Args& a, const Expr& x) {
  std::int64_t product = 1;
  int symbols = 0;
  for (const Dim& d : x.shape()) {
    if (d.is_symbolic()) ++symbols;
    else product *= d.size();
  }
  if (symbols == 0) return reshape(x, {product});
  if (symbols == 1) return reshape(x, {-1});
  a.fail("x", fmt::format("{}(): without an axis x is flattened, but its shape {} would flatten to a "
                          "product of two symbolic sizes, which Damo cannot represent; pass axis=",
                          a.name(), x.shape().to_string()));
}

void add_neural_net(std::vector<Builtin>& out) {
  out.push_back(define(
      "softmax(x, axis=-1)", "exp(x) normalized to sum to 1 along an axis",
      [](Args& a) { return tensor_value(softmax(a.tensor("x"), axis_argument(a, "axis", -1))); }));
  out.push_back(define("log_softmax(x, axis=-1)", "log(softmax(x)), without overflow", [](Args& a) {
    return tensor_value(log_softmax(a.tensor("x"), axis_argument(a, "axis", -1)));
  }));
  out.push_back(define("cumsum(x, axis=none, reverse=false)",
                       "running sums along an axis, or over the flattened x when the axis is left "
                       "out, as in NumPy; reverse=true sums from the end",
                       [](Args& a) {
                         Expr x = a.tensor("x");
                         bool reverse = a.boolean("reverse", false);
                         if (a.has("axis")) return tensor_value(cumsum(x, axis_argument(a, "axis", 0), reverse));
                         return tensor_value(cumsum(flattened(a, x), 0, reverse));
                       }));
  out.push_back(define("sort(x, axis=-1, descending=false)",
                       "x sorted along an axis, stable, NaN last (first when descending)", [](Args& a) {
                         return tensor_value(sort(a.tensor("x"), axis_argument(a, "axis", -1),
                                                  a.boolean("descending", false)));
                       }));
  out.push_back(define("argsort(x, axis=-1, descending=false)",
                       "i64 positions that sort x along an axis, as sort() orders them", [](Args& a) {
                         return tensor_value(argsort(a.tensor("x"), axis_argument(a, "axis", -1),
                                                     a.boolean("descending", false)));
                       }));
  out.push_back(
      define("categorical_crossentropy(p, targets)",
             "cross-entropy of probabilities p against one-hot or class targets", [](Args& a) {
               return tensor_value(categorical_crossentropy(a.tensor("p"), a.tensor("targets")));
             }));
  out.push_back(define("sparse_categorical_crossentropy(p, targets)",
                       "categorical_crossentropy with integer class targets", [](Args& a) {
                         return tensor_value(categorical_crossentropy(
                             a.tensor("p"), integer_targets(a, "targets")));
                       }));
  out.push_back(define("binary_crossentropy(p, targets)",
                       "-(t * log(p) + (1 - t) * log(1 - p)), elementwise", [](Args& a) {
                         return tensor_value(
                             binary_crossentropy(a.tensor("p"), a.tensor("targets")));
                       }));
}

void add_gradient_ops(std::vector<Builtin>& out) {
  out.push_back(define("slice_scatter(src, shape, axis, start, stop=none, step=1)",
                       "zeros of shape with src written into a slice along an axis", [](Args& a) {
                         Expr src = a.tensor("src");
                         Shape shape(a.shape("shape"));
                         if (src.rank() != shape.rank())
                           a.fail("src", fmt::format("slice_scatter(): src has rank {} but the "
                                                     "shape {} has rank {}",
                                                     src.rank(), shape.to_string(), shape.rank()));
                         // stop=none is the end of the axis: 0 counted from the end on a
                         // symbolic axis, as the printers write it, and past the last element
                         // in the step's direction on a static one.
                         int axis = axis_argument(a, "axis", 0);
                         std::int64_t step = a.integer("step", 1);
                         std::optional<std::int64_t> stop = a.optional_integer("stop");
                         if (!stop && axis >= -shape.rank() && axis < shape.rank()) {
                           const Dim& size = shape[axis < 0 ? axis + shape.rank() : axis];
                           stop = size.is_symbolic() ? 0 : (step > 0 ? size.size() : -1);
                         }
                         return tensor_value(slice_scatter(src, shape, axis, a.integer("start"),
                                                           stop.value_or(0), step));
                       }));
  out.push_back(define("index_add(src, indices, shape, axis)",
                       "zeros of shape with src added at indices along an axis", [](Args& a) {
                         return tensor_value(index_add(a.tensor("src"), a.tensor("indices"),
                                                       Shape(a.shape("shape")),
                                                       axis_argument(a, "axis", 0)));
                       }));
  out.push_back(define("scatter_add_along_axis(src, indices, shape, axis)",
                       "zeros of shape with src added at indices of src's rank", [](Args& a) {
                         return tensor_value(scatter_add_along_axis(
                             a.tensor("src"), a.tensor("indices"), Shape(a.shape("shape")),
                             axis_argument(a, "axis", 0)));
                       }));
}

}  // namespace

void add_fused_builtins(std::vector<Builtin>& out);

void add_op_builtins(std::vector<Builtin>& out) {
  add_unary(out);
  add_binary(out);
  add_reductions(out);
  add_layout(out);
  add_neural_net(out);
  add_gradient_ops(out);
  add_fused_builtins(out);
}

}  // namespace damo
