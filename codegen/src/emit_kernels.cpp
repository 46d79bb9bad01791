// Kernels that map an index space to an output: elementwise ops (fused or not), copies,
// broadcasts, transposes, slices, concatenation, gathers, scatters and random numbers.
#include <fmt/format.h>

#include <array>

#include "damo/runtime/philox.h"
#include "emitter.h"

namespace damo::emit {

using llvm::Value;

namespace {

/// Row-major strides of a contiguous tensor of the given shape.
std::vector<Value*> contiguous_strides(FunctionBuilder& f, const Shape& shape) {
  std::vector<Value*> strides(static_cast<std::size_t>(shape.rank()));
  Value* stride = f.constant(1);
  for (int k = shape.rank() - 1; k >= 0; --k) {
    strides[k] = stride;
    stride = llvm::isa<llvm::ConstantInt>(stride) && shape[k].is_static()
                 ? f.constant(llvm::cast<llvm::ConstantInt>(stride)->getSExtValue() * shape[k].size())
                 : f.b.CreateMul(stride, f.dim(shape[k]));
  }
  return strides;
}

/// Emits loops over dims, the first restricted to [f.begin, f.end); body receives the flat
/// offset of each operand, base[j] + sum_k index_k * strides[j][k].
void strided_nest(FunctionBuilder& f, const std::vector<Value*>& dims,
                  const std::vector<std::vector<Value*>>& strides, std::vector<Value*> offsets,
                  const std::function<void(const std::vector<Value*>&)>& body, std::size_t axis = 0,
                  bool restrict_first = true) {
  if (axis == dims.size()) {
    body(offsets);
    return;
  }
  Value* low = axis == 0 && restrict_first ? f.begin : f.constant(0);
  Value* high = axis == 0 && restrict_first ? f.end : dims[axis];
  f.loop(low, high, [&](Value* i) {
    std::vector<Value*> inner = offsets;
    for (std::size_t j = 0; j < inner.size(); ++j) {
      Value* stride = strides[j][axis];
      if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(stride); c && c->isZero()) continue;
      inner[j] = f.b.CreateAdd(inner[j], f.b.CreateMul(i, stride));
    }
    strided_nest(f, dims, strides, inner, body, axis + 1, restrict_first);
  });
}

/// Runs body once for a rank-0 index space (when the chunk is [0, 1)).
void scalar_once(FunctionBuilder& f, const std::function<void()>& body) {
  f.if_then(f.b.CreateICmpSLT(f.begin, f.end), body);
}

// An operand of an elementwise kernel: the node whose shape it has, and the slice when the
// kernel reads a slice in place (the loads then go to the slice's operand).
struct Operand {
  const Node* node;
  const Node* view;
};

// Axis groups of an elementwise index space: adjacent axes with the same broadcast pattern
// across operands merge into one, and axes of static size 1 disappear. The sliced axis of
// a slice read in place starts a new group, because the slice's rows are a whole operand
// row apart. When the step is not 1, the axis after it starts a new group too.
struct Grouping {
  std::vector<std::vector<Dim>> group_dims;
  std::vector<std::vector<bool>> broadcast;  // [group][operand]
  std::vector<int> last_axis;                // [group]: its innermost output axis
};

Grouping group_axes(const Shape& out, const std::vector<Operand>& operands) {
  Grouping g;
  int rank = out.rank();
  std::vector<ViewCut> cuts;
  for (const Operand& operand : operands)
    if (operand.view != nullptr)
      cuts.push_back({static_cast<int>(operand.view->attr(0)) + rank - operand.node->rank(),
                      operand.view->attr(3) != 1});
  for (int k = 0; k < rank; ++k) {
    if (out[k].is_static() && out[k].size() == 1) continue;
    std::vector<bool> pattern;
    for (const Operand& operand : operands) {
      int axis = k - (rank - operand.node->rank());
      pattern.push_back(axis < 0 || operand.node->shape()[axis] == Dim(1));
    }
    if (!g.broadcast.empty() && g.broadcast.back() == pattern &&
        !breaks_group(cuts, g.last_axis.back(), k)) {
      g.group_dims.back().push_back(out[k]);
      g.last_axis.back() = k;
      continue;
    }
    g.group_dims.push_back({out[k]});
    g.broadcast.push_back(pattern);
    g.last_axis.push_back(k);
  }
  return g;
}

/// Emits out = compute(loaded operands) over the output's shape with broadcasting.
Launch elementwise_kernel(ModuleState& state, const Kernel& kernel, const std::string& stem,
                          const std::function<Value*(FunctionBuilder&, const std::vector<Value*>&)>& compute) {
  FunctionBuilder f(state, state.fresh_name(stem));
  const Shape& out_shape = state.program.slot_nodes[kernel.output]->shape();
  std::vector<Operand> operands;
  for (std::size_t j = 0; j < kernel.inputs.size(); ++j) {
    const Node* view = kernel.views.empty() ? nullptr : kernel.views[j];
    operands.push_back({view != nullptr ? view : state.program.slot_nodes[kernel.inputs[j]], view});
  }
  Grouping g = group_axes(out_shape, operands);
  std::size_t groups = g.group_dims.size();

  std::vector<Value*> dims;
  for (const auto& d : g.group_dims) dims.push_back(f.product(d));
  // Operand 0..n-1 are the inputs; the last is the output.
  std::vector<std::vector<Value*>> strides(operands.size() + 1, std::vector<Value*>(groups));
  std::vector<Value*> start(operands.size() + 1, f.constant(0));
  for (std::size_t j = 0; j <= operands.size(); ++j) {
    bool view = j < operands.size() && operands[j].view != nullptr;
    if (view) {
      ViewLayout layout = view_layout(f, *operands[j].view);
      start[j] = layout.base;
      int shift = out_shape.rank() - operands[j].node->rank();
      for (std::size_t k = 0; k < groups; ++k)
        strides[j][k] = g.broadcast[k][j] ? f.constant(0) : layout.strides[g.last_axis[k] - shift];
      continue;
    }
    Value* stride = f.constant(1);
    for (std::size_t k = groups; k-- > 0;) {
      bool broadcast = j < operands.size() && g.broadcast[k][j];
      strides[j][k] = broadcast ? f.constant(0) : stride;
      if (!broadcast) stride = f.b.CreateMul(stride, dims[k]);
    }
  }
  auto body = [&](const std::vector<Value*>& offsets) {
    std::vector<Value*> args;
    for (std::size_t j = 0; j < operands.size(); ++j) args.push_back(f.load(kernel.inputs[j], offsets[j]));
    f.store(kernel.output, offsets.back(), compute(f, args));
  };
  if (groups == 0) scalar_once(f, [&] { body(start); });
  else strided_nest(f, dims, strides, start, body);
  f.finish();

  Launch launch{f.function, {}, {}};
  if (groups > 0) {
    launch.total = g.group_dims[0];
    for (std::size_t k = 1; k < groups; ++k)
      launch.work.insert(launch.work.end(), g.group_dims[k].begin(), g.group_dims[k].end());
  }
  return launch;
}

Value* clamp_index(FunctionBuilder& f, Value* index, Value* size) {
  auto& b = f.b;
  index = b.CreateSExt(index, f.i64());
  Value* wrapped = b.CreateSelect(b.CreateICmpSLT(index, f.constant(0)), b.CreateAdd(index, size), index);
  Value* upper = b.CreateSub(size, f.constant(1));
  Value* clamped = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                           b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, wrapped, f.constant(0)), upper);
  // An empty axis has no valid index; 0 is never read because the callers check the size.
  return b.CreateSelect(b.CreateICmpSGT(size, f.constant(0)), clamped, f.constant(0));
}

