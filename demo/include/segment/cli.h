// The damo-segment command line: argument parsing, help text and the three commands.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace segment {

/// Runs damo-segment on the arguments after the program name. Results go to out; progress,
/// notes and errors go to err. Returns 0 on success, 1 when the data or a file is bad, 2
/// for a usage error and 3 for an internal error in Damo.
int run_command(const std::vector<std::string>& arguments, std::FILE* out, std::FILE* err);

/// main(): run_command on argv, with stdout and stderr.
int run_cli(int argc, char** argv);

/// Help for a command ("train", "predict", "cluster"), or the overview for "".
std::string help_text(const std::string& command);

/// Finds the folder with the shipped tables: share/damo/data under the installed prefix,
/// then data/ beside the executable's build folder (so build/demo/damo-segment finds the
/// source tree's data/), else the source tree's data/ recorded at build time. Throws
/// UserError listing the places tried.
std::string find_data_dir();

}  // namespace segment
