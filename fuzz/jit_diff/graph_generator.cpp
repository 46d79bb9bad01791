// The graph generator of the JIT differential harness.
#include "graph_generator.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace damo::fuzz {

namespace {

constexpr int kMaxSteps = 10;
constexpr const char* kSymbols[] = {"n", "m"};

// Special float values: signed zeros, infinities, NaN, denormals, the extremes and values
// at the overflow edges of exp and pow.
double special_float(int index) {
  using F = std::numeric_limits<float>;
  using D = std::numeric_limits<double>;
  // clang-format off
  const double values[] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5,
                           D::quiet_NaN(), D::infinity(), -D::infinity(),
                           F::denorm_min(), -F::denorm_min(), D::denorm_min(), F::min(),
                           F::max(), F::lowest(), D::max(), 1e-30, 1e30,
                           88.5, -103.0, 710.0, 3.0, -7.0};
  // clang-format on
  return values[index % std::size(values)];
}

template <class T>
T special_integer(int index) {
  using L = std::numeric_limits<T>;
  // clang-format off
  const T values[] = {0, 1, -1, 2, -2, 3, L::max(), L::min(), static_cast<T>(L::max() - 1),
                      static_cast<T>(L::min() + 1), 31, 32, 63, 64, -64};
  // clang-format on
  return values[index % std::size(values)];
}

// Fills t with values decoded from in: mostly small numbers, often special ones.
void fill_tensor(Tensor& t, FuzzInput& in) {
  visit_dtype(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* out = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      int choice = in.byte();
      if constexpr (std::is_same_v<T, bool>) {
        out[i] = (choice & 1) != 0;
      } else if constexpr (std::is_floating_point_v<T>) {
        out[i] = choice < 96 ? static_cast<T>(special_float(choice))
                             : static_cast<T>((choice - 176) / 8.0);
      } else {
        out[i] = choice < 64 ? special_integer<T>(choice) : static_cast<T>(choice - 160);
      }
    }
  });
}

const OpKind kUnary[] = {OpKind::Neg,    OpKind::Abs,        OpKind::Sign,        OpKind::Exp,
                         OpKind::Expm1,  OpKind::Log,        OpKind::Log1p,       OpKind::Sqrt,
                         OpKind::Square, OpKind::Reciprocal, OpKind::Sin,         OpKind::Cos,
                         OpKind::Tanh,   OpKind::Sigmoid,    OpKind::Softplus,    OpKind::Relu,
                         OpKind::Floor,  OpKind::Ceil,       OpKind::Round,       OpKind::IsNan,
                         OpKind::IsInf,  OpKind::Not,        OpKind::StopGradient, OpKind::Log2,
                         OpKind::Log10,  OpKind::Erf,        OpKind::Erfc};
const OpKind kBinary[] = {
    OpKind::Add, OpKind::Sub,     OpKind::Mul,     OpKind::Div, OpKind::FloorDiv, OpKind::Mod,
    OpKind::Pow, OpKind::Maximum, OpKind::Minimum, OpKind::Eq,  OpKind::Ne,       OpKind::Lt,
    OpKind::Le,  OpKind::Gt,      OpKind::Ge,      OpKind::And, OpKind::Or};
const OpKind kReductions[] = {OpKind::Sum, OpKind::Mean,   OpKind::Prod,   OpKind::Max,
                              OpKind::Min, OpKind::ArgMax, OpKind::ArgMin, OpKind::LogSumExp,
                              OpKind::All, OpKind::Any};
const OpKind kActivations[] = {OpKind::Param, OpKind::Sigmoid, OpKind::Tanh, OpKind::Relu};

// True when an op computes an exact result in the node's dtype from exact operands: the
// IEEE-exact float ops, everything on integers and bools, and data movement.
bool op_is_exact(const Node& node) {
  OpKind op = node.op();
  switch (op_category(op)) {
  case OpCategory::Leaf:
  case OpCategory::Layout: return true;
  case OpCategory::Unary:
    switch (op) {
    case OpKind::Exp:
    case OpKind::Expm1:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Log2:
    case OpKind::Log10:
    case OpKind::Erf:
    case OpKind::Erfc:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Softplus: return false;
    default: return true;
    }
  case OpCategory::Binary: return op != OpKind::Pow || !is_float(node.dtype());
  case OpCategory::Ternary: return true;
  case OpCategory::Reduction:
    if (op == OpKind::Max || op == OpKind::Min || op == OpKind::ArgMax || op == OpKind::ArgMin ||
        op == OpKind::All || op == OpKind::Any)
      return true;
    return (op == OpKind::Sum || op == OpKind::Prod) && !is_float(node.dtype());
  case OpCategory::LinearAlgebra: return !is_float(node.dtype());
  case OpCategory::NeuralNet: return op == OpKind::ArgSort;
  case OpCategory::Gradient: return op == OpKind::SliceScatter || !is_float(node.dtype());
  case OpCategory::Fused:
    if (op == OpKind::FusedElementwise) return true;  // bodies hold exact ops only
    if (op == OpKind::FusedReduction)
      return node.attrs().sub_op == OpKind::Max || node.attrs().sub_op == OpKind::Min ||
             !is_float(node.dtype());
    return false;
  }
  return false;
}

