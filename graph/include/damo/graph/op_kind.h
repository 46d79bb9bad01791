// The table of op kinds. DAMO_OP_KINDS generates the OpKind enum, the printed names and
// the categories that the evaluator, autodiff, printers and code generator dispatch on, so
// adding an op starts with one line here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace damo {

enum class OpCategory : std::uint8_t {
  Leaf,         // input, constant, shared variable
  Unary,        // elementwise, one operand
  Binary,       // elementwise, two operands, broadcasting
  Ternary,      // elementwise, three operands, broadcasting
  Reduction,    // over a set of axes, with keepdims
  Layout,       // moves or selects elements without arithmetic
  LinearAlgebra,
  NeuralNet,    // softmax family and cross-entropies
  Gradient,     // ops that autodiff introduces
  Fused,        // ops that the optimizer introduces
};

// X(Enum, "name", Category). Attributes used by an op are listed in node.h.
#define DAMO_OP_KINDS(X)                                                                    \
  X(Input, "input", Leaf)                                                                   \
  X(Constant, "constant", Leaf)                                                             \
  X(Shared, "shared", Leaf)                                                                 \
  X(DimSize, "dim_size", Leaf)                                                              \
  X(Neg, "neg", Unary)                                                                      \
  X(Abs, "abs", Unary)                                                                      \
  X(Sign, "sign", Unary)                                                                    \
  X(Exp, "exp", Unary)                                                                      \
  X(Expm1, "expm1", Unary)                                                                  \
  X(Log, "log", Unary)                                                                      \
  X(Log1p, "log1p", Unary)                                                                  \
  X(Sqrt, "sqrt", Unary)                                                                    \
  X(Square, "square", Unary)                                                                \
  X(Reciprocal, "reciprocal", Unary)                                                        \
  X(Sin, "sin", Unary)                                                                      \
  X(Cos, "cos", Unary)                                                                      \
  X(Tanh, "tanh", Unary)                                                                    \
  X(Sigmoid, "sigmoid", Unary)                                                              \
  X(Softplus, "softplus", Unary)                                                            \
  X(Relu, "relu", Unary)                                                                    \
  X(Floor, "floor", Unary)                                                                  \
  X(Ceil, "ceil", Unary)                                                                    \
  X(Round, "round", Unary)                                                                  \
  X(IsNan, "isnan", Unary)                                                                  \
  X(IsInf, "isinf", Unary)                                                                  \
  X(Not, "not", Unary)                                                                      \
  X(Cast, "cast", Unary)                                                                    \
  X(StopGradient, "stop_gradient", Unary)                                                   \
  X(Add, "add", Binary)                                                                     \
  X(Sub, "sub", Binary)                                                                     \
  X(Mul, "mul", Binary)                                                                     \
  X(Div, "div", Binary)                                                                     \
  X(FloorDiv, "floor_div", Binary)                                                          \
  X(Mod, "mod", Binary)                                                                     \
  X(Pow, "pow", Binary)                                                                     \
  X(Maximum, "maximum", Binary)                                                             \
  X(Minimum, "minimum", Binary)                                                             \
  X(Eq, "eq", Binary)                                                                       \
  X(Ne, "ne", Binary)                                                                       \
  X(Lt, "lt", Binary)                                                                       \
  X(Le, "le", Binary)                                                                       \
  X(Gt, "gt", Binary)                                                                       \
  X(Ge, "ge", Binary)                                                                       \
  X(And, "and", Binary)                                                                     \
  X(Or, "or", Binary)                                                                       \
  X(Where, "where", Ternary)                                                                \
  X(Clip, "clip", Ternary)                                                                  \
  X(Sum, "sum", Reduction)                                                                  \
  X(Mean, "mean", Reduction)                                                                \
  X(Prod, "prod", Reduction)                                                                \
  X(Max, "max", Reduction)                                                                  \
  X(Min, "min", Reduction)                                                                  \
  X(ArgMax, "argmax", Reduction)                                                            \
  X(ArgMin, "argmin", Reduction)                                                            \
  X(LogSumExp, "logsumexp", Reduction)                                                      \
  X(All, "all", Reduction)                                                                  \
  X(Any, "any", Reduction)                                                                  \
  X(MatMul, "matmul", LinearAlgebra)                                                        \
  X(Transpose, "transpose", Layout)                                                         \
  X(Reshape, "reshape", Layout)                                                             \
  X(ExpandDims, "expand_dims", Layout)                                                      \
  X(Squeeze, "squeeze", Layout)                                                             \
  X(BroadcastTo, "broadcast_to", Layout)                                                    \
  X(Concatenate, "concatenate", Layout)                                                     \
  X(Slice, "slice", Layout)                                                                 \
  X(Take, "take", Layout)                                                                   \
  X(TakeAlongAxis, "take_along_axis", Layout)                                               \
  X(OneHot, "one_hot", Layout)                                                              \
  X(Softmax, "softmax", NeuralNet)                                                          \
  X(LogSoftmax, "log_softmax", NeuralNet)                                                   \
  X(CategoricalCrossentropy, "categorical_crossentropy", NeuralNet)                         \
  X(SparseCategoricalCrossentropy, "sparse_categorical_crossentropy", NeuralNet)            \
  X(BinaryCrossentropy, "binary_crossentropy", NeuralNet)                                   \
  X(SliceScatter, "slice_scatter", Gradient)                                                \
  X(IndexAdd, "index_add", Gradient)                                                        \
  X(ScatterAddAlongAxis, "scatter_add_along_axis", Gradient)                                \
  X(SoftmaxCrossEntropy, "softmax_crossentropy", Fused)                                     \
  X(SparseSoftmaxCrossEntropy, "sparse_softmax_crossentropy", Fused)                        \
  X(SoftmaxCrossEntropyGrad, "softmax_crossentropy_grad", Fused)                            \
  X(SparseSoftmaxCrossEntropyGrad, "sparse_softmax_crossentropy_grad", Fused)               \
  X(FusedMatMul, "fused_matmul", Fused)                                                     \
  X(FusedElementwise, "fused_elementwise", Fused)                                           \
  X(FusedReduction, "fused_reduction", Fused)                                               \
  X(Param, "param", Fused)                                                                  \
  X(CumSum, "cumsum", NeuralNet)                                                            \
  X(Log2, "log2", Unary)                                                                    \
  X(Log10, "log10", Unary)                                                                  \
  X(Erf, "erf", Unary)                                                                      \
  X(ArgSort, "argsort", NeuralNet)                                                          \
  X(RandomUniform, "random_uniform", Layout)                                                \
  X(Erfc, "erfc", Unary)

enum class OpKind : std::uint8_t {
#define DAMO_OP_ENUM(name, text, category) name,
  DAMO_OP_KINDS(DAMO_OP_ENUM)
#undef DAMO_OP_ENUM
};

inline constexpr int kOpKindCount = 0
#define DAMO_OP_COUNT(name, text, category) +1
    DAMO_OP_KINDS(DAMO_OP_COUNT)
#undef DAMO_OP_COUNT
    ;

/// Printed name, such as "floor_div".
std::string_view op_name(OpKind op);
OpCategory op_category(OpKind op);
/// The op kind with the given printed name, or nullopt.
std::optional<OpKind> op_from_name(std::string_view name);

inline bool is_elementwise(OpKind op) {
  OpCategory c = op_category(op);
  return c == OpCategory::Unary || c == OpCategory::Binary || c == OpCategory::Ternary;
}

/// True for ops whose operands may be swapped: add, mul, maximum, minimum, eq, ne, and, or.
bool is_commutative(OpKind op);

}  // namespace damo
