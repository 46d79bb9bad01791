// The ':' commands. Each parses its argument from the command line's own source text, so
// errors in it point into that line.
#include "commands.h"

#include "damo/optimizer/optimize.h"

#include <fmt/format.h>

#include <optional>

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include "builtins.h"
#include "function_impl.h"
#include "damo/frontend/format.h"
#include "damo/frontend/parser.h"
#include "damo/graph/printer.h"
#include "damo/runtime/io.h"
#include "interpreter.h"

namespace damo {

namespace {

// Symbolic dimensions take this size in the random inputs of :time.
constexpr std::int64_t kTimingDimSize = 8;

struct CommandSpec {
  const char* name;
  const char* usage;
  const char* summary;
};

constexpr CommandSpec kCommands[] = {
    {"help", ":help [NAME]", "this text, or the signature of a builtin"},
    {"type", ":type EXPR", "the dtype and shape of EXPR"},
    {"graph", ":graph EXPR", "EXPR's graph, one node a line"},
    {"opt", ":opt EXPR", "EXPR after the optimizer, fusion included"},
    {"ir", ":ir EXPR", "LLVM IR of EXPR compiled over its free inputs"},
    {"asm", ":asm EXPR", "assembly of EXPR compiled over its free inputs"},
    {"dot", ":dot EXPR FILE", "writes EXPR's graph to FILE in Graphviz DOT"},
    {"time", ":time EXPR", "compile time, and call time on random inputs"},
    {"load", ":load FILE", "runs the statements of FILE in this session"},
    {"quit", ":quit", "leaves the REPL or stops the script"},
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// The text before a '#' that starts a comment, one outside quotes, trimmed.
std::string_view without_comment(std::string_view text) {
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((text[i] == '"' || text[i] == '\'') && (quote == 0 || quote == text[i])) quote = quote ? 0 : text[i];
    if (text[i] == '#' && quote == 0) return trim(text.substr(0, i));
  }
  return trim(text);
}

// A file argument: the text as written, without surrounding quotes.
std::string file_argument(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front())
    text = text.substr(1, text.size() - 2);
  return std::string(text);
}

class CommandRunner {
 public:
  CommandRunner(Interpreter& interpreter, const ast::Command& command, std::size_t offset,
                const OutputSink& print)
      : interpreter_(interpreter), command_(command), offset_(offset), print_(print) {}

  void run();

 private:
  const SourceFile& source() const { return interpreter_.source(); }
  std::string_view argument_text() const {
    return std::string_view(source().text())
        .substr(command_.argument_begin, command_.argument_end - command_.argument_begin);
  }
  [[noreturn]] void fail(const std::string& message) const { interpreter_.fail(offset_, message); }

  // The argument, or its text up to end, as an expression evaluated to a tensor.
  Expr expression_argument(std::size_t end);
  Expr expression_argument() { return expression_argument(command_.argument_end); }

  void help();
  void type();
  void compile_and_print(bool assembly);
  void dot();
  void time();
  void load();

