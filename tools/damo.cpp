// damo: the command-line program of Damo's expression language. It starts the REPL, runs a
// script file, a script from standard input, or one -e snippet.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "damo/frontend/repl.h"
#include "damo/frontend/session.h"
#include "damo/runtime/io.h"

namespace {

constexpr const char* kUsage = R"usage(usage: damo [OPTIONS] [FILE]

Damo's expression language: build typed tensor expressions, differentiate them, compile
them and run them.

  damo                 starts the REPL when standard input is a terminal; otherwise runs
                       standard input as a script
  damo FILE            runs the script FILE ('-' reads standard input)
  damo -e 'CODE'       runs one snippet of code

Each top-level expression statement prints its value: a constant expression as a
NumPy-style array followed by its dtype and shape, such as "[1, 2] : i64 (2,)"; an
expression over symbolic inputs as its infix form, such as "sigmoid(x @ W) : f32 (n, 64)".

Options:
  -e CODE              runs CODE instead of a file or the REPL; several -e run in order,
                       as lines of one script
  --                   ends the options: the next argument is the script file
  --json               prints each value as a JSON object:
                       {"dtype": "f32", "shape": [2, 3], "data": [[...], [...]]}, with NaN
                       and infinities as the strings "nan", "inf" and "-inf"; a symbolic
                       value as {"expr": "...", "dtype": "f32", "shape": ["n", 3]}
  --backend=jit|reference, --backend jit|reference
                       the backend of function(...), :ir, :asm and :time (default: jit)
  -h, --help           prints this text

REPL: the prompt is "damo> ", and "...> " while a bracket is open. Tab completes names in
scope, builtins, dtypes, keywords and :commands. Ctrl-C discards the entry being typed; while
an entry runs, Ctrl-C stops it and a second Ctrl-C quits. Ctrl-D or :quit leaves. The history is kept in
$DAMO_HISTORY, or ~/.damo_history when that is unset.

Commands (in the REPL and in scripts, each on its own line):
  :help [NAME]         the language in brief, or a builtin's arguments
  :type EXPR           dtype and shape of EXPR
  :graph EXPR          EXPR's graph, one node a line
  :opt EXPR            EXPR after the optimizer, fusion included
  :ir EXPR             LLVM IR of EXPR compiled over its free inputs
  :asm EXPR            assembly of EXPR compiled over its free inputs
  :dot EXPR FILE       writes EXPR's graph to FILE in Graphviz DOT
  :time EXPR           compile times, and the call time on random inputs whose symbolic
                       sizes are 8
  :load FILE           runs the statements of FILE in this session
  :quit                leaves the REPL or stops the script

Exit status: 0 on success; 1 after an error (a script stops at its first error, the REPL
keeps going and reports it at exit); 2 for invalid command-line arguments.

docs/language.md describes the language.)usage";

struct CommandLine {
  std::optional<std::string> code;
  std::optional<std::string> file;
  damo::SessionOptions options;
};

// Parses argv, or prints the problem and returns nullopt.
std::optional<CommandLine> parse_command_line(int argc, char** argv, bool& help) {
  CommandLine line;
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_ended) {
      // Everything after -- is a file name, even when it starts with '-'.
    } else if (arg == "--") {
      options_ended = true;
      continue;
    } else if (arg == "-h" || arg == "--help") {
      help = true;
      continue;
    } else if (arg == "--json") {
      line.options.json = true;
      continue;
    } else if (arg == "-e") {
      if (i + 1 >= argc) {
        std::cerr << "damo: -e needs the code to run, as in damo -e '1 + 2'\n";
        return std::nullopt;
      }
      line.code = line.code ? *line.code + "\n" + argv[++i] : std::string(argv[++i]);
      continue;
    } else if (arg == "--backend" || arg.rfind("--backend=", 0) == 0) {
      std::string backend;
      if (arg == "--backend") {
        if (i + 1 >= argc) {
          std::cerr << "damo: --backend needs jit or reference, as in --backend=reference\n";
          return std::nullopt;
        }
        backend = argv[++i];
      } else {
        backend = arg.substr(std::strlen("--backend="));
      }
      if (backend == "jit")
        line.options.compile.backend = damo::Backend::Jit;
      else if (backend == "reference")
        line.options.compile.backend = damo::Backend::Reference;
      else {
        std::cerr << "damo: unknown backend '" << backend << "'; use jit or reference\n";
        return std::nullopt;
      }
      continue;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::cerr << "damo: unknown option '" << arg << "'; damo --help lists the options\n";
      return std::nullopt;
    }
    if (line.file) {
      std::cerr << "damo: only one script file can run at a time\n";
      return std::nullopt;
    }
    line.file = arg;
  }
  if (line.code && line.file) {
    std::cerr << "damo: give either -e CODE or a FILE, not both\n";
    return std::nullopt;
  }
  return line;
}

// The exit status once standard output is flushed: 1 when writing it failed (a full disk,
// a closed pipe), which would otherwise lose the printed values unnoticed.
int checked_output(int status) {
  std::cout.flush();
  if (std::cout) return status;
  std::cerr << "damo: writing the output failed (" << std::strerror(errno) << ")\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool help = false;
  std::optional<CommandLine> line = parse_command_line(argc, argv, help);
  if (!line) return 2;
  if (help) {
    std::cout << kUsage << '\n';
    return 0;
  }

  // The flag is set only by the interactive REPL's Ctrl-C handler.
  line->options.stop = damo::repl_stop_flag();
  damo::Session session(line->options);
  if (line->code)
    return checked_output(damo::run_script(session, *line->code, "<string>", std::cout, std::cerr));

  bool read_stdin = line->file ? *line->file == "-" : !isatty(STDIN_FILENO);
  if (read_stdin || line->file) {
    std::string source = read_stdin ? "<stdin>" : *line->file;
    std::string text;
    try {
      text = damo::read_text_file(read_stdin ? "-" : *line->file, damo::kMaxScriptBytes);
    } catch (const damo::Error& error) {
      std::cerr << "damo: " << error.what() << '\n';
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "damo: out of memory reading " << source << '\n';
      return 1;
    }
    return checked_output(damo::run_script(session, text, source, std::cout, std::cerr));
  }

  damo::ReplOptions options;
  options.history_path = damo::default_history_path();
  return checked_output(damo::run_repl(session, options));
}
