// dump(): the indented tree form of a graph, one node occurrence a line (format in printer.h).
#include <fmt/format.h>

#include <deque>
#include <unordered_set>

#include "damo/graph/printer.h"
#include "printer_text.h"

namespace damo {

namespace {

// Nodes deeper than this below their tree's root start a tree of their own.
constexpr int kMaxDumpDepth = 64;

class DumpPrinter {
 public:
  std::string print(const std::vector<Expr>& roots) {
    for (const Expr& root : roots) trees_.push_back(root.node());
    while (!trees_.empty()) {
      const Node* root = trees_.front();
      trees_.pop_front();
      print_tree(root);
    }
    return std::move(out_);
  }

 private:
  void print_tree(const Node* root) {
    if (root == nullptr) {
      out_ += "<undefined>\n";
      return;
    }

    // Each entry is a node and its depth below root.
    std::vector<std::pair<const Node*, int>> stack = {{root, 0}};
    while (!stack.empty()) {
      auto [node, depth] = stack.back();
      stack.pop_back();
      out_.append(static_cast<std::size_t>(2 * depth), ' ');

      if (defined_.count(node) != 0) {
        out_ += fmt::format("%{}\n", node->id());
        continue;
      }
      if (depth > kMaxDumpDepth) {
        if (deferred_.insert(node).second) trees_.push_back(node);
        out_ += fmt::format("%{} (continued below)\n", node->id());
        continue;
      }

      defined_.insert(node);
      out_ += fmt::format("%{} = {} {} {}{}\n", node->id(), op_name(node->op()),
                          dtype_name(node->dtype()), node->shape().to_string(),
                          detail::format_details(*node));
      const auto& inputs = node->inputs();
      for (auto it = inputs.rbegin(); it != inputs.rend(); ++it) stack.emplace_back(*it, depth + 1);
    }
  }

  std::string out_;
  std::deque<const Node*> trees_;
  std::unordered_set<const Node*> defined_;
  std::unordered_set<const Node*> deferred_;
};

}  // namespace

std::string dump(const std::vector<Expr>& roots) { return DumpPrinter().print(roots); }

}  // namespace damo