class Generator {
 public:
  Generator(Graph& g, FuzzInput& in) : g_(g), in_(in) {}

  GeneratedCase run() {
    GeneratedCase result;
    result.opt_level = in_.below(4);
    for (std::size_t s = 0; s < std::size(kSymbols); ++s) symbol_sizes_.push_back(in_.below(5));

    int input_count = 1 + in_.below(3);
    for (int i = 0; i < input_count; ++i) {
      DType dtype = kAllDTypes[in_.below(5)];
      Shape shape = random_shape();
      Expr x = g_.input(fmt::format("x{}", i), dtype, shape);
      for (const Dim& d : shape)
        if (d.is_symbolic()) bound_symbols_.insert(d.symbol());
      result.inputs.push_back(x);
      Tensor value = Tensor::empty(dtype, bind(shape));
      fill_tensor(value, in_);
      result.arguments.push_back(value);
      pool_.push_back(x);
    }

    for (int step = 0; step < kMaxSteps && !in_.exhausted(); ++step) {
      try {
        add(build_step());
      } catch (const UserError&) {
        // An ill-typed combination; the factories rejected it, which is their job.
      }
    }

    for (const Expr& e : pool_)
      if (!e->is_leaf()) result.outputs.push_back({e, true, Expr()});
    for (const CheckedOutput& sink : sinks_) result.outputs.push_back(sink);
    return result;
  }

 private:
  Dim random_dim() {
    switch (in_.below(7)) {
    case 0: return Dim(0);
    case 1:
    case 2: return Dim(1);
    case 3: return Dim(2);
    case 4: return Dim(3);
    case 5: return Dim(kSymbols[0]);
    default: return Dim(kSymbols[1]);
    }
  }

  Shape random_shape() {
    std::vector<Dim> dims;
    int rank = in_.below(4);
    for (int i = 0; i < rank; ++i) dims.push_back(random_dim());
    return Shape(std::move(dims));
  }

  Dims bind(const Shape& shape) const {
    Dims dims;
    for (const Dim& d : shape) {
      if (d.is_static()) {
        dims.push_back(d.size());
        continue;
      }
      std::size_t s = d.symbol() == kSymbols[0] ? 0 : 1;
      dims.push_back(symbol_sizes_[s]);
    }
    return dims;
  }

  Expr pick() { return pool_[static_cast<std::size_t>(in_.below(static_cast<int>(pool_.size())))]; }

  // An operand: mostly a pool value, sometimes a weak literal or a typed scalar constant.
  Expr operand() {
    int kind = in_.below(8);
    if (kind == 0) return g_.literal(special_float(in_.byte()));
    if (kind == 1) return g_.literal(special_integer<std::int64_t>(in_.byte()) % 1000, true);
    if (kind == 2) {
      Tensor value = Tensor::empty(kAllDTypes[in_.below(5)], {});
      fill_tensor(value, in_);
      return g_.constant(value);
    }
    return pick();
  }

  // An integer index tensor: an integer pool value when there is one, else a constant.
  Expr indices() {
    for (int tries = 0; tries < 4; ++tries) {
      Expr e = pick();
      if (is_integer(e.dtype()) && e.shape().is_static()) return e;
    }
    Dims dims;
    int rank = in_.below(3);
    for (int i = 0; i < rank; ++i) dims.push_back(in_.below(4));
    Tensor value = Tensor::empty(in_.chance(128) ? DType::Int32 : DType::Int64, dims);
    fill_tensor(value, in_);
    return g_.constant(value);
  }

  // An axis of x, sometimes written negative.
  int axis_of(const Expr& x) {
    if (x.rank() == 0) return 0;
    int axis = in_.below(x.rank());
    return in_.chance(64) ? axis - x.rank() : axis;
  }

