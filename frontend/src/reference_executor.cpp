// The reference backend: evaluates the graph op by op with the reference evaluator.
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "damo/codegen/program.h"
#include "damo/graph/eval.h"
#include "damo/graph/traversal.h"
#include "damo/runtime/nan_guard.h"
#include "function_impl.h"

namespace damo {

namespace {

Finiteness finiteness(const Tensor& value) {
  return classify_finiteness(value.raw_data(), value.dtype(), value.numel());
}

// Evaluates every node below roots and raises the NaN guard's RuntimeError for the first
// node, in evaluation order, whose value contains a NaN although no operand does, or an
// infinity although every operand is finite. Returns the values of roots.
std::vector<Tensor> evaluate_guarded(const std::vector<Expr>& roots, const Feeds& feeds) {
  std::vector<const Node*> order = topo_order(roots);
  std::vector<Tensor> values = evaluate(std::vector<Expr>(order.begin(), order.end()), feeds);
  std::unordered_map<const Node*, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = i;

  for (std::size_t i = 0; i < order.size(); ++i) {
    const Node& node = *order[i];
    if (node.is_leaf() || !is_float(node.dtype())) continue;
    Finiteness output = finiteness(values[i]);
    if (output == Finiteness::Finite) continue;
    Finiteness inputs = Finiteness::Finite;
    bool empty_operand = false;
    for (const Node* input : node.inputs()) {
      const Tensor& operand = values[position.at(input)];
      empty_operand = empty_operand || operand.numel() == 0;
      inputs = std::max(inputs, finiteness(operand));
    }
    if (output <= inputs) continue;
    std::int64_t element = find_reported_element(values[i].raw_data(), node.dtype(), values[i].numel(), inputs);
    GuardedNode guarded{node_label(node), std::string(op_name(node.op())), node.dtype(),
                        node.shape().to_string()};
    throw RuntimeError(
        nan_guard_message(guarded, values[i].shape(), element, values[i].get_double(element), inputs,
                          empty_operand));
  }

  std::vector<Tensor> results;
  for (const Expr& root : roots) results.push_back(values[position.at(root.node())]);
  return results;
}

class ReferenceExecutor final : public Executor {
 public:
  ReferenceExecutor(std::vector<Expr> inputs, std::vector<Expr> outputs,
                    std::vector<Update> updates, bool nan_guard)
      : inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        updates_(std::move(updates)),
        nan_guard_(nan_guard) {}

  std::vector<Tensor> run(const std::vector<Tensor>& arguments, const SymbolSizes&,
                          bool) const override {
    Feeds feeds;
    for (std::size_t i = 0; i < inputs_.size(); ++i) feeds[inputs_[i]->name()] = arguments[i];
    std::vector<Expr> roots = outputs_;
    for (const Update& u : updates_) roots.push_back(u.value);

    // Updates of one call are computed from the values before it, and calls that update
    // shared variables run one at a time.
    std::unique_lock<std::mutex> guard(mutex_, std::defer_lock);
    if (!updates_.empty()) guard.lock();
    std::vector<Tensor> values =
        nan_guard_ ? evaluate_guarded(roots, feeds) : evaluate(roots, feeds);
    for (std::size_t i = 0; i < updates_.size(); ++i)
      updates_[i].variable->shared()->set_value(values[outputs_.size() + i]);
    values.resize(outputs_.size());
    return values;
  }

 private:
  std::vector<Expr> inputs_;
  std::vector<Expr> outputs_;
  std::vector<Update> updates_;
  bool nan_guard_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Executor> make_reference_executor(const std::vector<Expr>& inputs,
                                                  const std::vector<Expr>& outputs,
                                                  const std::vector<Update>& updates,
                                                  bool nan_guard) {
  return std::make_unique<ReferenceExecutor>(inputs, outputs, updates, nan_guard);
}

}  // namespace damo
