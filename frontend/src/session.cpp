// Session: the public face of the interpreter.
#include "damo/frontend/session.h"

#include <algorithm>
#include <array>

#include "builtins.h"
#include "commands.h"
#include "damo/frontend/parser.h"
#include "interpreter.h"

namespace damo {

Session::Session(SessionOptions options)
    : interpreter_(std::make_unique<Interpreter>(std::move(options))) {}

Session::~Session() = default;

void Session::run(const std::string& text, const std::string& source_name,
                  const OutputSink& print) {
  SourceFile source(source_name, text);
  interpreter_->run(source, print);
}

std::vector<std::string> Session::run(const std::string& text, const std::string& source_name) {
  std::vector<std::string> out;
  run(text, source_name, [&out](const std::string& line) { out.push_back(line); });
  return out;
}

Value Session::evaluate(const std::string& expression) {
  SourceFile source("<string>", expression);
  ast::ExprPtr expr = parse_expression(source);
  return interpreter_->evaluate(source, *expr);
}

Tensor Session::compute(const std::string& expression) {
  SourceFile source("<string>", expression);
  ast::ExprPtr expr = parse_expression(source);
  Value value = interpreter_->evaluate(source, *expr);
  Expr e = interpreter_->to_expr(value, 0);
  std::vector<Expr> inputs = Interpreter::free_inputs(e);
  if (!inputs.empty())
    throw UserError("Session::compute: '" + expression + "' depends on the input '" +
                    inputs.front()->name() + "'; compile it with function(...) instead");
  return interpreter_->constant_value(e, 0);
}

bool Session::quit_requested() const { return interpreter_->quit_requested(); }

std::vector<std::string> Session::completions(std::string_view prefix) const {
  std::vector<std::string> candidates;
  if (!prefix.empty() && prefix.front() == ':') {
    candidates = command_names();
  } else {
    candidates = interpreter_->known_names();
    for (const char* keyword : {"and", "or", "not", "true", "false", "nan", "inf"})
      candidates.emplace_back(keyword);
  }
  std::vector<std::string> out;
  for (std::string& name : candidates)
    if (name.compare(0, prefix.size(), prefix) == 0) out.push_back(std::move(name));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const SessionOptions& Session::options() const { return interpreter_->options(); }

Graph& Session::graph() { return interpreter_->graph(); }

}  // namespace damo
