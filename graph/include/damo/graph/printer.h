// Text forms of a graph: infix expressions, an indented dump and Graphviz DOT.
//
// All three are deterministic: they depend only on the graph's structure and node ids, and
// each walks the graph with an explicit stack, so graphs 100,000 nodes deep print without
// overflowing the call stack.
#pragma once

#include <string>
#include <vector>

#include "damo/graph/expr.h"

namespace damo {

/// Prints e in Damo's expression language with the fewest parentheses that keep the
/// meaning, such as "sigmoid(x @ W1 + b1)". Shared subexpressions are printed in full at
/// each use.
///
/// Precedence from low to high: `or`; `and`; prefix `not`; the comparisons
/// `== != < <= > >=`, which do not chain; `+ -`; `* / // % @`; prefix `-`; `**`; then
/// calls and indexing. Binary operators group to the left except `**`, which groups to
/// the right. The right operand of `**` is parenthesized when it starts with `-`
/// (`x ** (-1)`), and so is a negative left operand (`(-x) ** 2`).
///
/// - Inputs and shared variables print their names; a fused body's Param i prints `$i`.
/// - Scalar constants print as the shortest number that reads back as the same value, with
///   no dtype: `0.5`, `2` (also for the float 2.0), `1e+20`, `true`, `nan`, `inf`, `-inf`.
///   A negative number has the precedence of prefix `-`, so `x * -2` and `(-2) ** x`.
/// - Constants with 1 to 8 elements print as nested lists, `[[1, 2], [3, 4]]`; others as
///   `constant(f32, (100, 3))`.
/// - Other ops print as calls with their required attributes positional and the rest as
///   keywords: `cast(x, f32)`, `transpose(x, [1, 0])`, `reshape(x, [n, 3])`,
///   `one_hot(y, 3, f32)`, `take(x, i, axis=0)`, `softmax(z, axis=1)`,
///   `random_uniform(key, [n, 3], f32, stream=1)` (stream 0 omitted). A reduction omits
///   `axis` when it reduces every axis and prints `keepdims=true` only when set:
///   `sum(x, axis=[0, 1], keepdims=true)`, `mean(x)`.
/// - Slices print as indexing with Python slice syntax, omitting default bounds:
///   `x[1:3]`, `x[:, ::2]`, `x[:, 4:0:-1]`. Nested slices of different axes merge into
///   one index: `x[1:3, ::2]`.
/// - Fused ops: `fused_matmul(a, b, bias, activation=sigmoid, transpose_a=true)`,
///   `fused{sigmoid($0 + $1)}(x @ W, b)` and `fused_sum{$0 * $1}(x, y, axis=[1])`.
///
/// When the expression expanded as a tree would have more than 1,000,000 node occurrences
/// (shared subexpressions multiply), returns dump({e}) instead, which prints each node once.
/// An undefined e prints as "<undefined>".
std::string to_infix(const Expr& e);

/// Prints the graph below roots as an indented tree, one node occurrence a line:
///
///     %<id> = <op> <dtype> <shape>[ <key>=<value>]...[ weak][ <name or value>]
///
/// for example `%4 = sum f32 (n,) axis=[1]` or `%0 = input f32 (n, 3) x`. Each input
/// follows its user on its own line, indented two spaces more, in operand order. A node
/// printed earlier appears again only as a reference line, `%<id>`. Roots print one after
/// another at indentation 0, and an undefined root prints as `<undefined>`.
///
/// Attributes by op:
/// - reductions: `axis=[...]`, and `keepdims=true` when set;
/// - transpose: `perm=[...]`; squeeze: `axis=[...]`; one_hot: `depth=`; param: `index=`;
///   random_uniform: `stream=`;
/// - slice and slice_scatter: `axis= start= stop= step=`, normalized as Python's
///   slice.indices() does, so stop -1 with a negative step means "past the first element";
///   on a symbolic axis the stop counts from the end: `stop=end` or `stop=end-1`;
/// - fused_matmul: `activation=`, `transpose_a=true`, `transpose_b=true`;
/// - fused_elementwise: `body={<infix>}`;
/// - fused_reduction: `reduce=<op> axis=[...]`, `keepdims=true`, `body={<infix>}`;
/// - the other ops with one axis: `axis=`.
///
/// `weak` marks a weak literal (see promotion.h). Inputs and shared variables end with
/// their name, constants of 1 to 8 elements with their value as in to_infix().
///
/// A node deeper than 64 levels below its root is printed as `%<id> (continued below)`
/// and its subtree follows later as a tree of its own at indentation 0, which keeps deep
/// graphs from producing quadratic indentation. Such a reference is the only one that
/// precedes its node's definition.
std::string dump(const std::vector<Expr>& roots);

/// Prints the graph below roots as a Graphviz digraph. Each node is `n<id>`, a box
/// labelled `%<id> <op>[ <key>=<value>]...[ weak][ <name or value>]` over
/// `<dtype> <shape>`, with the details of dump(). Each operand is an edge from the input
/// to its user, labelled with the operand index. Nodes are listed inputs first. Labels
/// escape `"` and `\` and write line breaks as `\n`.
std::string to_dot(const std::vector<Expr>& roots);

}  // namespace damo
