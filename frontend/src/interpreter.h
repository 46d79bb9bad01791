// Interpreter: evaluates syntax trees of the expression language into values, building
// graph nodes through the op factories, and owns the graph and the names in scope.
#pragma once

#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "damo/frontend/ast.h"
#include "damo/frontend/diagnostics.h"
#include "damo/frontend/session.h"
#include "damo/frontend/value.h"
#include "damo/graph/ops.h"

namespace damo {

/// The largest tensor, in elements, that the interpreter creates or evaluates right away:
/// 2^28 elements (1 GiB of f32), so that a typo such as zeros(f32, [100000, 100000]) is
/// an error instead of an exhausted machine.
inline constexpr std::int64_t kMaxEvaluatedElements = std::int64_t{1} << 28;
/// The maximum number of element operations (a matmul counts m * k * n) that a right-away
/// evaluation may take, so that the reference evaluator finishes in seconds.
inline constexpr std::int64_t kMaxEvaluationWork = std::int64_t{1} << 31;

class Interpreter {
 public:
  explicit Interpreter(SessionOptions options);

  Graph& graph() { return graph_; }
  const SessionOptions& options() const { return options_; }

  /// Runs every statement of source, printing through print.
  void run(const SourceFile& source, const OutputSink& print);
  /// Evaluates expr, whose offsets refer to source.
  Value evaluate(const SourceFile& source, const ast::Expr& expr);
  Value evaluate(const ast::Expr& expr);

  const SourceFile& source() const { return *source_; }
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const;

  // Conversions; each failure is a UserError located at offset.
  Expr to_expr(const Value& value, std::size_t offset);
  /// The value of an expression without free inputs; throws naming the input otherwise.
  Tensor constant_value(const Expr& expr, std::size_t offset);
  std::int64_t to_int(const Value& value, std::size_t offset, const std::string& what);
  double to_number(const Value& value, std::size_t offset, const std::string& what);
  bool to_bool(const Value& value, std::size_t offset, const std::string& what);
  /// Dimensions written in a shape: a list literal, or a single dimension. A name that is
  /// not bound in scope becomes a symbolic dimension.
  std::vector<Dim> evaluate_shape(const ast::Expr& expr);
  Dim evaluate_dim(const ast::Expr& expr);

  /// Input nodes that expr depends on, in order of first appearance.
  static std::vector<Expr> free_inputs(const Expr& expr);
  /// True when expr has a value without inputs: it contains no Input node and no $i
  /// placeholder of a fused body.
  static bool has_value(const Expr& expr);
  /// Fails at offset when x is an integer literal with a value that dtype i32 cannot hold.
  void check_literal_fits(const Expr& x, DType dtype, std::size_t offset) const;
  /// True when expr reads no input, param or shared variable, so its value never changes.
  static bool is_constant_expr(const Expr& expr);
  /// The tensor that a list literal of tensors of one shape makes, or nullopt for other
  /// lists, such as those that builtins and compiled functions return.
  std::optional<Expr> list_literal_tensor(const Value& list, std::size_t offset);
  /// The items of a list. A number list's numbers become weak scalar constants, the values
  /// that evaluating each number literal gives.
  std::vector<Value> list_items(const Value& list);
  /// Throws when evaluating roots would exceed kMaxEvaluatedElements or kMaxEvaluationWork.
  void check_evaluation_cost(const std::vector<Expr>& roots, std::size_t offset) const;

  /// The value bound to name, or nullptr.
  const Value* lookup(const std::string& name) const;
  /// Names in scope, builtins and dtypes: the candidates for "did you mean".
  std::vector<std::string> known_names() const;
  std::vector<std::string> scope_names() const;
  /// The name that the statement being run assigns the called builtin's result to, while
  /// that builtin runs; unset for nested calls.
  const std::optional<std::string>& assignment_target() const { return assignment_target_; }

  /// The printed form of a value: NumPy-style text or JSON, as the options select. Empty for
  /// nothing to print.
  std::string print_value(const Value& value, std::size_t offset);

  bool quit_requested() const { return quit_requested_; }
  void request_quit() { quit_requested_ = true; }

  /// Names the inspecting command (type, graph, ...) whose expression is being evaluated,
  /// during which calls of functions with updates are rejected; empty for none.
  void set_inspecting(std::string command) { inspecting_ = std::move(command); }

 private:
  void execute(const ast::Statement& statement, const OutputSink& print);
  void assign_name(const std::string& name, Value value, std::size_t offset);

  Value evaluate_name(const ast::Expr& expr, const ast::Name& name);
  Value evaluate_list(const ast::List& list);
  Value evaluate_unary(const ast::Expr& expr, const ast::Unary& unary);
  Value evaluate_binary(const ast::Binary& binary);
  Value evaluate_call(const ast::Expr& expr, const ast::Call& call);
  Value evaluate_index(const ast::Expr& expr, const ast::Index& index);
  Value evaluate_param(const ast::Expr& expr, const ast::Param& param);
  Value evaluate_fused(const ast::Expr& expr, const ast::Fused& fused);
  Value call_function(const CompiledFunction& function, const ast::Call& call, std::size_t offset);
  Expr list_to_expr(const Value& list, std::size_t offset);
  /// Fails at offset when a list literal of numel elements is larger than
  /// kMaxEvaluatedElements.
  void check_list_size(std::int64_t numel, std::size_t offset) const;
  std::int64_t constant_int(const ast::Expr& expr, const std::string& what);

  std::string print_tensor(const Expr& expr, std::size_t offset);
  std::string print_function(const CompiledFunction& function) const;

  // The graph is declared first so that it outlives every value that refers to its nodes.
  Graph graph_;
  SessionOptions options_;
  std::map<std::string, Value> scope_;
  const SourceFile* source_ = nullptr;
  int run_depth_ = 0;
  // The name a statement assigns a call's result to, until that call takes it.
  std::optional<std::string> pending_target_;
  // The name the builtin being called may use; see assignment_target().
  std::optional<std::string> assignment_target_;
  bool quit_requested_ = false;
  std::string inspecting_;
  // Operand dtypes of the fused bodies being evaluated, innermost last, for $i.
  std::vector<std::vector<DType>> param_dtypes_;
};

/// Runs f, re-raising a UserError that has no location at offset of interpreter's source,
/// such as a shape error from an op factory.
template <class F>
auto with_location(const Interpreter& interpreter, std::size_t offset, F&& f) {
  try {
    return f();
  } catch (const UserError& error) {
    if (error.location().valid()) throw;
    interpreter.fail(offset, error.message());
  } catch (const CallStopped&) {
    // A stop the user asked for is no error in the text, so it keeps its own type.
    throw;
  } catch (const RuntimeError& error) {
    // Running out of memory is located too, with the fix the user controls.
    std::string message = error.what();
    if (message.starts_with("out of memory")) message += "; use smaller shapes or inputs";
    interpreter.fail(offset, message);
  } catch (const std::bad_alloc&) {
    interpreter.fail(offset, "out of memory; use smaller shapes or inputs");
  }
}

}  // namespace damo
