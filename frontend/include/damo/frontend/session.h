// Session: runs source text of Damo's expression language and returns what it prints.
//
// A session owns one Graph and the names bound in it, so statements build on earlier ones,
// as in the REPL. Values refer to nodes of that graph and are valid while the session
// lives. docs/language.md describes the language.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "damo/frontend/function.h"
#include "damo/frontend/value.h"

namespace damo {

/// The largest script, in bytes, that the damo program and :load read.
inline constexpr std::size_t kMaxScriptBytes = std::size_t{256} << 20;

class Interpreter;

struct SessionOptions {
  /// Prints values as JSON objects instead of NumPy-style text.
  bool json = false;
  /// Options for function(...) and the :ir, :asm and :time commands.
  CompileOptions compile;
  /// The stop flag of every call of a compiled function that the session makes (see
  /// CallOptions::stop); null for none. The REPL sets it on Ctrl-C.
  const std::atomic<bool>* stop = nullptr;
};

/// Receives each piece of output, such as the value of one expression statement, without a
/// trailing newline.
using OutputSink = std::function<void(const std::string&)>;

class Session {
 public:
  explicit Session(SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Runs the statements of text in order, passing the printed form of each expression
  /// statement and command to print as soon as it runs. source_name labels diagnostics.
  /// Throws UserError located in text at the first failing statement; the statements
  /// before it keep their effect.
  void run(const std::string& text, const std::string& source_name, const OutputSink& print);
  /// Like run(), collecting the output.
  std::vector<std::string> run(const std::string& text,
                               const std::string& source_name = "<string>");

  /// Evaluates one expression without printing it.
  Value evaluate(const std::string& expression);
  /// Evaluates an expression over constants and shared variables to its value.
  Tensor compute(const std::string& expression);

  /// True once a :quit command has run.
  bool quit_requested() const;
  /// Names that complete prefix: names in scope, builtins, dtypes and keywords, or the
  /// ':' commands when prefix starts with ':'. Sorted, without duplicates.
  std::vector<std::string> completions(std::string_view prefix) const;

  const SessionOptions& options() const;
  Graph& graph();

 private:
  std::unique_ptr<Interpreter> interpreter_;
};

}  // namespace damo