  Axes random_axes(const Expr& x) {
    if (in_.chance(64) || x.rank() == 0) return Axes();
    std::vector<std::int64_t> axes;
    int mask = in_.byte();
    for (int i = 0; i < x.rank(); ++i)
      if ((mask >> i) & 1) axes.push_back(i);
    return Axes(axes);
  }

  // A scalar body over params of the operands' dtypes, built from exact ops only.
  Expr exact_body(const std::vector<Expr>& operands) {
    std::vector<Expr> params;
    for (std::size_t i = 0; i < operands.size(); ++i)
      params.push_back(param(g_, static_cast<int>(i), operands[i].dtype()));
    Expr body = params[static_cast<std::size_t>(in_.below(static_cast<int>(params.size())))];
    int ops = 1 + in_.below(3);
    for (int i = 0; i < ops; ++i) {
      Expr other = params[static_cast<std::size_t>(in_.below(static_cast<int>(params.size())))];
      switch (in_.below(5)) {
      case 0: body = binary(OpKind::Add, body, other); break;
      case 1: body = binary(OpKind::Mul, body, other); break;
      case 2: body = binary(OpKind::Maximum, body, other); break;
      case 3: body = where(binary(OpKind::Lt, body, other), other, body); break;
      default: body = unary(OpKind::Neg, body); break;
      }
    }
    return body;
  }

  // Each step reads its decisions one statement at a time: the order in which C++
  // evaluates function arguments differs between compilers, and the same bytes must build
  // the same graph under GCC (corpus replay) and clang (the fuzzer).
  Expr build_step() {
    switch (in_.below(16)) {
    case 0: {
      OpKind op = kUnary[in_.below(std::size(kUnary))];
      return unary(op, pick());
    }
    case 1: {
      Expr x = pick();
      return cast(x, kAllDTypes[in_.below(5)]);
    }
    case 2:
    case 3: {
      OpKind op = kBinary[in_.below(std::size(kBinary))];
      Expr a = pick();
      return binary(op, a, operand());
    }
    case 4:
    case 5: {
      Expr x = pick();
      Expr a = operand();
      Expr b = operand();
      return in_.chance(128) ? where(x, a, b) : clip(x, a, b);
    }
    case 6: {
      OpKind op = kReductions[in_.below(std::size(kReductions))];
      Expr x = pick();
      Axes axes = random_axes(x);
      return reduce(op, x, axes, in_.chance(64));
    }
    case 7: {
      Expr a = pick();
      return matmul(a, pick());
    }
    case 8: return layout_step();
    case 9: return gather_step();
    case 10: {
      Expr x = pick();
      int axis = axis_of(x);
      int kind = in_.below(4);
      bool descending = in_.chance(128);
      if (kind == 0) return softmax(x, axis);
      if (kind == 1) return log_softmax(x, axis);
      return kind == 2 ? argsort(x, axis, descending) : sort(x, axis, descending);
    }
    case 11: {
      Expr p = pick();
      Expr t = pick();
      switch (in_.below(3)) {
      case 0: return categorical_crossentropy(p, t);
      case 1: return binary_crossentropy(p, t);
      default: return softmax_crossentropy(p, t);
      }
    }
    case 12: {
      std::vector<Expr> operands = {pick(), pick()};
      return fused_elementwise(exact_body(operands), operands);
    }
    case 13: return fused_matmul_step();
    case 14: return fused_reduction_step();
    default: return scatter_step();
    }
  }

  Expr layout_step() {
    Expr x = pick();
    switch (in_.below(7)) {
    case 0: {
      std::vector<int> perm;
      for (int i = 0; i < x.rank(); ++i) perm.push_back(i);
      for (int i = x.rank() - 1; i > 0; --i)
        std::swap(perm[static_cast<std::size_t>(i)],
                  perm[static_cast<std::size_t>(in_.below(i + 1))]);
      return transpose(x, perm);
    }
    case 1: return reshape(x, {-1});
    case 2: return expand_dims(x, in_.below(x.rank() + 1));
    case 3: return squeeze(x);
    case 4: {
      // Only the arguments give symbols their sizes, so a new leading axis uses a symbol
      // only when an input has it.
      Dim lead = random_dim();
      if (lead.is_symbolic() && bound_symbols_.count(lead.symbol()) == 0) lead = Dim(2);
      std::vector<Dim> dims = {lead};
      for (const Dim& d : x.shape()) dims.push_back(d);
      return broadcast_to(x, Shape(std::move(dims)));
    }
    case 5: {
      Expr other = pick();
      return concatenate({x, other}, axis_of(x));
    }
    default: {
      auto bound = [&]() -> std::optional<std::int64_t> {
        if (in_.chance(64)) return std::nullopt;
        return static_cast<std::int64_t>(in_.below(9)) - 4;
      };
      int axis = axis_of(x);
      std::optional<std::int64_t> start = bound();
      std::optional<std::int64_t> stop = bound();
      std::int64_t step = in_.chance(64) ? -1 - in_.below(2) : 1 + in_.below(2);
      return slice(x, axis, start, stop, step);
    }
    }
  }