Value* zero_of(FunctionBuilder& f, DType dtype) { return llvm::Constant::getNullValue(value_type(f.context, dtype)); }

void fill_zero(FunctionBuilder& f, int slot, Value* count) {
  DType dtype = f.state.program.spec.slots[slot].dtype;
  f.loop(f.constant(0), count, [&](Value* i) { f.store(slot, i, zero_of(f, dtype)); });
}

Value* add_values(FunctionBuilder& f, Value* a, Value* b) {
  if (a->getType()->isFloatingPointTy()) return f.b.CreateFAdd(a, b);
  if (a->getType()->isIntegerTy(1)) return f.b.CreateOr(a, b);
  return f.b.CreateAdd(a, b);
}

// Sizes around an axis: the product of the dimensions before it and after it.
struct AxisSplit {
  Value* before;
  Value* size;
  Value* after;
};

AxisSplit split_at(FunctionBuilder& f, const Shape& shape, int axis) {
  std::vector<Dim> before(shape.begin(), shape.begin() + axis);
  std::vector<Dim> after(shape.begin() + axis + 1, shape.end());
  return {f.product(before), f.dim(shape[axis]), f.product(after)};
}

Launch emit_transpose(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("transpose"));
  const Node& node = *kernel.node;
  const Shape& in = node.input(0)->shape();
  std::vector<Value*> in_strides = contiguous_strides(f, in);
  std::vector<Value*> out_strides = contiguous_strides(f, node.shape());
  std::vector<Value*> dims;
  std::vector<std::vector<Value*>> strides(2);
  for (int i = 0; i < node.rank(); ++i) {
    dims.push_back(f.dim(node.shape()[i]));
    strides[0].push_back(in_strides[static_cast<std::size_t>(node.attr(i))]);
    strides[1].push_back(out_strides[i]);
  }
  strided_nest(f, dims, strides, {f.constant(0), f.constant(0)}, [&](const std::vector<Value*>& o) {
    f.store(kernel.output, o[1], f.load(kernel.inputs[0], o[0]));
  });
  f.finish();
  std::vector<Dim> rest(node.shape().begin() + 1, node.shape().end());
  return {f.function, {node.shape()[0]}, rest};
}

