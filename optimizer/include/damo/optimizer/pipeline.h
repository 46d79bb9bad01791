// Pipeline: runs optimizer passes in order, some in groups that repeat until nothing
// changes, with verification, timing, logging and dumps around every pass.
//
// Log levels (DAMO_LOG or set_log_level()): 1 prints one line per pass run with its time,
// 2 adds the graph after each pass that changed it, 3 adds every rewrite rule that fired.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "damo/optimizer/pass.h"

namespace damo {

#ifdef NDEBUG
inline constexpr bool kVerifyPassesByDefault = false;
#else
inline constexpr bool kVerifyPassesByDefault = true;
#endif

struct PipelineOptions {
  /// Passes to skip, by name. Each must be a known pass name (see known_pass_names()).
  std::vector<std::string> disabled_passes;
  /// Also skips the passes listed in DAMO_DISABLE_PASSES, separated by commas.
  bool read_environment = true;
  /// Runs verify_graph() after every pass; on by default in debug builds.
  bool verify = kVerifyPassesByDefault;
  /// Names of passes after which the graph is dumped (to the log and to the result),
  /// whether or not the pass changed it.
  std::vector<std::string> dump_after;
};

/// One run of one pass.
struct PassRun {
  std::string pass;
  double milliseconds = 0;
  bool changed = false;
};

struct PipelineResult {
  std::vector<Expr> roots;
  std::vector<PassRun> runs;
  /// Nodes that dead-node removal dropped from the tracked set.
  std::size_t removed_nodes = 0;
  /// Graph dumps requested by PipelineOptions::dump_after: "after <pass>:\n<dump>".
  std::vector<std::string> dumps;
  double milliseconds = 0;
};

class Pipeline {
 public:
  /// name prefixes log lines, such as "training".
  Pipeline(std::string name, PipelineOptions options);
  ~Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;

  /// Appends a pass that runs once.
  Pipeline& add(std::unique_ptr<Pass> pass);
  /// Appends a group of passes that runs in order, round after round, until a round
  /// changes nothing or max_rounds rounds have run.
  Pipeline& repeat(int max_rounds, std::vector<std::unique_ptr<Pass>> group);

  /// Names of the passes in order of appearance, each once.
  std::vector<std::string> pass_names() const;

  /// Optimizes the graph below roots. Throws UserError when a root is undefined or a
  /// disabled pass name is unknown, and InternalError when verification finds a broken
  /// graph.
  PipelineResult run(const std::vector<Expr>& roots) const;

 private:
  struct Step;

  std::string name_;
  PipelineOptions options_;
  std::vector<Step> steps_;
};

/// Builds a vector of passes from move-only arguments, for Pipeline::repeat().
template <class... Passes>
std::vector<std::unique_ptr<Pass>> pass_list(Passes... passes) {
  std::vector<std::unique_ptr<Pass>> list;
  (list.push_back(std::move(passes)), ...);
  return list;
}

/// Names of every pass the optimizer defines.
const std::vector<std::string>& known_pass_names();

}  // namespace damo
