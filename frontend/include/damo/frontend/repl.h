// Drivers of the damo program: the interactive REPL with line editing, and scripts.
#pragma once

#include <atomic>
#include <exception>
#include <iosfwd>
#include <string>

#include "damo/frontend/session.h"

namespace damo {

struct ReplOptions {
  /// File that keeps the input history between runs; empty keeps none.
  std::string history_path;
};

/// The history file: $DAMO_HISTORY when set, else ~/.damo_history, else "" when there is
/// no home directory.
std::string default_history_path();

/// Reads statements from the terminal with libedit (prompt "damo> ", "...> " while brackets
/// are open), runs each entry, prints values to stdout and errors to stderr, and keeps going
/// after an error. Tab completes names in scope, builtins, dtypes, keywords and ':'
/// commands. Ctrl-C discards the entry being typed; while an entry runs, the first Ctrl-C
/// stops its calls of compiled functions and the second quits damo. Returns 0 at end of
/// input or :quit, or 1 when some entry failed.
int run_repl(Session& session, const ReplOptions& options);

/// The flag that run_repl sets on the first Ctrl-C while an entry runs, so that a running
/// call stops (CallOptions::stop). Give it to the session as SessionOptions::stop.
const std::atomic<bool>* repl_stop_flag();

/// Runs text as a script: prints each value to out as it is computed and stops at the
/// first error, which goes to err. Returns 0 on success and 1 after an error.
int run_script(Session& session, const std::string& text, const std::string& source_name,
               std::ostream& out, std::ostream& err);

/// The message to show for an exception thrown while running statements: a UserError's
/// located text, "internal error: ..." for a Damo bug, "error: ..." otherwise.
std::string describe_error(const std::exception& error);

}  // namespace damo