Launch emit_slice(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("slice"));
  const Node& node = *kernel.node;
  int axis = static_cast<int>(node.attr(0));
  std::vector<Value*> in_strides = contiguous_strides(f, node.input(0)->shape());
  std::vector<Value*> out_strides = contiguous_strides(f, node.shape());
  Value* base = f.b.CreateMul(f.constant(node.attr(1)), in_strides[axis]);
  in_strides[axis] = f.b.CreateMul(in_strides[axis], f.constant(node.attr(3)));
  std::vector<Value*> dims;
  for (const Dim& d : node.shape()) dims.push_back(f.dim(d));
  strided_nest(f, dims, {in_strides, out_strides}, {base, f.constant(0)}, [&](const std::vector<Value*>& o) {
    f.store(kernel.output, o[1], f.load(kernel.inputs[0], o[0]));
  });
  f.finish();
  std::vector<Dim> rest(node.shape().begin() + 1, node.shape().end());
  return {f.function, {node.shape()[0]}, rest};
}

Launch emit_slice_scatter(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("slice_scatter"));
  const Node& node = *kernel.node;
  int axis = static_cast<int>(node.attr(0));
  scalar_once(f, [&] {
    fill_zero(f, kernel.output, f.product(node.shape().dims()));
    std::vector<Value*> out_strides = contiguous_strides(f, node.shape());
    std::vector<Value*> src_strides = contiguous_strides(f, node.input(0)->shape());
    Value* base = f.b.CreateMul(f.constant(node.attr(1)), out_strides[axis]);
    out_strides[axis] = f.b.CreateMul(out_strides[axis], f.constant(node.attr(3)));
    std::vector<Value*> dims;
    for (const Dim& d : node.input(0)->shape()) dims.push_back(f.dim(d));
    strided_nest(f, dims, {src_strides, out_strides}, {f.constant(0), base},
                 [&](const std::vector<Value*>& o) { f.store(kernel.output, o[1], f.load(kernel.inputs[0], o[0])); },
                 0, false);
  });
  f.finish();
  return {f.function, {}, node.shape().dims()};
}

