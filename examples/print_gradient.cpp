// Prints an expression and its gradients in Damo's infix notation.
//
// The cost is sum(sigmoid(x @ w + b)) for x a float32 matrix of any number of rows with 3
// columns. damo::grad() returns the gradients as new nodes of the same graph, and
// damo::to_infix() prints them. Like any other expression, they can be compiled, evaluated
// or differentiated again. The printed gradients are not simplified yet, because the
// optimizer runs inside compile().
#include <damo/damo.h>
#include <fmt/format.h>

int main() {
  using damo::DType;
  using damo::Expr;

  damo::Graph graph;
  Expr x = graph.input("x", DType::Float32, {"n", 3});
  Expr w = graph.shared("w", damo::Tensor(DType::Float32, {3}));
  Expr b = graph.shared("b", damo::Tensor::scalar(DType::Float32, 0.0));
  Expr cost = damo::sum(damo::sigmoid(damo::matmul(x, w) + b));

  std::vector<Expr> gradients = damo::grad(cost, {w, b});
  fmt::print("cost     = {}\n", damo::to_infix(cost));
  fmt::print("dcost/dw = {}\n", damo::to_infix(gradients[0]));
  fmt::print("dcost/db = {}\n", damo::to_infix(gradients[1]));
  return 0;
}
