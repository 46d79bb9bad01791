// to_infix(): prints an expression in Damo's expression language with minimal parentheses.
//
// The printer expands a node into pieces: literal text, or an operand together with the
// lowest precedence it may have without parentheses. An explicit stack of pieces replaces
// recursion, so deep expressions do not overflow the call stack.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "damo/graph/ops.h"
#include "damo/graph/printer.h"
#include "printer_text.h"

namespace damo {

namespace {

// Precedence levels, low to high.
enum Precedence : int {
  kLowest = 0,
  kOr,
  kAnd,
  kNot,
  kCompare,
  kAdditive,
  kMultiplicative,
  kUnary,
  kPower,
  kPostfix,  // calls, indexing, names and non-negative numbers
};

// Above this many node occurrences in the expanded tree, to_infix() prints a dump instead.
constexpr std::uint64_t kMaxInfixOccurrences = 1'000'000;

// Literal text when node is null; otherwise node, parenthesized when its precedence is
// below context.
struct Piece {
  const Node* node = nullptr;
  int context = kLowest;
  std::string text;
};

using Pieces = std::vector<Piece>;

Piece text_piece(std::string text) { return Piece{nullptr, kLowest, std::move(text)}; }
Piece node_piece(const Node* node, int context) { return Piece{node, context, {}}; }

struct BinaryOperator {
  const char* symbol;
  int precedence;
};

std::optional<BinaryOperator> binary_operator(OpKind op) {
  switch (op) {
  case OpKind::Or: return BinaryOperator{"or", kOr};
  case OpKind::And: return BinaryOperator{"and", kAnd};
  case OpKind::Eq: return BinaryOperator{"==", kCompare};
  case OpKind::Ne: return BinaryOperator{"!=", kCompare};
  case OpKind::Lt: return BinaryOperator{"<", kCompare};
  case OpKind::Le: return BinaryOperator{"<=", kCompare};
  case OpKind::Gt: return BinaryOperator{">", kCompare};
  case OpKind::Ge: return BinaryOperator{">=", kCompare};
  case OpKind::Add: return BinaryOperator{"+", kAdditive};
  case OpKind::Sub: return BinaryOperator{"-", kAdditive};
  case OpKind::Mul: return BinaryOperator{"*", kMultiplicative};
  case OpKind::Div: return BinaryOperator{"/", kMultiplicative};
  case OpKind::FloorDiv: return BinaryOperator{"//", kMultiplicative};
  case OpKind::Mod: return BinaryOperator{"%", kMultiplicative};
  case OpKind::MatMul: return BinaryOperator{"@", kMultiplicative};
  case OpKind::Pow: return BinaryOperator{"**", kPower};
  default: return std::nullopt;
  }
}

// The text of a constant: a number, a nested list or constant(dtype, shape).
std::string constant_text(const Node& node) {
  if (auto value = detail::format_small_value(node.value())) return *value;
  return fmt::format("constant({}, {})", dtype_name(node.dtype()), node.shape().to_string());
}

int precedence_of(const Node& node) {
  if (auto op = binary_operator(node.op())) return op->precedence;
  if (node.op() == OpKind::Not) return kNot;
  if (node.op() == OpKind::Neg) return kUnary;
  if (node.is_constant() && constant_text(node).starts_with('-')) return kUnary;
  return kPostfix;
}

// Appends ", " separated operands to pieces.
void append_operands(Pieces& pieces, const std::vector<const Node*>& operands) {
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (i > 0) pieces.push_back(text_piece(", "));
    pieces.push_back(node_piece(operands[i], kLowest));
  }
}

// name(operands, arguments...), where each argument is already text such as "axis=1".
Pieces call(std::string_view name, const std::vector<const Node*>& operands,
            const std::vector<std::string>& arguments) {
  Pieces pieces = {text_piece(fmt::format("{}(", name))};
  append_operands(pieces, operands);
  for (const std::string& argument : arguments)
    pieces.push_back(text_piece((operands.empty() ? "" : ", ") + argument));
  pieces.push_back(text_piece(")"));
  return pieces;
}

// One axis of a slice in Python syntax, with default bounds left out.
std::string slice_text(const Node& slice) {
  if (slice_counts_from_end(slice)) {
    std::int64_t start = slice.attr(1);
    std::int64_t stop = slice.attr(2);
    return (start == 0 ? std::string() : std::to_string(start)) + ':' +
           (stop == 0 ? std::string() : std::to_string(stop));
  }
  const Dim& axis_size = slice.input(0)->shape()[static_cast<int>(slice.attr(0))];
  // The one slice of a symbolic axis that keeps a resolved stop is the empty one, 0:0.
  if (axis_size.is_symbolic()) return ":0";
  std::int64_t length = axis_size.size();
  std::int64_t start = slice.attr(1);
  std::int64_t stop = slice.attr(2);
  std::int64_t step = slice.attr(3);
  bool forward = step > 0;
  std::string text;
  if (start != (forward ? 0 : length - 1)) text += std::to_string(start);
  text += ':';
  if (stop != (forward ? length : -1)) text += std::to_string(stop);
  if (step != 1) text += fmt::format(":{}", step);
  return text;
}

// stop= of a slice_scatter. On a symbolic axis the stop counts from the end as in Python,
// and stop=none is the end.
std::string slice_stop_argument(const Node& node) {
  std::int64_t stop = node.attr(2);
  if (slice_counts_from_end(node) && stop == 0) return "stop=none";
  return fmt::format("stop={}", stop);
}

// Slices of distinct axes applied one after another print as one index, x[1:3, ::2].
Pieces slice_pieces(const Node& node) {
  std::map<std::int64_t, std::string> by_axis;
  const Node* base = &node;
  while (base->op() == OpKind::Slice && by_axis.count(base->attr(0)) == 0) {
    by_axis[base->attr(0)] = slice_text(*base);
    base = base->input(0);
  }

  std::string index = "[";
  std::int64_t last_axis = by_axis.rbegin()->first;
  for (std::int64_t axis = 0; axis <= last_axis; ++axis) {
    if (axis > 0) index += ", ";
    auto it = by_axis.find(axis);
    index += it == by_axis.end() ? ":" : it->second;
  }
  return {node_piece(base, kPostfix), text_piece(index + "]")};
}

std::string axis_argument(std::int64_t axis) { return fmt::format("axis={}", axis); }

// axis=[...] unless every axis of an operand of the given rank is reduced, then
// keepdims=true when set.
std::vector<std::string> reduction_arguments(const std::vector<std::int64_t>& axes,
                                             std::size_t operand_rank, bool keepdims) {
  std::vector<std::string> arguments;
  if (axes.size() != operand_rank) arguments.push_back("axis=" + detail::format_int_list(axes));
  if (keepdims) arguments.push_back("keepdims=true");
  return arguments;
}

Pieces fused_pieces(const Node& node) {
  const Attrs& attrs = node.attrs();
  std::string name = "fused";
  std::vector<std::string> arguments;
  if (node.op() == OpKind::FusedReduction) {
    name += fmt::format("_{}", op_name(attrs.sub_op));
    std::size_t rank = static_cast<std::size_t>(node.rank());
    if (!attrs.keepdims) rank += attrs.ints.size();
    arguments = reduction_arguments(attrs.ints, rank, attrs.keepdims);
  }
  Pieces pieces = {text_piece(name + "{"), node_piece(attrs.body, kLowest), text_piece("}")};
  Pieces rest = call("", node.inputs(), arguments);
  pieces.insert(pieces.end(), rest.begin(), rest.end());
  return pieces;
}

Pieces fused_matmul_pieces(const Node& node) {
  const Attrs& attrs = node.attrs();
  std::vector<std::string> arguments;
  if (attrs.sub_op != OpKind::Param)
    arguments.push_back(fmt::format("activation={}", op_name(attrs.sub_op)));
  if (attrs.ints.at(0) != 0) arguments.push_back("transpose_a=true");
  if (attrs.ints.at(1) != 0) arguments.push_back("transpose_b=true");
  return call(op_name(node.op()), node.inputs(), arguments);
}

// The ops that print as a call, with their attributes as arguments.
Pieces call_pieces(const Node& node) {
  const Attrs& attrs = node.attrs();
  std::string_view name = op_name(node.op());
  const auto& inputs = node.inputs();
  switch (node.op()) {
  case OpKind::Cast: return call(name, inputs, {std::string(dtype_name(attrs.dtype))});
  case OpKind::Transpose: return call(name, inputs, {detail::format_int_list(attrs.ints)});
  case OpKind::Reshape:
  case OpKind::BroadcastTo: return call(name, inputs, {detail::format_dims_list(node.shape())});
  case OpKind::ExpandDims: return call(name, inputs, {std::to_string(attrs.ints.at(0))});
  case OpKind::Squeeze: return call(name, inputs, {"axis=" + detail::format_int_list(attrs.ints)});
  case OpKind::OneHot:
    return call(name, inputs,
                {std::to_string(attrs.ints.at(0)), std::string(dtype_name(attrs.dtype))});
  case OpKind::RandomUniform: {
    std::vector<std::string> arguments = {detail::format_dims_list(node.shape()),
                                          std::string(dtype_name(attrs.dtype))};
    if (attrs.ints.at(0) != 0) arguments.push_back(fmt::format("stream={}", attrs.ints.at(0)));
    return call(name, inputs, arguments);
  }
  case OpKind::Concatenate: {
    Pieces pieces = {text_piece("concatenate([")};
    append_operands(pieces, inputs);
    pieces.push_back(text_piece(fmt::format("], axis={})", attrs.ints.at(0))));
    return pieces;
  }
  case OpKind::SliceScatter:
    return call(
        name, inputs,
        {detail::format_dims_list(node.shape()), axis_argument(attrs.ints.at(0)),
         fmt::format("start={}", attrs.ints.at(1)), slice_stop_argument(node),
         fmt::format("step={}", attrs.ints.at(3))});
  case OpKind::IndexAdd:
  case OpKind::ScatterAddAlongAxis:
    return call(name, inputs,
                {detail::format_dims_list(node.shape()), axis_argument(attrs.ints.at(0))});
  case OpKind::CumSum: {
    std::vector<std::string> arguments = {axis_argument(attrs.ints.at(0))};
    if (attrs.ints.at(1) != 0) arguments.push_back("reverse=true");
    return call(name, inputs, arguments);
  }
  case OpKind::ArgSort: {
    std::vector<std::string> arguments = {axis_argument(attrs.ints.at(0))};
    if (attrs.ints.at(1) != 0) arguments.push_back("descending=true");
    return call(name, inputs, arguments);
  }
  case OpKind::FusedMatMul: return fused_matmul_pieces(node);
  case OpKind::FusedElementwise:
  case OpKind::FusedReduction: return fused_pieces(node);
  default: break;
  }

  if (op_category(node.op()) == OpCategory::Reduction)
    return call(name, inputs,
                reduction_arguments(attrs.ints, static_cast<std::size_t>(node.input(0)->rank()),
                                    attrs.keepdims));
  if (attrs.ints.size() == 1) return call(name, inputs, {axis_argument(attrs.ints[0])});
  return call(name, inputs, {});
}

// The pieces of node's text, without the parentheses its context may need.
Pieces pieces_of(const Node& node) {
  switch (node.op()) {
  case OpKind::Input:
  case OpKind::Shared: return {text_piece(node.name())};
  case OpKind::Constant: return {text_piece(constant_text(node))};
  case OpKind::Param: return {text_piece(fmt::format("${}", node.attr(0)))};
  case OpKind::DimSize: return {text_piece(fmt::format("dim_size({})", node.name()))};
  case OpKind::Neg: return {text_piece("-"), node_piece(node.input(0), kUnary)};
  case OpKind::Not: return {text_piece("not "), node_piece(node.input(0), kNot)};
  case OpKind::Slice: return slice_pieces(node);
  default: break;
  }

  auto op = binary_operator(node.op());
  if (!op) return call_pieces(node);
  int q = op->precedence;
  // A left-grouping operator accepts an operand of equal precedence on the left only, and a
  // comparison on neither side. ** groups to the right, and its base must be postfix.
  int left = q == kCompare ? q + 1 : (q == kPower ? kPostfix : q);
  int right = q == kPower ? kPower : q + 1;
  return {node_piece(node.input(0), left), text_piece(fmt::format(" {} ", op->symbol)),
          node_piece(node.input(1), right)};
}

// Operands of node in the printed tree, fused bodies included.
std::vector<const Node*> printed_children(const Node& node) {
  std::vector<const Node*> children = node.inputs();
  if (node.attrs().body != nullptr) children.push_back(node.attrs().body);
  return children;
}

// Number of node occurrences when root is expanded as a tree, saturating at limit + 1.
std::uint64_t expanded_size(const Node* root, std::uint64_t limit) {
  std::unordered_map<const Node*, std::uint64_t> size;
  std::unordered_set<const Node*> entered;
  // Each entry is a node and whether its children are already sized.
  std::vector<std::pair<const Node*, bool>> stack = {{root, false}};
  while (!stack.empty()) {
    auto [node, children_sized] = stack.back();
    stack.pop_back();
    std::vector<const Node*> children = printed_children(*node);
    if (!children_sized) {
      if (!entered.insert(node).second) continue;
      stack.emplace_back(node, true);
      for (const Node* child : children)
        if (entered.count(child) == 0) stack.emplace_back(child, false);
      continue;
    }

    std::uint64_t total = 1;
    for (const Node* child : children) total = std::min(total + size.at(child), limit + 1);
    size[node] = total;
  }
  return size.at(root);
}

}  // namespace

std::string to_infix(const Expr& e) {
  if (!e.defined()) return "<undefined>";
  if (expanded_size(e.node(), kMaxInfixOccurrences) > kMaxInfixOccurrences) return dump({e});

  std::string out;
  std::vector<Piece> stack = {node_piece(e.node(), kLowest)};
  while (!stack.empty()) {
    Piece piece = std::move(stack.back());
    stack.pop_back();
    if (piece.node == nullptr) {
      out += piece.text;
      continue;
    }

    Pieces pieces = pieces_of(*piece.node);
    bool parenthesize = precedence_of(*piece.node) < piece.context;
    if (parenthesize) stack.push_back(text_piece(")"));
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) stack.push_back(std::move(*it));
    if (parenthesize) stack.push_back(text_piece("("));
  }
  return out;
}

std::string Expr::to_string() const { return to_infix(*this); }

}  // namespace damo