  Expr gather_step() {
    Expr x = pick();
    int kind = in_.below(4);
    if (kind == 3) {
      // Random draws of x's shape: both backends must give the same bits.
      Expr key = index_constant({});
      DType dtype = in_.chance(128) ? DType::Float32 : DType::Float64;
      return random_uniform(key, x.shape(), dtype, in_.below(3));
    }
    Expr index = indices();
    if (kind == 2) {
      std::int64_t depth = in_.below(4);
      return one_hot(index, depth, kAllDTypes[in_.below(5)]);
    }
    int axis = axis_of(x);
    return kind == 0 ? take(x, index, axis) : take_along_axis(x, index, axis);
  }

  // fused_matmul requires float operands and bias of one dtype and a bias that broadcasts
  // to the product, as the optimizer guarantees; other combinations are skipped.
  Expr fused_matmul_step() {
    Expr a = pick();
    Expr b = pick();
    if (!is_float(a.dtype())) a = cast(a, DType::Float32);
    if (b.dtype() != a.dtype()) b = cast(b, a.dtype());
    bool transpose_a = in_.chance(64) && a.rank() >= 2;
    bool transpose_b = in_.chance(64) && b.rank() >= 2;
    Expr product = matmul(transpose_a ? transpose(a, swap_last(a.rank())) : a,
                          transpose_b ? transpose(b, swap_last(b.rank())) : b);
    Expr bias = in_.chance(128) ? operand() : Expr();
    if (bias.defined() && bias.dtype() != a.dtype()) bias = cast(bias, a.dtype());
    if (bias.defined() && broadcast_shapes(product.shape(), bias.shape()) != product.shape())
      bias = Expr();
    return fused_matmul(a, b, bias, kActivations[in_.below(4)], transpose_a, transpose_b);
  }

  static std::vector<int> swap_last(int rank) {
    std::vector<int> perm;
    for (int i = 0; i < rank; ++i) perm.push_back(i);
    std::swap(perm[static_cast<std::size_t>(rank - 2)], perm[static_cast<std::size_t>(rank - 1)]);
    return perm;
  }

  Expr fused_reduction_step() {
    std::vector<Expr> operands = {pick(), pick()};
    // Sum and prod bodies must already have the result dtype, i64 or a float.
    for (Expr& e : operands)
      if (!is_float(e.dtype())) e = cast(e, DType::Int64);
    if (operands[0].dtype() != operands[1].dtype())
      operands[1] = cast(operands[1], operands[0].dtype());
    const OpKind kinds[] = {OpKind::Sum, OpKind::Max, OpKind::Min, OpKind::Prod};
    Expr body = exact_body(operands);
    Expr x = fused_elementwise(body, operands);
    OpKind op = kinds[in_.below(4)];
    Axes axes = random_axes(x);
    return fused_reduction(op, body, operands, axes, in_.chance(64));
  }

  // An index constant of the given shape, with values from the bytes (any value is valid:
  // the scatters clamp indices into range).
  Expr index_constant(const Dims& dims) {
    Tensor value = Tensor::empty(in_.chance(128) ? DType::Int32 : DType::Int64, dims);
    fill_tensor(value, in_);
    return g_.constant(value);
  }

