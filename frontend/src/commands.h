// The ':' commands of the REPL and of scripts: :help, :type, :graph, :opt, :ir, :asm,
// :dot, :time, :load and :quit.
#pragma once

#include <string>
#include <vector>

#include "damo/frontend/ast.h"
#include "damo/frontend/session.h"

namespace damo {

class Interpreter;

/// Runs command; offset is where its line starts in the interpreter's current source.
void run_command(Interpreter& interpreter, const ast::Command& command, std::size_t offset,
                 const OutputSink& print);

/// Every command name with its ':' prefix, for completion and "did you mean".
std::vector<std::string> command_names();

/// The text of :help, listing the commands and the language in brief.
std::string help_text();

}  // namespace damo
