// Factories of the elementwise ops (unary, binary, ternary and cast) and shared helpers.
#include <fmt/format.h>

#include <limits>
#include <unordered_set>
#include <vector>

#include "damo/graph/eval.h"
#include "damo/runtime/signature.h"
#include "op_builder.h"

namespace damo {

namespace detail {

Expr make_node(OpKind op, DType dtype, Shape shape, std::vector<Expr> inputs, Attrs attrs,
               bool weak) {
  DAMO_ASSERT(!inputs.empty(), "make_node needs at least one input to find the graph");
  NodeSpec spec;
  spec.op = op;
  spec.dtype = dtype;
  spec.weak = weak;
  spec.shape = std::move(shape);
  spec.attrs = std::move(attrs);
  spec.inputs.reserve(inputs.size());
  for (const Expr& e : inputs) spec.inputs.push_back(e.node());
  return Expr(inputs[0].graph().intern(std::move(spec)));
}

namespace {

// True when every leaf below node is a constant: no input, shared variable or symbol size.
bool reads_only_constants(const Node* node) {
  std::vector<const Node*> stack = {node};
  std::unordered_set<const Node*> seen;
  while (!stack.empty()) {
    const Node* current = stack.back();
    stack.pop_back();
    if (!seen.insert(current).second) continue;
    if (current->is_leaf() && !current->is_constant()) return false;
    for (const Node* input : current->inputs()) stack.push_back(input);
  }
  return true;
}

}  // namespace

Expr convert(Expr x, DType dtype) {
  if (x.dtype() == dtype) return x;
  // A weak constant is re-created in dtype and stays weak, so that it still yields to a
  // typed operand it meets later.
  if (x->is_constant() && x->weak()) {
    // A literal that the typed operand's integer dtype cannot hold would wrap around and
    // compare or clip wrongly, so it is an error, as for NumPy's and JAX's Python integers.
    const Tensor& value = x->value();
    if (dtype == DType::Int32 && value.dtype() == DType::Int64) {
      for (std::int64_t i = 0; i < value.numel(); ++i) {
        std::int64_t v = value.get_int64(i);
        if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
          throw UserError(fmt::format(
              "the integer literal {} does not fit i32, the dtype of the tensor it is combined with "
              "(i32 holds -2147483648 to 2147483647); cast that tensor to i64 first",
              v));
      }
    }
    return x.graph().weak_constant(value.cast(dtype));
  }
  // A weak integer computed from literals alone, such as sort([3000000000, 1]), is
  // evaluated here, so that its values get the same check as a literal's.
  if (x->weak() && x.dtype() == DType::Int64 && dtype == DType::Int32 && reads_only_constants(x.node()))
    return convert(x.graph().weak_constant(evaluate(x)), dtype);
  return cast(x, dtype);
}

void check_operands(const std::string& op, std::initializer_list<Expr> operands) {
  const Graph* graph = nullptr;
  int position = 0;
  for (const Expr& e : operands) {
    ++position;
    if (!e.defined()) throw UserError(fmt::format("{}: operand {} is undefined", op, position));
    if (graph != nullptr && &e.graph() != graph)
      throw UserError(fmt::format("{}: operand {} belongs to another graph; build all operands "
                                  "of an expression in one Graph",
                                  op, position));
    graph = &e.graph();
  }
}

Shape broadcast_or_throw(const std::string& op, const Shape& a, const Shape& b) {
  auto shape = broadcast_shapes(a, b);
  if (shape) return *shape;
  std::string message = fmt::format("{}: shapes {} and {} do not broadcast: each axis, aligned "
                                    "from the last, must have equal sizes or size 1",
                                    op, a.to_string(), b.to_string());
  // A symbolic size matches only itself and a static 1, whatever sizes a call binds.
  for (int i = 1; i <= std::min(a.rank(), b.rank()); ++i) {
    const Dim& x = a[a.rank() - i];
    const Dim& y = b[b.rank() - i];
    if (x == y || x == Dim(1) || y == Dim(1) || (x.is_static() && y.is_static())) continue;
    auto factor = [](const Dim& d) {
      std::optional<DerivedSymbol> derived = parse_derived_symbol(d.symbol());
      return derived ? derived->times : 1;
    };
    if (x.is_symbolic() && y.is_symbolic() && x.base_symbol() == y.base_symbol() &&
        factor(x) == factor(y))
      message += fmt::format(". The sizes {} and {} differ by a constant in every call; slice the "
                             "operands to one size, as in x[1:] - x[:-1]",
                             x.to_string(), y.to_string());
    else if (x.is_symbolic() && y.is_symbolic() && x.base_symbol() == y.base_symbol())
      message += fmt::format(". The sizes {} and {} are multiples of {} by different factors; "
                             "reshape the operands to one shape first",
                             x.to_string(), y.to_string(), x.base_symbol());
    else if (x.is_symbolic() && y.is_symbolic() && (x.is_derived() || y.is_derived()))
      message += fmt::format(". The sizes {} and {} come from different symbols, which may stand "
                             "for different sizes in a call; reshape or slice the operands to "
                             "one size first",
                             x.to_string(), y.to_string());
    else if (x.is_symbolic() && y.is_symbolic())
      message += fmt::format(". Two symbols may stand for different sizes in a call, so Damo "
                             "does not match {} with {}; give both inputs the same symbol, {} in "
                             "both shapes",
                             x.to_string(), y.to_string(), x.to_string());
    else
      message += fmt::format(". Damo never takes the symbolic size {} to be {}; declare the input "
                             "with the static size, or both with one symbol",
                             x.is_symbolic() ? x.to_string() : y.to_string(),
                             x.is_symbolic() ? y.to_string() : x.to_string());
    break;
  }
  throw UserError(message);
}

std::string describe(const Expr& x) {
  return fmt::format("{} {}", dtype_name(x.dtype()), x.shape().to_string());
}

}  // namespace detail

using detail::check_operands;
using detail::convert;
using detail::make_node;

namespace {

enum class UnaryRule {
  Numeric,      // bool computes as i64; others keep their dtype
  Float,        // integer and bool compute in the default float dtype
  IntegerNoop,  // floats keep their dtype; integers and bool are returned unchanged
  ToBool,       // any dtype in, bool out
  Any,          // any dtype, kept
};

UnaryRule unary_rule(OpKind op) {
  switch (op) {
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Square:
  case OpKind::Relu: return UnaryRule::Numeric;
  case OpKind::Floor:
  case OpKind::Ceil:
  case OpKind::Round: return UnaryRule::IntegerNoop;
  case OpKind::IsNan:
  case OpKind::IsInf:
  case OpKind::Not: return UnaryRule::ToBool;
  case OpKind::StopGradient: return UnaryRule::Any;
  default: return UnaryRule::Float;
  }
}

// Default float for a weak integer literal stays a weak float64, like a Python float.
DType float_dtype_for(const Expr& x) {
  if (is_float(x.dtype())) return x.dtype();
  return x->weak() ? DType::Float64 : kDefaultFloat;
}

// Promotes a and b and converts both to the promoted dtype.
std::pair<Expr, Expr> promote_pair(Expr a, Expr b, bool& weak) {
  OperandType t = promote({a.dtype(), a->weak()}, {b.dtype(), b->weak()});
  weak = t.weak;
  return {convert(a, t.dtype), convert(b, t.dtype)};
}

bool is_comparison(OpKind op) {
  return op == OpKind::Eq || op == OpKind::Ne || op == OpKind::Lt || op == OpKind::Le ||
         op == OpKind::Gt || op == OpKind::Ge;
}

}  // namespace

Expr unary(OpKind op, Expr x) {
  DAMO_ASSERT(op_category(op) == OpCategory::Unary && op != OpKind::Cast,
              fmt::format("unary() called for {}", op_name(op)));
  std::string name(op_name(op));
  check_operands(name, {x});
  DType dtype = x.dtype();
  switch (unary_rule(op)) {
  case UnaryRule::Numeric:
    if (dtype == DType::Bool) x = convert(x, x->weak() ? DType::Int64 : kDefaultInt);
    break;
  case UnaryRule::Float: x = convert(x, float_dtype_for(x)); break;
  case UnaryRule::IntegerNoop:
    if (!is_float(dtype)) return x;
    break;
  case UnaryRule::ToBool:
    return make_node(op, DType::Bool, x.shape(), {x}, {}, x->weak());
  case UnaryRule::Any: break;
  }
  return make_node(op, x.dtype(), x.shape(), {x}, {}, x->weak());
}

Expr binary(OpKind op, Expr a, Expr b) {
  DAMO_ASSERT(op_category(op) == OpCategory::Binary,
              fmt::format("binary() called for {}", op_name(op)));
  std::string name(op_name(op));
  check_operands(name, {a, b});
  Shape shape = detail::broadcast_or_throw(name, a.shape(), b.shape());
  bool weak = false;
  if (op == OpKind::And || op == OpKind::Or) {
    weak = a->weak() && b->weak();
    return make_node(op, DType::Bool, shape, {convert(a, DType::Bool), convert(b, DType::Bool)},
                     {}, weak);
  }
  auto [pa, pb] = promote_pair(a, b, weak);
  DType dtype = pa.dtype();
  if (is_comparison(op)) return make_node(op, DType::Bool, shape, {pa, pb}, {}, weak);
  if (op == OpKind::Div && !is_float(dtype)) {
    DType target = weak ? DType::Float64 : kDefaultFloat;
    pa = convert(pa, target);
    pb = convert(pb, target);
    dtype = target;
  } else if (dtype == DType::Bool && op != OpKind::Maximum && op != OpKind::Minimum) {
    // Arithmetic on two bool operands counts them as integers, as NumPy's sum does.
    pa = convert(pa, DType::Int64);
    pb = convert(pb, DType::Int64);
    dtype = DType::Int64;
  }
  return make_node(op, dtype, shape, {pa, pb}, {}, weak);
}

Expr neg(Expr x) { return unary(OpKind::Neg, x); }
Expr abs(Expr x) { return unary(OpKind::Abs, x); }
Expr sign(Expr x) { return unary(OpKind::Sign, x); }
Expr exp(Expr x) { return unary(OpKind::Exp, x); }
Expr expm1(Expr x) { return unary(OpKind::Expm1, x); }
Expr log(Expr x) { return unary(OpKind::Log, x); }
Expr log1p(Expr x) { return unary(OpKind::Log1p, x); }
Expr log2(Expr x) { return unary(OpKind::Log2, x); }
Expr log10(Expr x) { return unary(OpKind::Log10, x); }
Expr erf(Expr x) { return unary(OpKind::Erf, x); }
Expr erfc(Expr x) { return unary(OpKind::Erfc, x); }
Expr sqrt(Expr x) { return unary(OpKind::Sqrt, x); }
Expr square(Expr x) { return unary(OpKind::Square, x); }
Expr reciprocal(Expr x) { return unary(OpKind::Reciprocal, x); }
Expr sin(Expr x) { return unary(OpKind::Sin, x); }
Expr cos(Expr x) { return unary(OpKind::Cos, x); }
Expr tanh(Expr x) { return unary(OpKind::Tanh, x); }
Expr sigmoid(Expr x) { return unary(OpKind::Sigmoid, x); }
Expr softplus(Expr x) { return unary(OpKind::Softplus, x); }
Expr relu(Expr x) { return unary(OpKind::Relu, x); }
Expr floor(Expr x) { return unary(OpKind::Floor, x); }
Expr ceil(Expr x) { return unary(OpKind::Ceil, x); }
Expr round(Expr x) { return unary(OpKind::Round, x); }
Expr isnan(Expr x) { return unary(OpKind::IsNan, x); }
Expr isinf(Expr x) { return unary(OpKind::IsInf, x); }
Expr logical_not(Expr x) { return unary(OpKind::Not, x); }
Expr stop_gradient(Expr x) { return unary(OpKind::StopGradient, x); }

Expr cast(Expr x, DType dtype) {
  check_operands("cast", {x});
  if (x.dtype() == dtype) return x;
  Attrs attrs;
  attrs.dtype = dtype;
  return make_node(OpKind::Cast, dtype, x.shape(), {x}, attrs);
}

Expr add(Expr a, Expr b) { return binary(OpKind::Add, a, b); }
Expr sub(Expr a, Expr b) { return binary(OpKind::Sub, a, b); }
Expr mul(Expr a, Expr b) { return binary(OpKind::Mul, a, b); }
Expr div(Expr a, Expr b) { return binary(OpKind::Div, a, b); }
Expr floor_div(Expr a, Expr b) { return binary(OpKind::FloorDiv, a, b); }
Expr mod(Expr a, Expr b) { return binary(OpKind::Mod, a, b); }
Expr pow(Expr a, Expr b) { return binary(OpKind::Pow, a, b); }
Expr maximum(Expr a, Expr b) { return binary(OpKind::Maximum, a, b); }
Expr minimum(Expr a, Expr b) { return binary(OpKind::Minimum, a, b); }
Expr eq(Expr a, Expr b) { return binary(OpKind::Eq, a, b); }
Expr ne(Expr a, Expr b) { return binary(OpKind::Ne, a, b); }
Expr lt(Expr a, Expr b) { return binary(OpKind::Lt, a, b); }
Expr le(Expr a, Expr b) { return binary(OpKind::Le, a, b); }
Expr gt(Expr a, Expr b) { return binary(OpKind::Gt, a, b); }
Expr ge(Expr a, Expr b) { return binary(OpKind::Ge, a, b); }
Expr logical_and(Expr a, Expr b) { return binary(OpKind::And, a, b); }
Expr logical_or(Expr a, Expr b) { return binary(OpKind::Or, a, b); }

Expr where(Expr condition, Expr if_true, Expr if_false) {
  check_operands("where", {condition, if_true, if_false});
  Shape shape = detail::broadcast_or_throw("where", condition.shape(), if_true.shape());
  shape = detail::broadcast_or_throw("where", shape, if_false.shape());
  bool weak = false;
  auto [a, b] = promote_pair(if_true, if_false, weak);
  Expr c = convert(condition, DType::Bool);
  // TODO: where(mask, -inf, 0) with a typed mask is a typed f64, so adding it to an f32
  // tensor gives f64. Making it weak needs weak nodes over inputs to survive the implicit
  // bool casts of logical ops, which the optimizer's rebuild check does not accept yet.
  return make_node(OpKind::Where, a.dtype(), shape, {c, a, b}, {}, weak && condition->weak());
}

Expr clip(Expr x, Expr low, Expr high) {
  check_operands("clip", {x, low, high});
  Shape shape = detail::broadcast_or_throw("clip", x.shape(), low.shape());
  shape = detail::broadcast_or_throw("clip", shape, high.shape());
  OperandType t = promote({x.dtype(), x->weak()}, {low.dtype(), low->weak()});
  t = promote(t, {high.dtype(), high->weak()});
  DType dtype = t.dtype == DType::Bool ? DType::Int64 : t.dtype;
  return make_node(OpKind::Clip, dtype, shape,
                   {convert(x, dtype), convert(low, dtype), convert(high, dtype)}, {}, t.weak);
}

}  // namespace damo
