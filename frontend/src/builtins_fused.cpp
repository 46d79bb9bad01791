// Builtins for the ops that the optimizer introduces: fused cross-entropies, fused matmul,
// and fused elementwise and reduction bodies over param(...) placeholders. The op factories
// treat malformed operands of these ops as internal errors, so each builtin checks its
// arguments first and reports a UserError.
#include <fmt/format.h>

#include "damo/graph/promotion.h"
#include "builtins.h"

namespace damo {

namespace {

Value tensor_value(Expr e) { return Value::tensor(e); }

Expr integer_targets(Args& a, const std::string& param) {
  Expr targets = a.tensor(param);
  if (!is_integer(targets.dtype()))
    a.fail(param, fmt::format("{}() needs integer class targets, not {}", a.name(),
                              dtype_name(targets.dtype())));
  return targets;
}

// x with its last two axes swapped when transposed is set.
Expr maybe_transposed(const Expr& x, bool transposed) {
  if (!transposed || x.rank() < 2) return x;
  std::vector<int> perm;
  for (int i = 0; i < x.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(x, perm);
}

void check_fused_matmul(Args& a, const Expr& x, const Expr& y, const Expr& bias, OpKind activation,
                        bool transpose_a, bool transpose_b) {
  if (activation != OpKind::Param && op_category(activation) != OpCategory::Unary)
    a.fail("activation", fmt::format("fused_matmul(): the activation must be an elementwise "
                                     "op of one operand such as relu, not {}",
                                     op_name(activation)));
  if (activation == OpKind::Cast)
    a.fail("activation", "fused_matmul(): cast cannot be an activation");
  if (x.dtype() != y.dtype())
    a.fail("b", fmt::format("fused_matmul(): operands must share a dtype, but they are {} and {}",
                            dtype_name(x.dtype()), dtype_name(y.dtype())));
  // A literal bias takes the operands' dtype, as it would in a @ b + bias. fused_matmul
  // converts it and rejects an integer literal that the dtype cannot hold.
  bool literal_fits = bias.defined() && bias->weak() &&
                      promote({x.dtype(), false}, {bias.dtype(), true}).dtype == x.dtype();
  if (bias.defined() && bias.dtype() != x.dtype() && !literal_fits)
    a.fail("bias", fmt::format("fused_matmul(): the bias must be {} like the operands, not {}",
                               dtype_name(x.dtype()), dtype_name(bias.dtype())));
  if (!bias.defined()) return;

  // The bias broadcasts into the product without changing its shape.
  Shape product = with_location(a.interpreter(), a.call_offset(), [&] {
    return matmul(maybe_transposed(x, transpose_a), maybe_transposed(y, transpose_b)).shape();
  });
  if (broadcast_shapes(product, bias.shape()) != product)
    a.fail("bias", fmt::format("fused_matmul(): a bias of shape {} does not broadcast to the "
                               "product's shape {}",
                               bias.shape().to_string(), product.to_string()));
}

void check_fused_body(Args& a, const Expr& body, const std::vector<Expr>& operands) {
  std::string problem = fused_body_problem(a.name(), body, operands);
  if (!problem.empty()) a.fail(operands.empty() ? "operands" : "body", problem);
}

Value call_fused_reduction(Args& a) {
  OpKind op = a.op("op");
  if (!is_fused_reduction_op(op)) a.fail("op", "fused_reduction() supports sum, mean, max, min and prod");
  Expr body = a.tensor("body");
  std::vector<Expr> operands = a.tensors("operands");
  check_fused_body(a, body, operands);
  std::string problem = fused_reduction_problem(op, body);
  if (!problem.empty()) a.fail("body", problem);
  return tensor_value(
      fused_reduction(op, body, operands, a.axes("axis"), a.boolean("keepdims", false)));
}

}  // namespace

std::string fused_body_problem(const std::string& op, const Expr& body,
                               const std::vector<Expr>& operands) {
  if (body.rank() != 0)
    return fmt::format(
        "{}: the body must be a scalar expression over $0, $1, ..., not of shape "
        "{}",
        op, body.shape().to_string());
  if (operands.empty()) return fmt::format("{} needs at least one operand", op);
  std::vector<const Node*> stack = {body.node()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op() == OpKind::Param) {
      std::int64_t index = n->attr(0);
      if (index < 0 || index >= static_cast<std::int64_t>(operands.size()))
        return fmt::format("{}: the body uses ${} but there are {} operands", op, index,
                           operands.size());
      DType operand_dtype = operands[static_cast<std::size_t>(index)].dtype();
      if (operand_dtype != n->dtype())
        return fmt::format("{}: ${} is {} but operand {} is {}", op, index, dtype_name(n->dtype()),
                           index, dtype_name(operand_dtype));
      continue;
    }
    if (!n->is_constant() && !is_elementwise(n->op()))
      return fmt::format("{}: the body must be elementwise, but it contains {}", op,
                         op_name(n->op()));
    for (const Node* input : n->inputs()) stack.push_back(input);
  }
  return "";
}

bool is_fused_reduction_op(OpKind op) {
  return op == OpKind::Sum || op == OpKind::Mean || op == OpKind::Max || op == OpKind::Min ||
         op == OpKind::Prod;
}

std::string fused_reduction_problem(OpKind op, const Expr& body) {
  if (op == OpKind::Mean && !is_float(body.dtype()))
    return fmt::format("fused_mean: the body is {}; cast it to f32 or f64 first", dtype_name(body.dtype()));
  bool widens = (op == OpKind::Sum || op == OpKind::Prod) && !is_float(body.dtype());
  if (widens && body.dtype() != DType::Int64)
    return fmt::format("fused_{}: a {} body must be cast to i64 first", op_name(op),
                       dtype_name(body.dtype()));
  return "";
}

void add_fused_builtins(std::vector<Builtin>& out) {
  out.push_back(
      define("softmax_crossentropy(logits, targets)",
             "categorical_crossentropy(softmax(logits), targets), from the logits", [](Args& a) {
               return tensor_value(softmax_crossentropy(a.tensor("logits"), a.tensor("targets")));
             }));
  out.push_back(define("sparse_softmax_crossentropy(logits, targets)",
                       "softmax_crossentropy with integer class targets", [](Args& a) {
                         return tensor_value(softmax_crossentropy(a.tensor("logits"),
                                                                  integer_targets(a, "targets")));
                       }));
  out.push_back(define("softmax_crossentropy_grad(logits, targets, g)",
                       "gradient of softmax_crossentropy for upstream gradient g", [](Args& a) {
                         return tensor_value(softmax_crossentropy_grad(
                             a.tensor("logits"), a.tensor("targets"), a.tensor("g")));
                       }));
  out.push_back(define("sparse_softmax_crossentropy_grad(logits, targets, g)",
                       "softmax_crossentropy_grad with integer class targets", [](Args& a) {
                         return tensor_value(softmax_crossentropy_grad(
                             a.tensor("logits"), integer_targets(a, "targets"), a.tensor("g")));
                       }));
  out.push_back(
      define("fused_matmul(a, b, bias=none, activation=none, transpose_a=false, "
             "transpose_b=false)",
             "activation(a @ b + bias), optionally transposing the operands", [](Args& a) {
               Expr x = a.tensor("a");
               Expr y = a.tensor("b");
               Expr bias = a.has("bias") ? a.tensor("bias") : Expr();
               OpKind activation = a.has("activation") ? a.op("activation") : OpKind::Param;
               bool transpose_a = a.boolean("transpose_a", false);
               bool transpose_b = a.boolean("transpose_b", false);
               check_fused_matmul(a, x, y, bias, activation, transpose_a, transpose_b);
               return tensor_value(fused_matmul(x, y, bias, activation, transpose_a, transpose_b));
             }));
  out.push_back(
      define("param(index, dtype)", "placeholder for operand index of a fused body", [](Args& a) {
        std::int64_t index = a.integer("index");
        if (index < 0 || index > 1000000)
          a.fail("index", fmt::format("param(): index {} is out of range", index));
        return tensor_value(param(a.graph(), static_cast<int>(index), a.dtype("dtype")));
      }));
  out.push_back(define("fused_elementwise(body, operands)",
                       "body over param(0), param(1), ... applied to the broadcast operands",
                       [](Args& a) {
                         Expr body = a.tensor("body");
                         std::vector<Expr> operands = a.tensors("operands");
                         check_fused_body(a, body, operands);
                         return tensor_value(fused_elementwise(body, operands));
                       }));
  out.push_back(define("fused_reduction(op, body, operands, axis=all, keepdims=false)",
                       "reduction op of body applied elementwise to operands",
                       call_fused_reduction));
}

}  // namespace damo
