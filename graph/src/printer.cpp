#include "damo/graph/printer.h"

#include <fmt/format.h>

namespace damo {

std::string to_infix(const Expr& e) {
  const Node* n = e.node();
  if (n == nullptr) return "<undefined>";
  switch (n->op()) {
  case OpKind::Input:
  case OpKind::Shared: return n->name();
  case OpKind::Constant: return n->value().to_string();
  default: break;
  }
  std::string args;
  for (const Node* input : n->inputs()) {
    if (!args.empty()) args += ", ";
    args += to_infix(Expr(input));
  }
  return fmt::format("{}({})", op_name(n->op()), args);
}

std::string Expr::to_string() const { return to_infix(*this); }

}  // namespace damo

namespace damo {

std::string dump(const std::vector<Expr>& roots) {
  std::string out;
  for (const Expr& root : roots) out += fmt::format("%{} = {}\n", root->id(), to_infix(root));
  return out;
}

std::string to_dot(const std::vector<Expr>& roots) {
  std::string out = "digraph damo {\n";
  for (const Expr& root : roots) out += fmt::format("  n{};\n", root->id());
  return out + "}\n";
}

}  // namespace damo
