// The builtin functions of the expression language and the argument binder they share.
//
// Each builtin declares its parameters by name. Args binds a call's positional and keyword
// arguments to them and reports a wrong count or an unknown or missing argument at the call.
// It converts each argument on request, with errors located at that argument.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "interpreter.h"

namespace damo {

struct Param {
  std::string name;
  bool required = true;
  /// A shape argument: evaluated with Interpreter::evaluate_shape, so a name not in scope
  /// is a symbolic dimension.
  bool shape = false;
};

class Args;

struct Builtin {
  std::string name;
  std::vector<Param> params;
  std::function<Value(Args&)> call;
  /// One line for :help NAME and the completion list.
  std::string summary;
  /// "softmax(x, axis=-1)": the call form that :help shows.
  std::string signature;
};

/// Every builtin by name; immutable after construction.
class BuiltinTable {
 public:
  BuiltinTable();
  const Builtin* find(const std::string& name) const;
  const std::map<std::string, Builtin>& all() const { return builtins_; }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Builtin> builtins_;
};

/// The table shared by every session; it never changes after it is built.
const BuiltinTable& builtin_table();

/// A builtin from its call form, such as "softmax(x, axis=-1)": a parameter with "=" is
/// optional (the text after "=" documents its default), and every parameter named shape
/// is a shape argument.
Builtin define(const std::string& signature, const std::string& summary,
               std::function<Value(Args&)> call);

// Registration, one function per file of builtins.
void add_op_builtins(std::vector<Builtin>& out);
void add_value_builtins(std::vector<Builtin>& out);
void add_function_builtins(std::vector<Builtin>& out);

/// The problem that keeps body from being the body of a fused op over operands (not a
/// scalar, a $i out of range or of another dtype than operand i, a non-elementwise op), or
/// "" when there is none.
std::string fused_body_problem(const std::string& op, const Expr& body,
                               const std::vector<Expr>& operands);
/// True for the reductions a fused reduction supports: sum, max, min and prod.
bool is_fused_reduction_op(OpKind op);
/// The problem that keeps op from reducing body (an integer body of sum or prod must be
/// i64), or "" when there is none.
std::string fused_reduction_problem(OpKind op, const Expr& body);

/// The arguments of one call of a builtin, bound to its parameters.
class Args {
 public:
  Args(Interpreter& interpreter, const Builtin& builtin, const ast::Call& call,
       std::size_t call_offset);

  Interpreter& interpreter() { return interpreter_; }
  Graph& graph() { return interpreter_.graph(); }
  const std::string& name() const { return builtin_.name; }
  std::size_t call_offset() const { return call_offset_; }

  bool has(const std::string& param) const;
  /// Offset of the argument, or of the call when it is absent.
  std::size_t offset(const std::string& param) const;
  [[noreturn]] void fail(const std::string& param, const std::string& message) const;

  const Value& value(const std::string& param) const;
  Expr tensor(const std::string& param);
  /// A list of tensors, or one tensor as a list of one.
  std::vector<Expr> tensors(const std::string& param);
  std::int64_t integer(const std::string& param);
  std::int64_t integer(const std::string& param, std::int64_t fallback);
  std::optional<std::int64_t> optional_integer(const std::string& param);
  double number(const std::string& param);
  bool boolean(const std::string& param, bool fallback);
  DType dtype(const std::string& param);
  DType dtype(const std::string& param, DType fallback);
  /// An axis or a list of axes; every axis when absent.
  Axes axes(const std::string& param);
  std::vector<int> int_list(const std::string& param);
  std::vector<Dim> shape(const std::string& param);
  /// One dimension, evaluated like an entry of a shape.
  Dim dimension(const std::string& param);
  /// A shape of static sizes only, each at least 0.
  Dims static_shape(const std::string& param);
  std::string string(const std::string& param);
  /// An op named by its builtin, such as relu in fused_matmul(..., activation=relu).
  OpKind op(const std::string& param);

 private:
  struct Slot {
    const ast::Expr* expr = nullptr;
    std::size_t offset = 0;
    Value value;
  };
  const Slot& slot(const std::string& param) const;
  const Slot* find(const std::string& param) const;
  std::string description(const std::string& param) const;

  Interpreter& interpreter_;
  const Builtin& builtin_;
  std::size_t call_offset_;
  std::vector<Slot> slots_;  // one per parameter; expr is null when absent
};

}  // namespace damo