Launch emit_concatenate(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("concatenate"));
  const Node& node = *kernel.node;
  int axis = static_cast<int>(node.attr(0));
  scalar_once(f, [&] {
    std::vector<Value*> out_strides = contiguous_strides(f, node.shape());
    std::int64_t position = 0;
    for (std::size_t p = 0; p < node.input_count(); ++p) {
      const Shape& part = node.input(p)->shape();
      std::vector<Value*> dims;
      for (const Dim& d : part) dims.push_back(f.dim(d));
      Value* base = f.b.CreateMul(f.constant(position), out_strides[axis]);
      strided_nest(f, dims, {contiguous_strides(f, part), out_strides}, {f.constant(0), base},
                   [&](const std::vector<Value*>& o) { f.store(kernel.output, o[1], f.load(kernel.inputs[p], o[0])); },
                   0, false);
      position += part[axis].size();
    }
  });
  f.finish();
  return {f.function, {}, node.shape().dims()};
}

// take and index_add share one loop: rows of the output (or source) indexed by
// (before, index element, after).
Launch emit_take_like(ModuleState& state, const Kernel& kernel, bool scatter) {
  FunctionBuilder f(state, state.fresh_name(scatter ? "index_add" : "take"));
  const Node& node = *kernel.node;
  int axis = static_cast<int>(node.attr(0));
  const Node* data = scatter ? &node : node.input(0);
  const Node* indices = node.input(1);
  AxisSplit split = split_at(f, data->shape(), axis);
  Value* count = f.product(indices->shape().dims());
  int source = kernel.inputs[0];
  int index_slot = kernel.inputs[1];
  auto gather_row = [&](Value* p, Value* i) {
    Value* index = clamp_index(f, f.load(index_slot, i), split.size);
    Value* data_row = f.b.CreateMul(f.b.CreateAdd(f.b.CreateMul(p, split.size), index), split.after);
    Value* dense_row = f.b.CreateMul(f.b.CreateAdd(f.b.CreateMul(p, count), i), split.after);
    f.loop(f.constant(0), split.after, [&](Value* q) {
      if (scatter) {
        Value* target = f.b.CreateAdd(data_row, q);
        f.store(kernel.output, target, add_values(f, f.load(kernel.output, target), f.load(source, f.b.CreateAdd(dense_row, q))));
      } else {
        Value* loaded = f.load(source, f.b.CreateAdd(data_row, q));
        Value* value = f.b.CreateSelect(f.b.CreateICmpSGT(split.size, f.constant(0)), loaded, zero_of(f, node.dtype()));
        f.store(kernel.output, f.b.CreateAdd(dense_row, q), value);
      }
    });
  };
  if (scatter) {
    // Sequential, so that repeated indices add up in a fixed order.
    scalar_once(f, [&] {
      fill_zero(f, kernel.output, f.product(node.shape().dims()));
      f.loop(f.constant(0), split.before, [&](Value* p) { f.loop(f.constant(0), count, [&](Value* i) { gather_row(p, i); }); });
    });
  } else {
    f.loop(f.begin, f.end, [&](Value* row) {
      gather_row(f.b.CreateUDiv(row, count), f.b.CreateURem(row, count));
    });
  }
  f.finish();
  if (scatter) return {f.function, {}, node.shape().dims()};
  std::vector<Dim> total(data->shape().begin(), data->shape().begin() + axis);
  total.insert(total.end(), indices->shape().begin(), indices->shape().end());
  return {f.function, total, std::vector<Dim>(data->shape().begin() + axis + 1, data->shape().end())};
}

