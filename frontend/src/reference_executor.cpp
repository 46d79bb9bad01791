// The reference backend: evaluates the graph op by op with the reference evaluator.
#include <mutex>

#include "damo/graph/eval.h"
#include "function_impl.h"

namespace damo {

namespace {

class ReferenceExecutor final : public Executor {
 public:
  ReferenceExecutor(std::vector<Expr> inputs, std::vector<Expr> outputs, std::vector<Update> updates)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)), updates_(std::move(updates)) {}

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
    std::vector<Tensor> values = evaluate(roots, feeds);
    for (std::size_t i = 0; i < updates_.size(); ++i)
      updates_[i].variable->shared()->set_value(values[outputs_.size() + i]);
    values.resize(outputs_.size());
    return values;
  }

 private:
  std::vector<Expr> inputs_;
  std::vector<Expr> outputs_;
  std::vector<Update> updates_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Executor> make_reference_executor(const std::vector<Expr>& inputs,
                                                  const std::vector<Expr>& outputs,
                                                  const std::vector<Update>& updates) {
  return std::make_unique<ReferenceExecutor>(inputs, outputs, updates);
}

}  // namespace damo
