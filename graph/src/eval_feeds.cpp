// Validation of the values an evaluation starts from: the feeds of evaluate() and the
// operands of evaluate_node(). Each value must have its node's dtype and rank, equal
// static dimensions, and one size per symbolic dimension across all values.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "damo/graph/eval.h"
#include "damo/graph/graph.h"
#include "eval_internal.h"

namespace damo::eval {

namespace {

std::string describe_node(const Node& node) {
  return fmt::format("{} {}", dtype_name(node.dtype()), node.shape().to_string());
}

std::string describe_value(const Tensor& value) {
  return fmt::format("{} {}", dtype_name(value.dtype()), dims_to_string(value.shape()));
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

}  // namespace

void ShapeBinder::bind(const std::string& subject, const Node& node, const Tensor& value) {
  if (!value.defined())
    throw UserError(fmt::format("{} expects {} but the value is an undefined tensor", subject,
                                describe_node(node)));
  auto mismatch = [&](const std::string& reason) {
    return UserError(fmt::format("{} expects {} but the value is {}: {}", subject,
                                 describe_node(node), describe_value(value), reason));
  };
  if (value.dtype() != node.dtype())
    throw mismatch(
        fmt::format("the dtype must be {}; cast the value first", dtype_name(node.dtype())));
  if (value.rank() != node.rank()) throw mismatch(fmt::format("the rank must be {}", node.rank()));

  for (int axis = 0; axis < node.rank(); ++axis) {
    const Dim& dim = node.shape()[axis];
    std::int64_t size = value.dim(axis);
    if (dim.is_static()) {
      if (size != dim.size()) throw mismatch(fmt::format("axis {} must be {}", axis, dim.size()));
      continue;
    }
    auto [bound, inserted] = sizes_.emplace(dim.symbol(), size);
    if (inserted) {
      origins_[dim.symbol()] = fmt::format("{} (axis {})", subject, axis);
    } else if (bound->second != size) {
      throw mismatch(
          fmt::format("axis {} must be {} because the symbolic dimension '{}' is {} "
                      "in {}",
                      axis, bound->second, dim.symbol(), bound->second, origins_[dim.symbol()]));
    }
  }
}

SymbolSizes bind_feeds(const std::vector<const Node*>& order, const Feeds& feeds,
                       const std::vector<const Graph*>& graphs) {
  // Feeds that name no input of the graphs. A misspelled name is both a missing input and
  // an unknown feed, so the missing-input message lists these names too.
  std::set<std::string> reachable;
  for (const Node* node : order)
    if (node->op() == OpKind::Input) reachable.insert(node->name());
  std::vector<std::string> unknown;
  for (const auto& [name, value] : feeds) {
    bool known = reachable.count(name) > 0;
    for (const Graph* graph : graphs) known = known || graph->find_input(name) != nullptr;
    if (!known) unknown.push_back(name);
  }
  std::sort(unknown.begin(), unknown.end());

  ShapeBinder binder;
  for (const Node* node : order) {
    if (node->op() != OpKind::Input) continue;
    std::string subject = fmt::format("input '{}'", node->name());
    auto found = feeds.find(node->name());
    if (found == feeds.end()) {
      std::string hint;
      if (!unknown.empty())
        hint = fmt::format(" (the feeds contain {}, which name{} no input)", quoted_list(unknown),
                           unknown.size() == 1 ? "s" : "");
      throw UserError(fmt::format("{} ({}) has no value; add a feed named '{}'{}", subject,
                                  describe_node(*node), node->name(), hint));
    }
    binder.bind(subject, *node, found->second);
  }
  // A feed of an input that the outputs do not read still binds its symbols, so that a
  // gradient such as grad(sum(x), x) = broadcast_to(1, (n,)) learns n from x.
  for (const auto& [name, value] : feeds) {
    if (reachable.count(name) > 0) continue;
    for (const Graph* graph : graphs)
      if (const Node* node = graph->find_input(name)) {
        binder.bind(fmt::format("input '{}'", name), *node, value);
        break;
      }
  }

  if (!unknown.empty()) {
    std::vector<std::string> names(reachable.begin(), reachable.end());
    std::string inputs = names.empty() ? "no inputs" : "inputs " + quoted_list(names);
    throw UserError(
        fmt::format("{} {} {} not name an input of the graph; the evaluated "
                    "expressions have {}",
                    unknown.size() == 1 ? "feed" : "feeds", quoted_list(unknown),
                    unknown.size() == 1 ? "does" : "do", inputs));
  }
  return binder.sizes();
}

}  // namespace damo::eval
