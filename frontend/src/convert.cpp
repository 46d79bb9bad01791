// Interpreter conversions: values to tensors, constants, integers and shapes, and the cost
// check that keeps right-away evaluation bounded.
#include <fmt/format.h>

#include <cstring>
#include <functional>

#include "builtins.h"
#include "damo/graph/eval.h"
#include "damo/graph/promotion.h"
#include "damo/graph/traversal.h"
#include "interpreter.h"

namespace damo {

Expr Interpreter::to_expr(const Value& value, std::size_t offset) {
  if (value.is(Value::Kind::Tensor)) return value.expr();
  if (value.is(Value::Kind::List)) {
    // Only a list written in the code stacks into a tensor. The outputs of a compiled
    // function or a builtin may differ in dtype, so they stay items.
    if (!value.literal())
      fail(offset, fmt::format("expected a tensor, but this is a list of {} item{} from a builtin or a "
                               "compiled function; pick one with an integer subscript, as in r[0], "
                               "or stack them with stack(...)",
                               value.list_size(), value.list_size() == 1 ? "" : "s"));
    return list_to_expr(value, offset);
  }
  std::string hint;
  if (value.is(Value::Kind::Builtin)) hint = fmt::format("; call it, as in {}(...)", value.text());
  if (value.is(Value::Kind::DType)) hint = "; a dtype converts a tensor when called, as in f32(x)";
  fail(offset, fmt::format("expected a tensor, but this is {}{}", value.kind_name(), hint));
}

Expr Interpreter::list_to_expr(const Value& list, std::size_t offset) {
  // A number list is already the tensor that its weak i64 or f64 items would stack into.
  if (list.is_number_list()) {
    check_list_size(list.numbers().numel(), offset);
    return graph_.weak_constant(list.numbers());
  }
  // An empty list is a weak float of shape (0,), as NumPy makes float64 for [].
  if (list.items().empty()) return graph_.weak_constant(Tensor::empty(DType::Float64, {0}));

  std::vector<Expr> exprs;
  bool constant = true;
  std::optional<OperandType> type;
  for (std::size_t position = 0; position < list.items().size(); ++position) {
    const Value& item = list.items()[position];
    if (!item.is(Value::Kind::Tensor) && !item.is(Value::Kind::List))
      fail(offset, fmt::format("a list that is used as a tensor must hold numbers or tensors, "
                               "but an item is {}",
                               item.kind_name()));
    Expr e = to_expr(item, offset);
    // An item that reads an input or a shared variable keeps the list symbolic: a shared
    // variable's value at this moment would go stale once an update changes it.
    constant = constant && is_constant_expr(e);
    exprs.push_back(e);
    OperandType item_type{e.dtype(), e->weak()};
    type = type ? promote(*type, item_type) : item_type;
    if (exprs.back().shape() != exprs.front().shape())
      fail(offset, fmt::format("list items must have one shape, but they have shapes {} and {}",
                               exprs.front().shape().to_string(), exprs.back().shape().to_string()));
  }

  if (!constant) {
    // Stacked along a new first axis, as np.stack does.
    std::vector<Expr> parts;
    for (const Expr& e : exprs) {
      check_literal_fits(e, type->dtype, offset);
      parts.push_back(with_location(*this, offset, [&] { return expand_dims(cast(e, type->dtype), 0); }));
    }
    return with_location(*this, offset, [&] { return concatenate(parts, 0); });
  }

  std::vector<Tensor> items;
  for (const Expr& e : exprs) {
    check_literal_fits(e, type->dtype, offset);
    items.push_back(constant_value(e, offset));
  }
  Dims shape = {static_cast<std::int64_t>(items.size())};
  for (std::int64_t d : items.front().shape()) shape.push_back(d);
  check_list_size(dims_numel(shape), offset);

  // Each item converted to the common dtype fills its slice of the result.
  Tensor result = Tensor::empty(type->dtype, shape);
  auto* out = static_cast<unsigned char*>(result.raw_data());
  std::size_t item_bytes =
      static_cast<std::size_t>(items.front().numel()) * dtype_size(type->dtype);
  for (std::size_t i = 0; i < items.size(); ++i) {
    Tensor converted = items[i].cast(type->dtype);
    if (item_bytes > 0) std::memcpy(out + i * item_bytes, converted.raw_data(), item_bytes);
  }
  return type->weak ? graph_.weak_constant(result) : graph_.constant(result);
}

void Interpreter::check_list_size(std::int64_t numel, std::size_t offset) const {
  if (numel > kMaxEvaluatedElements)
    fail(offset, fmt::format("a list of {} elements is more than the {} that the interpreter "
                             "creates",
                             numel, kMaxEvaluatedElements));
}

Tensor Interpreter::constant_value(const Expr& expr, std::size_t offset) {
  if (expr->op() == OpKind::Constant) return expr->value();
  std::vector<Expr> inputs = free_inputs(expr);
  if (!inputs.empty())
    fail(offset, fmt::format("this needs a constant, but it depends on the input '{}', which "
                             "has a value only when a compiled function runs; use a constant, or "
                             "the result of calling a function([...], [...])",
                             inputs.front()->name()));
  for (const Node* node : topo_order({expr}))
    if (node->op() == OpKind::DimSize)
      fail(offset, fmt::format("this needs a constant, but it depends on dim_size({}), which has a "
                               "value only when a compiled function runs; use a static size",
                               node->name()));
  if (!has_value(expr))
    fail(offset,
         "this needs a constant, but it contains a $i placeholder, which has a value "
         "only inside a fused op");
  check_evaluation_cost({expr}, offset);
  return with_location(*this, offset, [&] { return damo::evaluate(expr); });
}

void Interpreter::check_evaluation_cost(const std::vector<Expr>& roots, std::size_t offset) const {
  std::int64_t work = 0;
  auto numel_of = [](const Node* n) -> std::int64_t {
    std::optional<std::int64_t> count = n->shape().static_numel();
    return count.value_or(0);
  };
  for (const Node* node : topo_order(roots)) {
    if (node->is_leaf()) continue;
    std::int64_t numel = numel_of(node);
    if (numel > kMaxEvaluatedElements)
      fail(offset, fmt::format("{} would make a tensor of shape {} ({} elements), more than the "
                               "{} that the interpreter evaluates",
                               op_name(node->op()), node->shape().to_string(), numel,
                               kMaxEvaluatedElements));
    std::int64_t node_work = numel;
    for (const Node* input : node->inputs()) node_work += numel_of(input);
    bool product = node->op() == OpKind::MatMul || node->op() == OpKind::FusedMatMul;
    const Shape& a = product ? node->input(0)->shape() : node->shape();
    if (product && a.rank() > 0) {
      // Each output element of a matrix product sums k products, k being the first
      // operand's last size, or its second last when fused_matmul transposes it.
      bool transposed = node->op() == OpKind::FusedMatMul && node->attr(0) != 0 && a.rank() > 1;
      const Dim& contracted = a[a.rank() - (transposed ? 2 : 1)];
      if (contracted.is_static()) {
        std::int64_t k = contracted.size();
        node_work = k == 0 || numel <= kMaxEvaluationWork / k ? numel * k : kMaxEvaluationWork + 1;
      }
    }
    work += std::min(node_work, kMaxEvaluationWork + 1);
    if (work > kMaxEvaluationWork)
      fail(offset, fmt::format("evaluating this right away would take more than {} element "
                               "operations; compile it with function(...) instead",
                               kMaxEvaluationWork));
  }
}

std::int64_t Interpreter::to_int(const Value& value, std::size_t offset, const std::string& what) {
  if (!value.is(Value::Kind::Tensor))
    fail(offset, fmt::format("{} must be an integer, not {}", what, value.kind_name()));
  const Expr& e = value.expr();
  if (!is_integer(e.dtype()) || e.rank() != 0)
    fail(offset, fmt::format("{} must be an integer, not {}", what,
                             fmt::format("{} {}", dtype_name(e.dtype()), e.shape().to_string())));
  return constant_value(e, offset).get_int64(0);
}

double Interpreter::to_number(const Value& value, std::size_t offset, const std::string& what) {
  if (!value.is(Value::Kind::Tensor) || value.expr().rank() != 0)
    fail(offset, fmt::format("{} must be a number", what));
  return constant_value(value.expr(), offset).get_double(0);
}

bool Interpreter::to_bool(const Value& value, std::size_t offset, const std::string& what) {
  if (!value.is(Value::Kind::Tensor) || value.expr().dtype() != DType::Bool ||
      value.expr().rank() != 0)
    fail(offset, fmt::format("{} must be true or false", what));
  return constant_value(value.expr(), offset).get_double(0) != 0;
}

Dim Interpreter::evaluate_dim(const ast::Expr& expr) {
  auto symbol = [&](const ast::Expr& e) -> std::optional<std::string> {
    const auto* name = std::get_if<ast::Name>(&e.node);
    if (name == nullptr || lookup(name->name) != nullptr) return std::nullopt;
    if (builtin_table().find(name->name) != nullptr || parse_dtype(name->name))
      fail(e.offset, fmt::format("'{}' is a builtin name, not a dimension", name->name));
    return name->name;
  };
  // A symbol, times and less constants (n-2, n-1-1, n*3, 2*n-1): the derived sizes of
  // slices and reshapes of symbolic axes, as the printers write them. Null for an
  // expression of another form.
  auto rule = [](const Dim& base) {
    return fmt::format("a symbolic size such as {} can only be multiplied or reduced by constants, "
                       "as in {}*2 or {}-1; other arithmetic on it has no size in Damo",
                       base.base_symbol(), base.base_symbol(), base.base_symbol());
  };
  std::function<std::optional<Dim>(const ast::Expr&)> symbolic = [&](const ast::Expr& e) -> std::optional<Dim> {
    if (std::optional<std::string> name = symbol(e)) return Dim(*name);
    if (const auto* unary = std::get_if<ast::Unary>(&e.node)) {
      if (std::optional<Dim> operand = symbolic(*unary->operand)) fail(e.offset, rule(*operand));
      return std::nullopt;
    }
    const auto* binary = std::get_if<ast::Binary>(&e.node);
    if (binary == nullptr) return std::nullopt;
    std::optional<Dim> base = symbolic(*binary->lhs);
    const ast::Expr* amount = binary->rhs.get();
    if (!base) {
      amount = binary->lhs.get();
      base = symbolic(*binary->rhs);
      if (base && binary->op != ast::BinaryOp::Mul) fail(e.offset, rule(*base));
    }
    if (!base) return std::nullopt;
    if (binary->op == ast::BinaryOp::Sub) {
      std::int64_t k = constant_int(*amount, "the amount subtracted from a symbolic size");
      if (k < 0)
        fail(amount->offset, fmt::format("the amount subtracted from a symbolic size must be 0 or "
                                         "more, not {}, because Damo has no size larger than {}",
                                         k, base->to_string()));
      return with_location(*this, e.offset, [&] { return base->minus(k); });
    }
    if (binary->op != ast::BinaryOp::Mul) fail(e.offset, rule(*base));
    if (std::optional<Dim> other = symbolic(*amount))
      fail(e.offset, fmt::format("the product of the symbolic sizes {} and {} has no size in Damo; "
                                 "multiply a symbolic size by a constant only",
                                 base->to_string(), other->to_string()));
    std::int64_t k = constant_int(*amount, "the factor of a symbolic size");
    if (k < 0)
      fail(amount->offset, fmt::format("the factor of a symbolic size must be 0 or more, not {}", k));
    return with_location(*this, e.offset, [&] { return base->times(k); });
  };
  if (std::optional<Dim> d = symbolic(expr)) return *d;
  return Dim(constant_int(expr, "a dimension"));
}

std::vector<Dim> Interpreter::evaluate_shape(const ast::Expr& expr) {
  std::vector<Dim> dims;
  const auto* list = std::get_if<ast::List>(&expr.node);
  if (list != nullptr && !list->is_map) {
    for (const ast::ListItem& item : list->items) dims.push_back(evaluate_dim(*item.value));
    return dims;
  }
  // A bare size that starts with a name that is not a variable, such as n in vector(i64, n)
  // or n-1 in vector(f32, n-1), is one symbolic dimension.
  const ast::Expr* first = &expr;
  while (const auto* binary = std::get_if<ast::Binary>(&first->node)) first = binary->lhs.get();
  const auto* name = std::get_if<ast::Name>(&first->node);
  if (name != nullptr && lookup(name->name) == nullptr) return {evaluate_dim(expr)};

  // A variable holding a list of sizes, or an integer tensor of rank 0 or 1.
  Value value = evaluate(expr);
  if (value.is(Value::Kind::List)) {
    for (const Value& item : list_items(value))
      dims.emplace_back(to_int(item, expr.offset, "a dimension"));
    return dims;
  }
  if (value.is(Value::Kind::Tensor) && value.expr().rank() <= 1 &&
      is_integer(value.expr().dtype())) {
    Tensor t = constant_value(value.expr(), expr.offset);
    for (std::int64_t i = 0; i < t.numel(); ++i) dims.emplace_back(t.get_int64(i));
    return dims;
  }
  fail(expr.offset, "a shape must be a list of sizes and names, such as [n, 3]");
}

}  // namespace damo