// take_along_axis and scatter_add_along_axis: one loop over the index tensor's broadcast
// shape (the output of take_along_axis, the source of the scatter).
Launch emit_along_axis(ModuleState& state, const Kernel& kernel, bool scatter) {
  FunctionBuilder f(state, state.fresh_name(scatter ? "scatter_add_along_axis" : "take_along_axis"));
  const Node& node = *kernel.node;
  int axis = static_cast<int>(node.attr(0));
  const Node* data = scatter ? &node : node.input(0);
  const Node* indices = node.input(1);
  const Shape& dense = scatter ? node.input(0)->shape() : node.shape();
  int rank = dense.rank();
  std::vector<Value*> data_strides = contiguous_strides(f, data->shape());
  std::vector<Value*> index_strides = contiguous_strides(f, indices->shape());
  std::vector<Value*> dense_strides = contiguous_strides(f, dense);
  std::vector<Value*> dims;
  for (int k = 0; k < rank; ++k) {
    dims.push_back(f.dim(dense[k]));
    if (data->shape()[k] == Dim(1) && dense[k] != Dim(1)) data_strides[k] = f.constant(0);
    if (indices->shape()[k] == Dim(1) && dense[k] != Dim(1)) index_strides[k] = f.constant(0);
  }
  Value* axis_size = f.dim(data->shape()[axis]);
  Value* axis_stride = data_strides[axis];
  data_strides[axis] = f.constant(0);
  auto body = [&](const std::vector<Value*>& o) {
    Value* index = clamp_index(f, f.load(kernel.inputs[1], o[1]), axis_size);
    Value* data_offset = f.b.CreateAdd(o[0], f.b.CreateMul(index, axis_stride));
    if (scatter) {
      f.store(kernel.output, data_offset, add_values(f, f.load(kernel.output, data_offset), f.load(kernel.inputs[0], o[2])));
      return;
    }
    Value* loaded = f.load(kernel.inputs[0], data_offset);
    Value* value = f.b.CreateSelect(f.b.CreateICmpSGT(axis_size, f.constant(0)), loaded, zero_of(f, node.dtype()));
    f.store(kernel.output, o[2], value);
  };
  std::vector<Value*> zero(3, f.constant(0));
  if (scatter) {
    scalar_once(f, [&] {
      fill_zero(f, kernel.output, f.product(node.shape().dims()));
      strided_nest(f, dims, {data_strides, index_strides, dense_strides}, zero, body, 0, false);
    });
  } else {
    strided_nest(f, dims, {data_strides, index_strides, dense_strides}, zero, body);
  }
  f.finish();
  if (scatter) return {f.function, {}, node.shape().dims()};
  std::vector<Dim> rest(dense.begin() + 1, dense.end());
  return {f.function, {dense[0]}, rest};
}

Launch emit_one_hot(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("one_hot"));
  const Node& node = *kernel.node;
  std::int64_t depth = node.attr(0);
  llvm::Type* type = value_type(f.context, node.dtype());
  Value* one = type->isFloatingPointTy() ? static_cast<Value*>(llvm::ConstantFP::get(type, 1.0))
                                         : static_cast<Value*>(llvm::ConstantInt::get(type, 1));
  f.loop(f.begin, f.end, [&](Value* row) {
    Value* index = f.b.CreateSExt(f.load(kernel.inputs[0], row), f.i64());
    f.loop(f.constant(0), f.constant(depth), [&](Value* d) {
      Value* hit = f.b.CreateICmpEQ(index, d);
      f.store(kernel.output, f.b.CreateAdd(f.b.CreateMul(row, f.constant(depth)), d),
              f.b.CreateSelect(hit, one, zero_of(f, node.dtype())));
    });
  });
  f.finish();
  return {f.function, node.input(0)->shape().dims(), {Dim(depth)}};
}