  Expr scatter_step() {
    Expr src = pick();
    if (src.rank() == 0 || !src.shape().is_static()) {
      Expr targets = pick();
      return softmax_crossentropy_grad(src, targets, operand());
    }
    int axis = in_.below(src.rank());
    Dims src_dims = src.shape().static_dims();
    std::vector<Dim> dims = src.shape().dims();
    std::int64_t size = src_dims[static_cast<std::size_t>(axis)];
    switch (in_.below(3)) {
    case 0: {
      // A slice of a larger axis that src exactly fills, with step 1 or 2.
      std::int64_t step = 1 + in_.below(2);
      std::int64_t start = in_.below(3);
      dims[static_cast<std::size_t>(axis)] = Dim(start + size * step + in_.below(2));
      std::int64_t stop = size == 0 ? start : start + (size - 1) * step + 1;
      return slice_scatter(src, Shape(dims), axis, start, stop, step);
    }
    case 1: {
      dims[static_cast<std::size_t>(axis)] = Dim(1 + in_.below(4));
      return index_add(src, index_constant({size}), Shape(dims), axis);
    }
    default: {
      dims[static_cast<std::size_t>(axis)] = Dim(1 + in_.below(4));
      return scatter_add_along_axis(src, index_constant(src_dims), Shape(dims), axis);
    }
    }
  }

  bool exact(const Node* node) {
    auto it = exact_.find(node);
    if (it != exact_.end()) return it->second;
    bool result = op_is_exact(*node);
    for (const Node* input : node->inputs()) result = result && exact(input);
    exact_[node] = result;
    return result;
  }

  // Scale of an approximate result: the same reduction or product over absolute values,
  // which bounds the terms whose rounding the result accumulates.
  Expr scale_of(const Expr& e) {
    const Node& n = *e.node();
    auto abs_of = [&](std::size_t i) { return unary(OpKind::Abs, Expr(n.input(i))); };
    switch (n.op()) {
    case OpKind::Sum:
    case OpKind::Mean: return reduce(n.op(), abs_of(0), Axes(n.attrs().ints), n.attrs().keepdims);
    case OpKind::LogSumExp:
      return reduce(OpKind::Max, abs_of(0), Axes(n.attrs().ints), n.attrs().keepdims);
    case OpKind::MatMul: return matmul(abs_of(0), abs_of(1));
    case OpKind::FusedMatMul:
      return fused_matmul(abs_of(0), abs_of(1), n.input_count() > 2 ? abs_of(2) : Expr(),
                          OpKind::Param, n.attr(0) != 0, n.attr(1) != 0);
    case OpKind::IndexAdd:
    case OpKind::ScatterAddAlongAxis: return rebuild(n, {abs_of(0), Expr(n.input(1))});
    case OpKind::FusedReduction: {
      if (n.attrs().sub_op != OpKind::Sum) return Expr();
      std::vector<Expr> operands(n.inputs().begin(), n.inputs().end());
      Expr terms = unary(OpKind::Abs, fused_elementwise(Expr(n.attrs().body), operands));
      return reduce(OpKind::Sum, terms, Axes(n.attrs().ints), n.attrs().keepdims);
    }
    case OpKind::CategoricalCrossentropy:
      return sum(unary(OpKind::Abs, mul(Expr(n.input(1)), log(Expr(n.input(0))))), -1);
    case OpKind::SoftmaxCrossEntropy: return sum(abs_of(1), -1) * (max(abs_of(0), -1) * 2.0 + 1.0);
    case OpKind::SparseSoftmaxCrossEntropy: return max(abs_of(0), -1) * 2.0 + 1.0;
    case OpKind::SparseSoftmaxCrossEntropyGrad:
      return broadcast_to(expand_dims(abs_of(2), -1), n.shape());
    case OpKind::SoftmaxCrossEntropyGrad:
      return expand_dims(abs_of(2), -1) * (sum(abs_of(1), -1, true) + abs_of(1)) +
             expand_dims(abs_of(2), -1);
    case OpKind::LogSoftmax: {
      Expr m = reduce(OpKind::Max, abs_of(0), Axes(std::vector<std::int64_t>{n.attr(0)}), true);
      return broadcast_to(m, n.shape());
    }
    default: return Expr();
    }
  }

  void add(const Expr& e) {
    if (!e.defined() || e->is_leaf()) return;
    if (exact(e.node())) {
      pool_.push_back(e);
      return;
    }
    Expr scale;
    try {
      scale = scale_of(e);
    } catch (const UserError&) {
      scale = Expr();
    }
    sinks_.push_back({e, false, scale});
  }

  Graph& g_;
  FuzzInput& in_;
  std::vector<std::int64_t> symbol_sizes_;
  std::unordered_set<std::string> bound_symbols_;
  std::vector<Expr> pool_;
  std::vector<CheckedOutput> sinks_;
  std::unordered_map<const Node*, bool> exact_;
};

}  // namespace

GeneratedCase generate_case(Graph& g, FuzzInput& in) { return Generator(g, in).run(); }

}  // namespace damo::fuzz
