// Pipeline: the pass runner. It resolves which passes are disabled, then runs each step,
// timing and logging every pass run and verifying the graph after it when asked.
#include "damo/optimizer/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>

#include "damo/graph/printer.h"
#include "damo/optimizer/verifier.h"
#include "damo/runtime/log.h"
#include "node_map.h"

namespace damo {

const std::vector<std::string>& known_pass_names() {
  static const std::vector<std::string> names = {
      "dead_node_removal", "canonicalize",      "constant_folding", "merge_constants",  "simplify",
      "stabilize",         "fuse_crossentropy", "fuse_matmul",      "fuse_elementwise",
  };
  return names;
}

struct Pipeline::Step {
  int max_rounds = 1;
  bool repeats = false;
  std::vector<std::unique_ptr<Pass>> passes;
};

Pipeline::Pipeline(std::string name, PipelineOptions options)
    : name_(std::move(name)), options_(std::move(options)) {}
Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

Pipeline& Pipeline::add(std::unique_ptr<Pass> pass) {
  Step step;
  step.passes.push_back(std::move(pass));
  steps_.push_back(std::move(step));
  return *this;
}

Pipeline& Pipeline::repeat(int max_rounds, std::vector<std::unique_ptr<Pass>> group) {
  DAMO_ASSERT(max_rounds >= 1, "a repeated group needs at least one round");
  Step step;
  step.max_rounds = max_rounds;
  step.repeats = true;
  step.passes = std::move(group);
  steps_.push_back(std::move(step));
  return *this;
}

std::vector<std::string> Pipeline::pass_names() const {
  std::vector<std::string> names;
  for (const Step& step : steps_)
    for (const auto& pass : step.passes) {
      std::string name(pass->name());
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  return names;
}

namespace {

// Adds the names in a comma-separated list to out; source names the list in errors.
void add_pass_names(const std::string& list, const std::string& source,
                    std::set<std::string>& out) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    start = end + 1;
    if (name.empty()) continue;
    const auto& known = known_pass_names();
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw UserError(fmt::format("{}: unknown optimizer pass '{}'; the passes are {}", source,
                                  name, fmt::join(known, ", ")));
    out.insert(name);
  }
}

std::set<std::string> disabled_pass_set(const PipelineOptions& options) {
  std::set<std::string> disabled;
  for (const std::string& name : options.disabled_passes)
    add_pass_names(name, "disabled_passes", disabled);
  if (!options.read_environment) return disabled;
  if (const char* text = std::getenv("DAMO_DISABLE_PASSES"))
    add_pass_names(text, "DAMO_DISABLE_PASSES", disabled);
  return disabled;
}

// The state of one pipeline run.
class PipelineRun {
 public:
  PipelineRun(const std::string& pipeline, const PipelineOptions& options)
      : pipeline_(pipeline), options_(options), disabled_(disabled_pass_set(options)) {}

  // Runs pass on state unless it is disabled; returns whether it changed the graph.
  bool run_pass(const Pass& pass, GraphState& state, PipelineResult& result) {
    std::string name(pass.name());
    if (disabled_.count(name) != 0) return false;

    auto start = std::chrono::steady_clock::now();
    bool changed = pass.run(state);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    result.runs.push_back({name, ms, changed});
    log_at(1, "{}: pass {} took {:.3f} ms{}", pipeline_, name, ms,
           changed ? " and changed the graph" : "");

    if (changed && log_level() >= 2)
      write_log_line(fmt::format("{}: graph after {}:\n{}", pipeline_, name, dump(state.roots)));
    if (options_.verify) verify_graph(state.roots, name);
    if (std::find(options_.dump_after.begin(), options_.dump_after.end(), name) !=
        options_.dump_after.end()) {
      std::string text = fmt::format("after {}:\n{}", name, dump(state.roots));
      write_log_line(fmt::format("{}: graph {}", pipeline_, text));
      result.dumps.push_back(std::move(text));
    }
    return changed;
  }

 private:
  const std::string& pipeline_;
  const PipelineOptions& options_;
  std::set<std::string> disabled_;
};

}  // namespace

PipelineResult Pipeline::run(const std::vector<Expr>& roots) const {
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < roots.size(); ++i)
    if (!roots[i].defined())
      throw UserError(fmt::format("{}: root {} is an undefined expression; pass only "
                                  "expressions built from a Graph",
                                  name_, i));
  PipelineRun run(name_, options_);
  GraphState state;
  state.roots = roots;
  state.tracked = detail::reachable_nodes(roots);
  PipelineResult result;

  for (const Step& step : steps_) {
    for (int round = 0; round < step.max_rounds; ++round) {
      bool changed = false;
      for (const auto& pass : step.passes) changed = run.run_pass(*pass, state, result) || changed;
      if (!step.repeats || !changed) break;
      if (round + 1 == step.max_rounds)
        log_at(1, "{}: a repeated group still changed the graph after {} rounds", name_,
               step.max_rounds);
    }
  }

  result.roots = std::move(state.roots);
  result.removed_nodes = state.removed_nodes;
  result.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  log_at(1, "{}: {} pass runs in {:.3f} ms", name_, result.runs.size(), result.milliseconds);
  return result;
}

}  // namespace damo