// Element i of a float32 draw is word i % 4 of the Philox4x32-10 block of counter i / 4.
// Element i of a float64 draw is words 2 (i % 2) and 2 (i % 2) + 1 of block i / 2. Both
// convert as philox::float_element and philox::double_element do, which the evaluator
// calls, so both backends give the same bits. Each whole block in the range is computed
// once for all its elements. A range that starts or ends inside a block computes that
// block again for each of its elements there.
Launch emit_random_uniform(ModuleState& state, const Kernel& kernel) {
  FunctionBuilder f(state, state.fresh_name("random_uniform"));
  const Node& node = *kernel.node;
  auto& b = f.b;
  llvm::Type* i32 = b.getInt32Ty();
  bool single = node.dtype() == DType::Float32;
  std::int64_t per_block = single ? 4 : 2;
  std::uint64_t shift = single ? 2 : 1;
  Value* key = b.CreateSExt(f.load(kernel.inputs[0], f.constant(0)), f.i64());
  Value* key_low = b.CreateTrunc(key, i32);
  Value* key_high = b.CreateTrunc(b.CreateLShr(key, 32), i32);

  auto word = [&](std::uint32_t v) { return b.getInt32(v); };
  auto high_and_low = [&](Value* x, std::uint32_t multiplier) {
    Value* product = b.CreateMul(b.CreateZExt(x, f.i64()), f.constant(multiplier));
    return std::pair{b.CreateTrunc(b.CreateLShr(product, 32), i32), b.CreateTrunc(product, i32)};
  };
  auto block_of = [&](Value* counter) {
    std::array<Value*, 4> c = {b.CreateTrunc(counter, i32), b.CreateTrunc(b.CreateLShr(counter, 32), i32),
                               word(static_cast<std::uint32_t>(node.attr(0))), word(0)};
    Value* k0 = key_low;
    Value* k1 = key_high;
    for (int round = 0; round < philox::kRounds; ++round) {
      if (round > 0) {
        k0 = b.CreateAdd(k0, word(philox::kKeyStep0));
        k1 = b.CreateAdd(k1, word(philox::kKeyStep1));
      }
      auto [high0, low0] = high_and_low(c[0], philox::kMultiplier0);
      auto [high1, low1] = high_and_low(c[2], philox::kMultiplier1);
      c = {b.CreateXor(b.CreateXor(high1, c[1]), k0), low1, b.CreateXor(b.CreateXor(high0, c[3]), k1), low0};
    }
    return c;
  };
  auto to_float = [&](Value* high, Value* low) -> Value* {
    if (single) {
      Value* bits = b.CreateLShr(high, 8);
      return b.CreateFMul(b.CreateUIToFP(bits, b.getFloatTy()), llvm::ConstantFP::get(b.getFloatTy(), 0x1p-24));
    }
    Value* bits = b.CreateOr(b.CreateShl(b.CreateZExt(high, f.i64()), 21), b.CreateZExt(b.CreateLShr(low, 11), f.i64()));
    return b.CreateFMul(b.CreateUIToFP(bits, b.getDoubleTy()), llvm::ConstantFP::get(b.getDoubleTy(), 0x1p-53));
  };

  // Positions count in the whole output: in a row block, element i of the block is element
  // first_row * row_size + i, so each draw is the same as without blocks.
  Value* block_start = f.constant(0);
  if (node.rank() > 0) {
    std::vector<Dim> row(node.shape().begin() + 1, node.shape().end());
    block_start = b.CreateMul(f.block_first_row(), f.product(row));
  }
  // One element at global position g, from its own block.
  auto one_element = [&](Value* g) {
    std::array<Value*, 4> c = block_of(b.CreateLShr(g, shift));
    Value* at = b.CreateAnd(g, f.constant(per_block - 1));
    Value* value;
    if (single) {
      Value* picked = c[3];
      for (int w = 2; w >= 0; --w) picked = b.CreateSelect(b.CreateICmpEQ(at, f.constant(w)), c[w], picked);
      value = to_float(picked, nullptr);
    } else {
      Value* odd = b.CreateICmpEQ(at, f.constant(1));
      value = to_float(b.CreateSelect(odd, c[2], c[0]), b.CreateSelect(odd, c[3], c[1]));
    }
    f.store(kernel.output, b.CreateSub(g, block_start), value);
  };
  // Every element of block j.
  auto whole_block = [&](Value* j) {
    std::array<Value*, 4> c = block_of(j);
    Value* first = b.CreateSub(b.CreateShl(j, shift), block_start);
    for (std::int64_t e = 0; e < per_block; ++e) {
      Value* value = single ? to_float(c[e], nullptr) : to_float(c[2 * e], c[2 * e + 1]);
      f.store(kernel.output, b.CreateAdd(first, f.constant(e)), value);
    }
  };

  if (node.rank() == 0) {
    scalar_once(f, [&] { one_element(f.constant(0)); });
  } else {
    Value* g0 = b.CreateAdd(block_start, f.begin);
    Value* g1 = b.CreateAdd(block_start, f.end);
    Value* first_whole = b.CreateLShr(b.CreateAdd(g0, f.constant(per_block - 1)), shift);
    Value* end_whole = b.CreateLShr(g1, shift);
    Value* head_end = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateShl(first_whole, shift), g1);
    Value* tail_start = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, b.CreateShl(end_whole, shift), head_end);
    // The head and the tail have fewer elements than a block.
    f.loop(g0, head_end, one_element, 1, false, false);
    f.loop(first_whole, end_whole, whole_block);
    f.loop(tail_start, g1, one_element, 1, false, false);
  }
  f.finish();
  return {f.function, node.rank() == 0 ? std::vector<Dim>{} : node.shape().dims(), {}};
}

}  // namespace

