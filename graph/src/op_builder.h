// Helpers shared by the op factories in ops_*.cpp.
#pragma once

#include <string>
#include <vector>

#include "damo/graph/ops.h"
#include "damo/graph/promotion.h"

namespace damo::detail {

/// Interns a node of the given op over inputs; inputs must not be empty unless graph is set.
Expr make_node(OpKind op, DType dtype, Shape shape, std::vector<Expr> inputs, Attrs attrs = {},
               bool weak = false);

/// x converted to dtype: a weak constant becomes a weak constant of dtype, other nodes a cast.
Expr convert(Expr x, DType dtype);

/// Checks that every operand is defined and from one graph; op names the caller.
void check_operands(const std::string& op, std::initializer_list<Expr> operands);

/// The broadcast shape of a and b, or UserError naming op and both shapes.
Shape broadcast_or_throw(const std::string& op, const Shape& a, const Shape& b);

/// "f32 (n, 6)" for messages.
std::string describe(const Expr& x);

/// Sorted, unique, normalized axes of a reduction or squeeze.
std::vector<std::int64_t> normalize_axes(const Axes& axes, int rank, const std::string& op);

/// slice_scatter for a slice of a symbolic axis (see slice_counts_from_end()): zeros of
/// shape with src written at start:stop, where stop is 0 or below and counts from the end.
Expr slice_scatter_from_end(Expr src, const Shape& shape, int axis, std::int64_t start,
                            std::int64_t stop);

}  // namespace damo::detail
