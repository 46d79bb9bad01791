// Expr: a handle to a node, with C++ operators that build new nodes.
//
// Arithmetic with a C++ number makes a weak literal (see promotion.h), so x * 0.5 keeps
// x's float32. Comparisons build boolean expressions; use node() to compare identity.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "damo/graph/graph.h"
#include "damo/graph/node.h"

namespace damo {

template <class T>
concept Number = std::is_arithmetic_v<T>;

template <class T>
inline constexpr bool kAlwaysFalse = false;

class Expr {
 public:
  Expr() = default;
  Expr(const Node* node) : node_(node) {}
  /// A C++ number is not an Expr: a literal needs a graph and a dtype to take. Without this
  /// constructor a literal 0 would convert to a null node pointer, so maximum(x, 0) would
  /// compile and then fail at run time with "operand 2 is undefined". It also rejects
  /// std::vector<Expr>{n} and Expr e = NULL; write std::vector<Expr>(n) and nullptr.
  template <Number T>
  Expr(T) {
    static_assert(kAlwaysFalse<T>,
                  "a C++ number is not a damo::Expr; write damo::literal_like(x, value) for a weak "
                  "literal in x's graph, or use an op overload that takes a number");
  }

  const Node* node() const { return node_; }
  const Node* operator->() const { return node_; }
  bool defined() const { return node_ != nullptr; }
  explicit operator bool() const { return node_ != nullptr; }

  /// The node's dtype, shape, rank and graph. Each throws UserError when the Expr is
  /// undefined (default-constructed), where operator-> would dereference null.
  DType dtype() const { return checked_node().dtype(); }
  const Shape& shape() const { return checked_node().shape(); }
  int rank() const { return checked_node().rank(); }
  Graph& graph() const { return checked_node().graph(); }

  /// Infix text such as "sigmoid(x @ W1 + b1)".
  std::string to_string() const;

 private:
  const Node& checked_node() const {
    if (node_ == nullptr) fail_undefined();
    return *node_;
  }
  [[noreturn]] static void fail_undefined();

  const Node* node_ = nullptr;
};

/// A weak literal for value in the graph of like.
template <Number T> Expr literal_like(const Expr& like, T value) {
  if constexpr (std::is_same_v<T, bool>) {
    return like.graph().weak_constant(Tensor::scalar(DType::Bool, value ? 1.0 : 0.0));
  } else if constexpr (std::is_integral_v<T>) {
    // Stored as int64 directly: a double would round integers beyond 2^53.
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (value > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
        throw UserError(fmt::format("the integer literal {} does not fit in int64, the widest "
                                    "integer dtype; pass a smaller value or a float",
                                    value));
    }
    Tensor exact = Tensor::empty(DType::Int64, {});
    exact.data<std::int64_t>()[0] = static_cast<std::int64_t>(value);
    return like.graph().weak_constant(exact);
  } else {
    return like.graph().literal(static_cast<double>(value), false);
  }
}

Expr add(Expr a, Expr b);
Expr sub(Expr a, Expr b);
Expr mul(Expr a, Expr b);
Expr div(Expr a, Expr b);
Expr mod(Expr a, Expr b);
Expr neg(Expr x);
Expr eq(Expr a, Expr b);
Expr ne(Expr a, Expr b);
Expr lt(Expr a, Expr b);
Expr le(Expr a, Expr b);
Expr gt(Expr a, Expr b);
Expr ge(Expr a, Expr b);
Expr logical_and(Expr a, Expr b);
Expr logical_or(Expr a, Expr b);
Expr logical_not(Expr x);
Expr matmul(Expr a, Expr b);

#define DAMO_EXPR_BINARY_OPERATOR(symbol, function)                                         \
  inline Expr operator symbol(Expr a, Expr b) { return function(a, b); }                    \
  template <Number T> Expr operator symbol(Expr a, T b) {                                   \
    return function(a, literal_like(a, b));                                                 \
  }                                                                                         \
  template <Number T> Expr operator symbol(T a, Expr b) {                                   \
    return function(literal_like(b, a), b);                                                 \
  }

DAMO_EXPR_BINARY_OPERATOR(+, add)
DAMO_EXPR_BINARY_OPERATOR(-, sub)
DAMO_EXPR_BINARY_OPERATOR(*, mul)
DAMO_EXPR_BINARY_OPERATOR(/, div)
DAMO_EXPR_BINARY_OPERATOR(%, mod)
DAMO_EXPR_BINARY_OPERATOR(==, eq)
DAMO_EXPR_BINARY_OPERATOR(!=, ne)
DAMO_EXPR_BINARY_OPERATOR(<, lt)
DAMO_EXPR_BINARY_OPERATOR(<=, le)
DAMO_EXPR_BINARY_OPERATOR(>, gt)
DAMO_EXPR_BINARY_OPERATOR(>=, ge)
DAMO_EXPR_BINARY_OPERATOR(&, logical_and)
DAMO_EXPR_BINARY_OPERATOR(|, logical_or)
#undef DAMO_EXPR_BINARY_OPERATOR

inline Expr operator-(Expr x) { return neg(x); }
inline Expr operator!(Expr x) { return logical_not(x); }

}  // namespace damo