bool breaks_group(const std::vector<ViewCut>& cuts, int previous, int axis) {
  return std::any_of(cuts.begin(), cuts.end(), [&](const ViewCut& cut) {
    return (previous < cut.axis && cut.axis <= axis) ||
           (cut.strided && previous <= cut.axis && cut.axis < axis);
  });
}

ViewLayout view_layout(FunctionBuilder& f, const Node& view) {
  int axis = static_cast<int>(view.attr(0));
  ViewLayout layout{contiguous_strides(f, view.input(0)->shape()), nullptr};
  layout.base = f.b.CreateMul(f.constant(view.attr(1)), layout.strides[axis]);
  layout.strides[axis] = f.b.CreateMul(layout.strides[axis], f.constant(view.attr(3)));
  return layout;
}

Launch emit_elementwise(ModuleState& state, const Kernel& kernel) {
  const Node& node = *kernel.node;
  if (node.op() == OpKind::FusedElementwise) {
    const Node* body = node.attrs().body;
    return elementwise_kernel(state, kernel, "fused", [body](FunctionBuilder& f, const std::vector<Value*>& args) {
      return emit_body(f, body, args);
    });
  }
  return elementwise_kernel(state, kernel, std::string(op_name(node.op())),
                            [&node](FunctionBuilder& f, const std::vector<Value*>& args) {
                              return emit_scalar_op(f, node, args);
                            });
}

Launch emit_copy(ModuleState& state, const Kernel& kernel) {
  return elementwise_kernel(state, kernel, "copy",
                            [](FunctionBuilder&, const std::vector<Value*>& args) { return args[0]; });
}

Launch emit_layout(ModuleState& state, const Kernel& kernel) {
  switch (kernel.node->op()) {
  case OpKind::BroadcastTo: return emit_copy(state, kernel);
  case OpKind::Transpose: return emit_transpose(state, kernel);
  case OpKind::Slice: return emit_slice(state, kernel);
  case OpKind::SliceScatter: return emit_slice_scatter(state, kernel);
  case OpKind::Concatenate: return emit_concatenate(state, kernel);
  case OpKind::Take: return emit_take_like(state, kernel, false);
  case OpKind::IndexAdd: return emit_take_like(state, kernel, true);
  case OpKind::TakeAlongAxis: return emit_along_axis(state, kernel, false);
  case OpKind::ScatterAddAlongAxis: return emit_along_axis(state, kernel, true);
  case OpKind::OneHot: return emit_one_hot(state, kernel);
  case OpKind::RandomUniform: return emit_random_uniform(state, kernel);
  default: break;
  }
  fail_internal("emit_layout", fmt::format("no kernel for {}", op_name(kernel.node->op())));
}

}  // namespace damo::emit