  Interpreter& interpreter_;
  const ast::Command& command_;
  std::size_t offset_;
  const OutputSink& print_;
};

Expr CommandRunner::expression_argument(std::size_t end) {
  if (trim(source().text().substr(command_.argument_begin, end - command_.argument_begin)).empty())
    fail(fmt::format(":{} needs an expression, as in :{} x + 1", command_.name, command_.name));
  ast::ExprPtr expr = parse_expression(source(), command_.argument_begin, end);
  return interpreter_.to_expr(interpreter_.evaluate(*expr), expr->offset);
}

void CommandRunner::run() {
  const std::string& name = command_.name;
  // These commands show an expression, so a call there must not change shared variables.
  // :time runs the expression on purpose.
  struct Inspecting {
    Interpreter& interpreter;
    Inspecting(Interpreter& i, const std::string& command) : interpreter(i) { interpreter.set_inspecting(command); }
    ~Inspecting() { interpreter.set_inspecting(""); }
  };
  bool inspects = name == "type" || name == "graph" || name == "opt" || name == "ir" || name == "asm" || name == "dot";
  std::optional<Inspecting> inspecting;
  if (inspects) inspecting.emplace(interpreter_, name);
  if (name == "help") return help();
  if (name == "type") return type();
  if (name == "graph") {
    Expr e = expression_argument();
    std::string text = with_location(interpreter_, offset_, [&] { return dump({e}); });
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return print_(text);
  }
  if (name == "opt") {
    Expr e = expression_argument();
    std::string text = with_location(interpreter_, offset_, [&] { return dump(optimize_exprs({e})); });
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return print_(text);
  }
  if (name == "ir") return compile_and_print(false);
  if (name == "asm") return compile_and_print(true);
  if (name == "dot") return dot();
  if (name == "time") return time();
  if (name == "load") return load();
  if (name == "quit") {
    std::string_view rest = without_comment(argument_text());
    if (!rest.empty())
      fail(fmt::format(":quit takes no argument, but '{}' follows it; write :quit alone", rest));
    interpreter_.request_quit();
    return;
  }
  std::string hint = did_you_mean(":" + name, command_names());
  fail(fmt::format("unknown command ':{}'{}", name, hint.empty() ? "; :help lists the commands" : hint));
}

void CommandRunner::help() {
  std::string topic(without_comment(argument_text()));
  if (topic.empty()) return print_(help_text());
  if (!topic.empty() && topic.front() == ':') topic.erase(0, 1);
  for (const CommandSpec& c : kCommands)
    if (topic == c.name) return print_(fmt::format("{}\n  {}", c.usage, c.summary));
  if (const Builtin* builtin = builtin_table().find(topic))
    return print_(fmt::format("{}\n  {}", builtin->signature, builtin->summary));
  // Dtype names called as functions convert, like cast(x, dtype).
  if (std::optional<DType> dtype = parse_dtype(topic); dtype && dtype_name(*dtype) == topic)
    return print_(fmt::format("{0}(x)\n  x converted to {0}, the same as cast(x, {0})", topic));
  fail(fmt::format("no help for '{}'{}", topic, did_you_mean(topic, builtin_table().names())));
}

void CommandRunner::type() {
  if (trim(argument_text()).empty()) fail(":type needs an expression, as in :type x + 1");
  ast::ExprPtr expr = parse_expression(source(), command_.argument_begin, command_.argument_end);
  Value value = interpreter_.evaluate(*expr);
  if (value.is(Value::Kind::List))
    if (std::optional<Expr> tensor = interpreter_.list_literal_tensor(value, expr->offset))
      value = Value::tensor(*tensor);
  // A list of tensors of different shapes (the gradients of several variables) gets one
  // line per item.
  if (value.is(Value::Kind::List)) {
    std::vector<std::string> lines;
    for (Value item : interpreter_.list_items(value)) {
      if (item.is(Value::Kind::List))
        if (std::optional<Expr> tensor = interpreter_.list_literal_tensor(item, expr->offset))
          item = Value::tensor(*tensor);
      lines.push_back(item.is(Value::Kind::Tensor)
                          ? format_type(item.expr().dtype(), item.expr().shape())
                          : std::string(item.kind_name()));
    }
    return print_(lines.empty() ? std::string("an empty list") : fmt::format("{}", fmt::join(lines, "\n")));
  }
  if (!value.is(Value::Kind::Tensor)) return print_(value.kind_name());
  const Expr& e = value.expr();
  print_(format_type(e.dtype(), e.shape()));
}

void CommandRunner::compile_and_print(bool assembly) {
  Expr e = expression_argument();
  std::vector<Expr> inputs = Interpreter::free_inputs(e);
  CompileOptions options = interpreter_.options().compile;
  options.keep_text = true;
  Function f =
      with_location(interpreter_, offset_, [&] { return compile(inputs, {e}, {}, options); });
  std::string text = assembly ? f.assembly() : f.llvm_ir();
  if (text.empty())
    text = fmt::format("(no {}: this function runs on the reference backend)",
                       assembly ? "assembly" : "LLVM IR");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  print_(text);
}

void CommandRunner::dot() {
  // A comment after the file name is not part of it, unless the '#' is inside a string.
  std::string_view text = without_comment(argument_text());
  // A quoted file name may hold spaces: :dot x + 1 "my graph.dot".
  std::size_t split = text.find_last_of(" \t");
  if (text.size() >= 2 && (text.back() == '"' || text.back() == '\'')) {
    std::size_t open = text.rfind(text.back(), text.size() - 2);
    if (open != std::string_view::npos && open > 0 && (text[open - 1] == ' ' || text[open - 1] == '\t'))
      split = open - 1;
  }
  if (text.empty() || split == std::string_view::npos)
    fail(":dot needs an expression and a file name, as in :dot x + 1 graph.dot");
  // The last word is the file when the text before it is an expression, which also holds
  // for a path that reads as one (:dot x /tmp/out). When only the whole argument parses, the
  // file name is missing (:dot x + 1).
  std::size_t end = static_cast<std::size_t>(text.data() + split - source().text().data());
  auto parses = [&](std::size_t until) {
    try {
      parse_expression(source(), command_.argument_begin, until);
      return true;
    } catch (const UserError&) {
      return false;
    }
  };
  if (!parses(end) && parses(command_.argument_end))
    fail(":dot needs a file name after the expression, as in :dot x + 1 graph.dot");
  std::string path = file_argument(text.substr(split + 1));
  if (trim(path).empty()) fail(":dot needs a file name after the expression, as in :dot x + 1 graph.dot");
  if (path.front() == '"' || path.front() == '\'' || path.back() == '"' || path.back() == '\'')
    fail(fmt::format(":dot's file name {} has an unmatched quote; quote the whole name, as in "
                     "\"my graph.dot\"",
                     path));
  Expr e = expression_argument(end);
  std::string graph = with_location(interpreter_, offset_, [&] { return to_dot({e}); });
  with_location(interpreter_, offset_, [&] { write_file_atomically(path, graph); });
  print_(fmt::format("wrote {}", path));
}

// The class count of each input that a sparse cross-entropy in e reads as class labels:
// compiled calls reject labels outside [0, classes). A symbolic count is that of the call,
// whose symbols are kTimingDimSize: 8 for n, 7 for n-1.
std::unordered_map<const Node*, std::int64_t> label_class_counts(const Expr& e) {
  std::unordered_map<const Node*, std::int64_t> counts;
  for (const LabelRead& read : sparse_label_reads({e})) {
    std::int64_t count = read.classes.is_static() ? read.classes.size() : kTimingDimSize;
    if (read.classes.is_symbolic())
      count = symbol_size({{read.classes.base_symbol(), kTimingDimSize}}, read.classes.symbol()).value_or(count);
    auto [entry, added] = counts.emplace(read.labels, count);
    if (!added) entry->second = std::min(entry->second, count);
  }
  return counts;
}

// A random tensor for input, with symbolic dimensions bound to kTimingDimSize. Integers lie
// in [0, limit), and floats in [-1, 1).
Tensor random_input(const Expr& input, std::int64_t limit, std::mt19937_64& engine) {
  Dims dims;
  for (const Dim& d : input.shape()) dims.push_back(d.is_static() ? d.size() : kTimingDimSize);
  Tensor t = Tensor::empty(input.dtype(), dims);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<std::int64_t> integer(0, std::max<std::int64_t>(limit, 1) - 1);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (is_float(t.dtype()))
      t.set_double(i, real(engine));
    else if (t.dtype() == DType::Bool)
      t.set_double(i, integer(engine) % 2);
    else
      t.set_double(i, integer(engine));
  }
  return t;
}

