// Matmul fusion rules. Bottom-up order builds a fused_matmul in steps: the transposes of a
// product's operands first, then its bias, then its activation.
#include "damo/optimizer/fuse_matmul.h"

#include "damo/graph/ops.h"
#include "pass_util.h"

namespace damo {

namespace {

// The parts of a matmul or fused_matmul.
struct Product {
  Expr a, b, bias;
  OpKind activation = OpKind::Param;
  bool transpose_a = false;
  bool transpose_b = false;

  Expr build() const { return fused_matmul(a, b, bias, activation, transpose_a, transpose_b); }
};

std::optional<Product> as_product(const Node* node) {
  bool is_product = node->op() == OpKind::MatMul || node->op() == OpKind::FusedMatMul;
  if (!is_float(node->dtype()) || !is_product) return std::nullopt;
  Product p;
  p.a = Expr(node->input(0));
  p.b = Expr(node->input(1));
  if (node->op() == OpKind::MatMul) return p;
  if (node->input_count() > 2) p.bias = Expr(node->input(2));
  p.activation = node->attrs().sub_op;
  p.transpose_a = node->attr(0) != 0;
  p.transpose_b = node->attr(1) != 0;
  return p;
}

// The operand of a transpose that swaps only the last two axes, or null.
const Node* swapped_operand(const Node* node) {
  if (node->op() != OpKind::Transpose || node->rank() < 2) return nullptr;
  const auto& perm = node->attrs().ints;
  auto rank = static_cast<std::int64_t>(perm.size());
  for (std::int64_t i = 0; i < rank - 2; ++i)
    if (perm[static_cast<std::size_t>(i)] != i) return nullptr;
  bool swapped = perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
  return swapped ? node->input(0) : nullptr;
}

// matmul(transpose(a), b) -> fused_matmul(a, b, transpose_a); likewise for b.
Expr fold_transposes(const Node& node, const RuleContext&) {
  auto product = as_product(&node);
  if (!product || product->bias.defined() || product->activation != OpKind::Param) return Expr();
  bool changed = false;
  if (const Node* a = swapped_operand(product->a.node())) {
    product->a = Expr(a);
    product->transpose_a = !product->transpose_a;
    changed = true;
  }
  if (const Node* b = swapped_operand(product->b.node())) {
    product->b = Expr(b);
    product->transpose_b = !product->transpose_b;
    changed = true;
  }
  return changed ? fit_like(product->build(), node) : Expr();
}

// matmul(a, b) + bias -> fused_matmul(a, b, bias) when the product has no other use.
Expr fold_bias(const Node& node, const RuleContext& context) {
  for (const Node* operand : node.inputs()) {
    const Node* bias = detail::other_operand(node, operand);
    auto product = as_product(operand);
    if (!product || product->bias.defined() || product->activation != OpKind::Param) continue;
    if (context.use_count(operand) != 1 || bias->dtype() != operand->dtype()) continue;
    if (broadcast_shapes(operand->shape(), bias->shape()) != operand->shape()) continue;
    product->bias = Expr(bias);
    return fit_like(product->build(), node);
  }
  return Expr();
}

// activation(fused_matmul(...)) -> fused_matmul(..., activation) when the product has no
// other use.
Expr fold_activation(const Node& node, const RuleContext& context) {
  auto product = as_product(node.input(0));
  if (!product || product->activation != OpKind::Param) return Expr();
  if (context.use_count(node.input(0)) != 1) return Expr();
  product->activation = node.op();
  return fit_like(product->build(), node);
}

std::vector<RewriteRule> matmul_rules() {
  return {
      {"matmul_transposed_operands", OpKind::MatMul, fold_transposes},
      {"matmul_bias", OpKind::Add, fold_bias, true},
      {"matmul_sigmoid", OpKind::Sigmoid, fold_activation, true},
      {"matmul_tanh", OpKind::Tanh, fold_activation, true},
      {"matmul_relu", OpKind::Relu, fold_activation, true},
  };
}

}  // namespace

FuseMatmul::FuseMatmul(FuseMatmulOptions options)
    : rewriter_("fuse_matmul", matmul_rules(), options.limits) {}

bool FuseMatmul::run(GraphState& graph) const { return detail::run_rewriter(rewriter_, graph); }

}  // namespace damo
