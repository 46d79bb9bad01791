// to_dot(): the Graphviz DOT form of a graph (format in printer.h).
#include <fmt/format.h>

#include "damo/graph/printer.h"
#include "damo/graph/traversal.h"
#include "printer_text.h"

namespace damo {

namespace {

// text as the inside of a DOT double-quoted string: quotes and backslashes escaped, line
// breaks as \n.
std::string escape_dot(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string node_label(const Node& node) {
  std::string first =
      fmt::format("%{} {}{}", node.id(), op_name(node.op()), detail::format_details(node));
  std::string second = fmt::format("{} {}", dtype_name(node.dtype()), node.shape().to_string());
  return escape_dot(first) + "\\n" + escape_dot(second);
}

}  // namespace

std::string to_dot(const std::vector<Expr>& roots) {
  std::string out = "digraph damo {\n  node [shape=box, fontname=\"monospace\"];\n";
  std::vector<const Node*> nodes = topo_order(roots);
  for (const Node* node : nodes)
    out += fmt::format("  n{} [label=\"{}\"];\n", node->id(), node_label(*node));
  for (const Node* node : nodes)
    for (std::size_t i = 0; i < node->input_count(); ++i)
      out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", node->input(i)->id(), node->id(), i);
  return out + "}\n";
}

}  // namespace damo