void CommandRunner::time() {
  using Clock = std::chrono::steady_clock;
  Expr e = expression_argument();
  std::vector<Expr> inputs = Interpreter::free_inputs(e);
  Function f = with_location(interpreter_, offset_, [&] {
    return compile(inputs, {e}, {}, interpreter_.options().compile);
  });
  const CompileStats& stats = f.stats();
  print_(
      fmt::format("compile: {:.3f} ms (rewrite {:.3f}, lowering {:.3f}, LLVM optimize {:.3f}, "
                  "machine code {:.3f}){}",
                  stats.total_ms, stats.rewrite_ms, stats.lowering_ms, stats.llvm_optimize_ms,
                  stats.machine_code_ms, stats.cache_hit ? ", from the cache" : ""));

  std::mt19937_64 engine(0);
  std::vector<Tensor> arguments;
  std::unordered_map<const Node*, std::int64_t> class_counts = label_class_counts(e);
  for (const Expr& input : inputs) {
    // In double, because static sizes near the int64 limit overflow an integer product.
    double numel = 1;
    for (const Dim& d : input.shape())
      numel *= static_cast<double>(d.is_static() ? d.size() : kTimingDimSize);
    if (numel > static_cast<double>(kMaxEvaluatedElements))
      fail(
          fmt::format(":time: input '{}' would have {} elements, more than the {} that the "
                      "interpreter creates",
                      input->name(),
                      numel < 1e18 ? fmt::format("{:.0f}", numel) : fmt::format("{:.3g}", numel),
                      kMaxEvaluatedElements));
    auto labels = class_counts.find(input.node());
    if (labels != class_counts.end() && labels->second == 0)
      fail(fmt::format(":time: a cross-entropy reads input '{}' as class labels over 0 classes, "
                       "so no label is valid; time it with at least one class",
                       input->name()));
    arguments.push_back(
        random_input(input, labels == class_counts.end() ? kTimingDimSize : labels->second, engine));
  }

  // The first call is timed apart, then calls repeat for about 0.2 s, at most 100 times.
  CallOptions call_options;
  call_options.stop = interpreter_.options().stop;
  auto call_ms = [&] {
    auto start = Clock::now();
    with_location(interpreter_, offset_, [&] { return f.call(arguments, call_options); });
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  double first = call_ms();
  std::vector<double> times;
  double total = 0;
  while (times.size() < 100 && total < 200.0) {
    times.push_back(call_ms());
    total += times.back();
  }
  std::sort(times.begin(), times.end());
  print_(
      fmt::format("call: {:.4f} ms median of {} calls, first call {:.4f} ms (random inputs, "
                  "symbolic sizes bound to {})",
                  times[times.size() / 2], times.size(), first, kTimingDimSize));
}

void CommandRunner::load() {
  std::string_view argument = without_comment(argument_text());
  std::string path = file_argument(argument);
  if (path.empty()) fail(":load needs a file name, as in :load model.damo");
  bool comment_cut = argument.size() < trim(argument_text()).size();
  std::string text = with_location(interpreter_, offset_, [&] {
    try {
      return read_text_file(path, kMaxScriptBytes);
    } catch (const UserError& error) {
      if (!comment_cut) throw;
      throw UserError(error.message() + "; a '#' starts a comment, so quote a file name that contains "
                                        "one, as in :load \"a#b.damo\"");
    }
  });
  SourceFile file(path, std::move(text));
  // An error inside the file keeps its own location, and the message adds where the file
  // was loaded: "; b.damo was loaded at a.damo:2", then ", which was loaded at <repl>:1"
  // for each enclosing :load.
  SourceLocation load_site = source().location(offset_);
  try {
    with_location(interpreter_, offset_, [&] { interpreter_.run(file, print_); });
  } catch (const UserError& error) {
    if (!error.location().valid() || error.location().source_name == load_site.source_name) throw;
    bool in_this_file = error.location().source_name == path;
    throw UserError(fmt::format("{}{} was loaded at {}:{}", error.message(),
                                in_this_file ? fmt::format("; {}", path) : ", which",
                                load_site.source_name, load_site.line),
                    error.location());
  }
}

}  // namespace

void run_command(Interpreter& interpreter, const ast::Command& command, std::size_t offset,
                 const OutputSink& print) {
  CommandRunner(interpreter, command, offset, print).run();
}

std::vector<std::string> command_names() {
  std::vector<std::string> out;
  for (const CommandSpec& c : kCommands) out.push_back(std::string(":") + c.name);
  return out;
}

std::string help_text() {
  std::string out =
      "Statements, one a line: 'name = expr', an expression (its value is printed), or a\n"
      "command. A line that ends inside brackets continues on the next; '#' starts a comment.\n"
      "\n"
      "  x = vector(f32, [4])         a symbolic input named x, of shape (4,)\n"
      "  W = shared(\"W\", randn(f32, [3, 4], seed=1))\n"
      "  y = softmax(x[:3] @ W)       builtins take keyword arguments: sum(y, axis=0)\n"
      "  g = grad(sum(y), W)\n"
      "  f = function([x], y, updates=[W: W - 0.1 * g])\n"
      "  f([1, 2, 3, 4])              runs the compiled function\n"
      "\n"
      "Operators, lowest precedence first: or; and; not; == != < <= > >=; + -;\n"
      "* / // % @; unary -; **; calls f(...) and subscripts x[i, a:b:c].\n"
      "\n"
      "Commands:\n";
  for (const CommandSpec& c : kCommands) out += fmt::format("  {:<18} {}\n", c.usage, c.summary);
  out += "\n:help NAME shows a builtin's arguments. Builtins:\n";
  // Builtin names, wrapped into lines of at most 88 columns with a two-space indent.
  std::string line;
  for (const std::string& name : builtin_table().names()) {
    if (!line.empty() && line.size() + name.size() + 3 > 88) {
      out += fmt::format("  {}\n", line);
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += name;
  }
  out += fmt::format("  {}", line);
  return out;
}

}  // namespace damo
