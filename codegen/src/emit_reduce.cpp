// Kernels that reduce: reductions over axis sets (fused or not), the softmax family and
// cross-entropies, and matrix products.
#include <fmt/format.h>
#include <llvm/IR/Intrinsics.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "emitter.h"

namespace damo::emit {

using llvm::Value;

namespace {

// Axis groups of a reduction's input space: adjacent axes merge when they are both reduced
// or both kept and every operand broadcasts them alike; static size-1 axes disappear.
// The axis a slice read in place cuts starts a new group, because the slice's rows lie a
// whole operand row apart.
struct ReductionSpace {
  std::vector<std::vector<Dim>> dims;
  std::vector<bool> reduced;
  std::vector<std::vector<bool>> broadcast;  // [group][operand]
  std::vector<int> last_axis;                // [group]: its innermost input axis
};

ReductionSpace group_reduction(const Shape& in, const std::vector<std::int64_t>& axes,
                               const std::vector<const Node*>& operands,
                               const std::vector<const Node*>& views) {
  std::vector<ViewCut> cuts;
  for (std::size_t j = 0; j < views.size(); ++j)
    if (views[j] != nullptr)
      cuts.push_back({static_cast<int>(views[j]->attr(0)) + in.rank() - operands[j]->rank(),
                      views[j]->attr(3) != 1});
  ReductionSpace space;
  for (int k = 0; k < in.rank(); ++k) {
    if (in[k].is_static() && in[k].size() == 1) continue;
    bool reduced = std::binary_search(axes.begin(), axes.end(), k);
    std::vector<bool> pattern;
    for (const Node* operand : operands) {
      int axis = k - (in.rank() - operand->rank());
      pattern.push_back(axis < 0 || operand->shape()[axis] == Dim(1));
    }
    if (!space.dims.empty() && space.reduced.back() == reduced &&
        space.broadcast.back() == pattern && !breaks_group(cuts, space.last_axis.back(), k)) {
      space.dims.back().push_back(in[k]);
      space.last_axis.back() = k;
      continue;
    }
    space.dims.push_back({in[k]});
    space.reduced.push_back(reduced);
    space.broadcast.push_back(pattern);
    space.last_axis.push_back(k);
  }
  return space;
}

// What a reduction computes per element of its input, and how it accumulates.
struct ReductionSpec {
  OpKind op;
  DType element_dtype;  // dtype of the values being reduced
  DType result_dtype;
  const Node* body = nullptr;  // fused body, or null for a plain load of operand 0
};

llvm::Type* accumulator_type(FunctionBuilder& f, const ReductionSpec& r) {
  // float32 sums accumulate in double, so a sum of millions of values keeps its accuracy.
  // Products do too, so that no partial product overflows or underflows in float32.
  if ((r.op == OpKind::Sum || r.op == OpKind::Mean || r.op == OpKind::Prod) &&
      r.element_dtype == DType::Float32)
    return f.b.getDoubleTy();
  if (r.op == OpKind::LogSumExp && r.element_dtype == DType::Float32) return f.b.getDoubleTy();
  return value_type(f.context, r.element_dtype);
}

Value* identity(FunctionBuilder& f, OpKind op, llvm::Type* type) {
  bool floating = type->isFloatingPointTy();
  switch (op) {
  case OpKind::Sum:
  case OpKind::Mean:
  case OpKind::Any: return llvm::Constant::getNullValue(type);
  case OpKind::Prod:
  case OpKind::All:
    return floating ? static_cast<Value*>(llvm::ConstantFP::get(type, 1.0))
                    : llvm::ConstantInt::get(type, 1);
  case OpKind::Max:
    if (floating) return llvm::ConstantFP::getInfinity(type, true);
    return type->isIntegerTy(1)
               ? llvm::ConstantInt::getFalse(type)
               : llvm::ConstantInt::get(type,
                                        llvm::APInt::getSignedMinValue(type->getIntegerBitWidth()));
  case OpKind::Min:
    if (floating) return llvm::ConstantFP::getInfinity(type, false);
    return type->isIntegerTy(1)
               ? llvm::ConstantInt::getTrue(type)
               : llvm::ConstantInt::get(type,
                                        llvm::APInt::getSignedMaxValue(type->getIntegerBitWidth()));
  default: break;
  }
  fail_internal("identity", fmt::format("no identity for {}", op_name(op)));
}

Value* combine(FunctionBuilder& f, OpKind op, Value* acc, Value* x) {
  auto& b = f.b;
  bool floating = acc->getType()->isFloatingPointTy();
  if (floating && x->getType() != acc->getType()) x = b.CreateFPExt(x, acc->getType());
  llvm::FastMathFlags reassociate;
  reassociate.setAllowReassoc();
  switch (op) {
  case OpKind::Sum:
  case OpKind::Mean:
    if (floating) {
      auto* sum = llvm::cast<llvm::Instruction>(b.CreateFAdd(acc, x));
      sum->setFastMathFlags(reassociate);
      return sum;
    }
    return b.CreateAdd(acc, x);
  case OpKind::Prod:
    // Float products keep their order, as in the evaluator: in another order a partial
    // product can overflow where the ordered one does not (and the reverse), which turns
    // the product of 1e30 and 1e-30 repeated into inf * 0 = NaN.
    return floating ? b.CreateFMul(acc, x) : b.CreateMul(acc, x);
  case OpKind::Max:
    if (floating) return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, acc, x);
    return acc->getType()->isIntegerTy(1) ? b.CreateOr(acc, x)
                                          : b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, x);
  case OpKind::Min:
    if (floating) return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, acc, x);
    return acc->getType()->isIntegerTy(1) ? b.CreateAnd(acc, x)
                                          : b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, acc, x);
  case OpKind::All: return b.CreateAnd(acc, x);
  case OpKind::Any: return b.CreateOr(acc, x);
  default: break;
  }
  fail_internal("combine", fmt::format("no accumulation for {}", op_name(op)));
}

// Converts an element to the type the reduction accumulates (bool for all/any).
Value* prepare_element(FunctionBuilder& f, OpKind op, Value* x, DType dtype) {
  if (op == OpKind::All || op == OpKind::Any) return emit_cast(f, x, dtype, DType::Bool);
  return x;
}

// Number of vector accumulators of a scalar reduction loop. With one, each step waits on
// the previous combine, and llvm.maximum becomes several dependent instructions on x86.
constexpr int kReductionInterleave = 4;

// Columns that argmax and argmin over a leading axis update together: their best values
// (at most 2 KiB) and positions stay in the L1 cache while the rows stream past.
constexpr std::int64_t kArgTileColumns = 256;
// Minimum number of columns for that strategy. At one thread, argmax over axis 0 of a
// 1,000,000 x 6 float32 matrix took 4.7 ms per output and 9.5 ms by tiles; 1,000,000 x 8
// took 10.3 ms per output and 2.5 ms by tiles.
constexpr std::int64_t kArgRowsMinColumns = 8;
// Vector accumulators of the one-pass argmax over rows (arg_extreme_vectors): independent
// chains of compare and select, so that each step need not wait on the previous one.
constexpr int kArgAccumulators = 4;

class ReductionEmitter {
 public:
  ReductionEmitter(ModuleState& state, const Kernel& kernel)
      : kernel_(kernel), f_(state, state.fresh_name(std::string(op_name(kernel.node->op())))) {
    const Node& node = *kernel.node;
    // A slice read in place stands for its operand's slot, with the slice's shape.
    for (std::size_t j = 0; j < kernel.inputs.size(); ++j) {
      const Node* view = kernel.views.empty() ? nullptr : kernel.views[j];
      views_.push_back(view);
      operands_.push_back(view != nullptr ? view : state.program.slot_nodes[kernel.inputs[j]]);
    }
    if (node.op() == OpKind::FusedReduction) {
      spec_ = {node.attrs().sub_op, node.attrs().body->dtype(), node.dtype(), node.attrs().body};
      Shape in = operands_[0]->shape();
      for (const Node* operand : operands_) in = *broadcast_shapes(in, operand->shape());
      in_shape_ = in;
    } else {
      spec_ = {node.op(), operands_[0]->dtype(), node.dtype(), nullptr};
      in_shape_ = operands_[0]->shape();
    }
    space_ = group_reduction(in_shape_, node.attrs().ints, operands_, views_);
  }

  Launch emit() {
    std::size_t groups = space_.dims.size();
    for (const auto& d : space_.dims) dims_.push_back(f_.product(d));
    // Operand strides per group; the output is contiguous over the kept groups.
    strides_.assign(operands_.size(), std::vector<Value*>(groups));
    starts_.assign(operands_.size(), f_.constant(0));
    for (std::size_t j = 0; j < operands_.size(); ++j) {
      if (views_[j] != nullptr) {
        ViewLayout layout = view_layout(f_, *views_[j]);
        starts_[j] = layout.base;
        int shift = in_shape_.rank() - operands_[j]->rank();
        for (std::size_t k = 0; k < groups; ++k)
          strides_[j][k] = space_.broadcast[k][j] ? f_.constant(0) : layout.strides[space_.last_axis[k] - shift];
        continue;
      }
      Value* stride = f_.constant(1);
      for (std::size_t k = groups; k-- > 0;) {
        strides_[j][k] = space_.broadcast[k][j] ? f_.constant(0) : stride;
        if (!space_.broadcast[k][j]) stride = f_.b.CreateMul(stride, dims_[k]);
      }
    }
    for (std::size_t k = 0; k < groups; ++k) (space_.reduced[k] ? reduced_ : kept_).push_back(k);

    bool arg = spec_.op == OpKind::ArgMax || spec_.op == OpKind::ArgMin;
    bool accumulate_rows = !kept_.empty() && kept_.back() == groups - 1 && !reduced_.empty() &&
                           spec_.op != OpKind::LogSumExp;
    Launch launch{f_.function, {}, {}};
    // argmax over a few columns is faster per output, where each column's positions are
    // close together.
    if (arg && accumulate_rows) {
      std::optional<std::int64_t> columns = static_size(space_.dims[kept_.back()]);
      accumulate_rows = !columns || *columns >= kArgRowsMinColumns;
    }
    if (accumulate_rows) {
      // Threads split the leading kept groups, or the columns of the last one when it is the
      // only one (a column sum, for example). argmax splits columns only in whole tiles, since
      // threads that share a tile of a row each read all of it.
      bool split_columns = kept_.size() == 1;
      if (arg && split_columns) {
        std::optional<std::int64_t> columns = static_size(space_.dims[kept_.back()]);
        split_columns = !columns || *columns >= 2 * kArgTileColumns;
      }
      if (arg)
        emit_arg_extreme_rows(split_columns);
      else
        emit_accumulate_rows();
      for (std::size_t i = 0; i + 1 < kept_.size(); ++i)
        append(launch.total, space_.dims[kept_[i]]);
      if (split_columns)
        append(launch.total, space_.dims[kept_.back()]);
      else
        append(launch.work, space_.dims[kept_.back()]);
    } else {
      emit_per_output();
      for (std::size_t k : kept_) append(launch.total, space_.dims[k]);
    }
    for (std::size_t k : reduced_) append(launch.work, space_.dims[k]);
    f_.finish();
    return launch;
  }

 private:
  static void append(std::vector<Dim>& to, const std::vector<Dim>& from) {
    to.insert(to.end(), from.begin(), from.end());
  }

  // Value of the reduction's input at the given operand offsets.
  Value* element(const std::vector<Value*>& offsets) {
    std::vector<Value*> args;
    for (std::size_t j = 0; j < operands_.size(); ++j)
      args.push_back(f_.load(kernel_.inputs[j], offsets[j]));
    if (spec_.body != nullptr) return emit_body(f_, spec_.body, args);
    return args[0];
  }

  // Operand offsets of a kept-group position, given each kept group's index.
  std::vector<Value*> kept_offsets(const std::vector<Value*>& kept_index) {
    std::vector<Value*> offsets = starts_;
    for (std::size_t i = 0; i < kept_.size(); ++i)
      for (std::size_t j = 0; j < operands_.size(); ++j)
        offsets[j] =
            f_.b.CreateAdd(offsets[j], f_.b.CreateMul(kept_index[i], strides_[j][kept_[i]]));
    return offsets;
  }

  // Splits a flat index over the given groups into one index per group (row-major).
  std::vector<Value*> unflatten(Value* flat, const std::vector<std::size_t>& groups) {
    std::vector<Value*> index(groups.size());
    for (std::size_t i = groups.size(); i-- > 0;) {
      if (i == 0) {
        index[i] = flat;
        break;
      }
      Value* size = dims_[groups[i]];
      index[i] = f_.b.CreateURem(flat, size);
      flat = f_.b.CreateUDiv(flat, size);
    }
    return index;
  }

  // Loops over every reduced position in row-major order; body gets the operand offsets.
  // The innermost loop gets the given interleave count.
  void reduced_nest(std::vector<Value*> offsets, std::size_t level,
                    const std::function<void(const std::vector<Value*>&)>& body, int interleave = 1,
                    bool unroll_innermost = true, bool fold_tail = false) {
    if (level == reduced_.size()) {
      body(offsets);
      return;
    }
    std::size_t group = reduced_[level];
    bool innermost = level + 1 == reduced_.size();
    f_.loop(
        f_.constant(0), dims_[group],
        [&](Value* r) {
          std::vector<Value*> inner = offsets;
          for (std::size_t j = 0; j < inner.size(); ++j)
            inner[j] = f_.b.CreateAdd(inner[j], f_.b.CreateMul(r, strides_[j][group]));
          reduced_nest(inner, level + 1, body, interleave, unroll_innermost, fold_tail);
        },
        innermost ? interleave : 1, !innermost || unroll_innermost, true, innermost && fold_tail);
  }

  // The number of reduced positions when every reduced dim is static.
  std::optional<std::int64_t> static_reduced_count() const {
    std::vector<Dim> dims;
    for (std::size_t k : reduced_) append(dims, space_.dims[k]);
    return static_size(dims);
  }

  // The product of dims when all are static and it fits in int64.
  static std::optional<std::int64_t> static_size(const std::vector<Dim>& dims) {
    std::int64_t count = 1;
    for (const Dim& d : dims) {
      if (!d.is_static()) return std::nullopt;
      if (d.size() != 0 && count > std::numeric_limits<std::int64_t>::max() / d.size()) return std::nullopt;
      count *= d.size();
    }
    return count;
  }

  Value* reduced_count() {
    std::vector<Dim> dims;
    for (std::size_t k : reduced_) append(dims, space_.dims[k]);
    return f_.product(dims);
  }

  // Returns whether the innermost reduced loop may be unrolled in full. A float sum over a
  // static row of 16 to 63 elements stays a loop, so LLVM vectorizes it along the row.
  // Unrolled, it was vectorized across rows with gathers, 3 to 18 times slower. LLVM does not
  // unroll rows of 64 or more in full.
  bool may_unroll_innermost(OpKind op) const {
    if (folds_tail(op)) return false;
    if (op != OpKind::Sum && op != OpKind::Mean) return true;
    if (!is_float(spec_.element_dtype) || reduced_.empty()) return true;
    std::optional<std::int64_t> length = static_size(space_.dims[reduced_.back()]);
    return !(length && *length >= 16 && *length < 64);
  }

  // Returns whether a float max or min folds the tail of its innermost loop, which must run
  // along contiguous elements of at least 16 when static: the vector loop then covers every
  // element, the last vector with masked loads. Scalar llvm.maximum is a chain of several
  // dependent instructions on x86, so a remainder of up to 63 floats left to a scalar loop
  // took most of the time. A row of 32 floats was all remainder.
  bool folds_tail(OpKind op) const {
    bool folds = op == OpKind::Max || op == OpKind::Min || op == OpKind::Sum || op == OpKind::Mean;
    if (!folds || !is_float(spec_.element_dtype)) return false;
    if (reduced_.empty() || reduced_.back() + 1 != space_.dims.size()) return false;
    for (const Node* view : views_)
      if (view != nullptr) return false;
    std::optional<std::int64_t> length = static_size(space_.dims[reduced_.back()]);
    return !length || *length >= 16;
  }

  // Accumulates a scalar over the reduced positions, in an alloca so loops can update it.
  Value* accumulate(const std::vector<Value*>& base, OpKind op, llvm::Type* type,
                    Value* shift = nullptr) {
    auto& b = f_.b;
    llvm::AllocaInst* acc = alloca_in_entry(type);
    b.CreateStore(identity(f_, op, type), acc);
    reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
      Value* x = prepare_element(f_, op, element(offsets), spec_.element_dtype);
      if (shift != nullptr) {
        // logsumexp's second pass: exp(x - max), in the element dtype.
        Value* e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFSub(x, shift));
        x = e;
      }
      b.CreateStore(combine(f_, op, b.CreateLoad(type, acc), x), acc);
    }, kReductionInterleave, may_unroll_innermost(op), folds_tail(op));
    return b.CreateLoad(type, acc);
  }

  llvm::AllocaInst* alloca_array_in_entry(llvm::Type* type, std::int64_t count) {
    llvm::IRBuilder<> entry(&f_.function->getEntryBlock(), f_.function->getEntryBlock().begin());
    return entry.CreateAlloca(type, entry.getInt64(static_cast<std::uint64_t>(count)));
  }

  llvm::AllocaInst* alloca_in_entry(llvm::Type* type) {
    llvm::IRBuilder<> entry(&f_.function->getEntryBlock(), f_.function->getEntryBlock().begin());
    return entry.CreateAlloca(type);
  }

  // Each output element reduces its own positions: the general strategy.
  void emit_per_output() {
    auto& b = f_.b;
    Value* low = kept_.empty() ? f_.constant(0) : f_.begin;
    Value* high = kept_.empty() ? f_.constant(1) : f_.end;
    auto per_output = [&](Value* out_index) {
      std::vector<Value*> base = kept_offsets(unflatten(out_index, kept_));
      Value* result = nullptr;
      llvm::Type* element_type = value_type(f_.context, spec_.element_dtype);
      switch (spec_.op) {
      case OpKind::ArgMax:
      case OpKind::ArgMin: result = arg_extreme(base); break;
      case OpKind::LogSumExp: {
        Value* max = accumulate(base, OpKind::Max, element_type);
        Value* finite = b.CreateFCmpONE(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, max),
                                        llvm::ConstantFP::getInfinity(element_type));
        // With an infinite maximum, shift by 0 so that exp sees the infinities themselves.
        Value* shift = b.CreateSelect(finite, max, llvm::ConstantFP::get(element_type, 0.0));
        Value* sum = accumulate(base, OpKind::Sum, accumulator_type(f_, spec_), shift);
        Value* log = b.CreateUnaryIntrinsic(llvm::Intrinsic::log, sum);
        result = b.CreateFAdd(b.CreateFPCast(log, element_type), shift);
        result = b.CreateSelect(
            finite, result,
            b.CreateSelect(
                b.CreateFCmpUNO(max, max), max,
                b.CreateSelect(b.CreateFCmpOGT(max, llvm::ConstantFP::get(element_type, 0.0)), max,
                               result)));
        break;
      }
      default: {
        llvm::Type* type = spec_.op == OpKind::All || spec_.op == OpKind::Any
                               ? b.getInt1Ty()
                               : accumulator_type(f_, spec_);
        Value* acc = accumulate(base, spec_.op, type);
        result = finalize(acc, reduced_count());
        break;
      }
      }
      f_.store(kernel_.output, out_index, result);
    };
    f_.loop(low, high, per_output);
  }

  // Converts an accumulator to the result: mean divides by the count; double sums of
  // float32 values round back to float32.
  Value* finalize(Value* acc, Value* count) {
    auto& b = f_.b;
    llvm::Type* result_type = value_type(f_.context, spec_.result_dtype);
    if (spec_.op == OpKind::Mean) {
      Value* n = b.CreateSIToFP(count, acc->getType());
      acc = b.CreateFDiv(acc, n);
    }
    if (acc->getType() != result_type && acc->getType()->isFloatingPointTy())
      return b.CreateFPCast(acc, result_type);
    return acc;
  }

  // First index of the extreme; a NaN beats every number and the first NaN wins. When the
  // reduced positions lie close together, two passes: the extreme value (max or min, which
  // propagate NaN), then the smallest position holding it. Each pass is a reduction the
  // vectorizer handles, where one pass that carries the best value and its index from
  // element to element runs serially (4.6 ns per float32 element against 0.3 ns, over the
  // rows of a 2048 x 2048 matrix at one thread). Far apart positions keep the single pass,
  // because there each element costs a cache miss and a second pass would double them.
  // A float operand along one contiguous group takes explicit vectors in one pass
  // (arg_extreme_vectors), and a leading axis of 8 or more columns goes by column tiles
  // (emit_arg_extreme_rows).
  Value* arg_extreme(const std::vector<Value*>& base) {
    if (reduced_.empty()) return arg_extreme_one_pass(base);
    if (Value* index = arg_extreme_vectors(base)) return index;
    bool contiguous = kept_.empty() || kept_.back() < reduced_.front();
    auto* stride = llvm::dyn_cast<llvm::ConstantInt>(strides_[0][reduced_.back()]);
    bool close = contiguous || (stride != nullptr && stride->getSExtValue() <= 16);
    if (!close) return arg_extreme_one_pass(base);
    auto& b = f_.b;
    bool is_max = spec_.op == OpKind::ArgMax;
    llvm::Type* type = value_type(f_.context, spec_.element_dtype);
    Value* extreme = accumulate(base, is_max ? OpKind::Max : OpKind::Min, type);

    // Positions count in 32 bits when the reduced length is static and fits, which halves
    // the vector work of the second pass.
    std::optional<std::int64_t> length = static_reduced_count();
    bool narrow = length && *length < std::numeric_limits<std::int32_t>::max();
    llvm::IntegerType* index_type = narrow ? b.getInt32Ty() : b.getInt64Ty();
    Value* none = llvm::ConstantInt::get(index_type, narrow ? std::numeric_limits<std::int32_t>::max()
                                                            : std::numeric_limits<std::int64_t>::max());
    llvm::AllocaInst* first = alloca_in_entry(index_type);
    llvm::AllocaInst* position = alloca_in_entry(index_type);
    b.CreateStore(none, first);
    b.CreateStore(llvm::ConstantInt::get(index_type, 0), position);
    reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
      Value* x = element(offsets);
      Value* match;
      if (type->isFloatingPointTy())
        match = b.CreateSelect(b.CreateFCmpUNO(extreme, extreme), b.CreateFCmpUNO(x, x),
                               b.CreateFCmpOEQ(x, extreme));
      else
        match = b.CreateICmpEQ(x, extreme);
      Value* p = b.CreateLoad(index_type, position);
      Value* candidate = b.CreateSelect(match, p, none);
      b.CreateStore(b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateLoad(index_type, first), candidate),
                    first);
      b.CreateStore(b.CreateAdd(p, llvm::ConstantInt::get(index_type, 1)), position);
    }, kReductionInterleave);

    // No position (an empty reduction) gives -1, as in the single pass.
    Value* index = b.CreateLoad(index_type, first);
    Value* found = b.CreateSExt(index, f_.i64());
    return b.CreateSelect(b.CreateICmpEQ(index, none), f_.constant(-1), found);
  }

  // arg_extreme of a float operand over one reduced group of unit stride (argmax over rows,
  // for example), in one pass of explicit vectors. Each lane of kArgAccumulators vector
  // pairs keeps its best value and that value's first position, taking a later element only
  // when it beats the best strictly, or is a NaN over a number. The pairs then merge lane by
  // lane, equal values going to the smaller position, and the positions past the last whole
  // vector step run as scalars. Null when the operand does not fit.
  Value* arg_extreme_vectors(const std::vector<Value*>& base) {
    auto* unit = llvm::dyn_cast<llvm::ConstantInt>(strides_[0][reduced_.back()]);
    bool fits = spec_.body == nullptr && operands_.size() == 1 && reduced_.size() == 1 &&
                is_float(spec_.element_dtype) && unit != nullptr && unit->getSExtValue() == 1;
    if (!fits) return nullptr;
    auto& b = f_.b;
    bool is_max = spec_.op == OpKind::ArgMax;
    llvm::Type* scalar = value_type(f_.context, spec_.element_dtype);
    const auto lanes = static_cast<unsigned>(f_.state.vector_bytes / dtype_size(spec_.element_dtype));
    // Rows known to be short get fewer accumulators, so that fewer positions are left over.
    // Rows shorter than one vector keep the scalar passes.
    std::optional<std::int64_t> length = static_reduced_count();
    if (length && *length < static_cast<std::int64_t>(lanes)) return nullptr;
    int accumulators = length ? static_cast<int>(std::clamp<std::int64_t>(*length / lanes, 1, kArgAccumulators))
                              : kArgAccumulators;
    const std::int64_t step = static_cast<std::int64_t>(lanes) * accumulators;
    bool narrow = length && *length < std::numeric_limits<std::int32_t>::max();
    llvm::IntegerType* index_type = narrow ? b.getInt32Ty() : b.getInt64Ty();
    auto* value_vector = llvm::FixedVectorType::get(scalar, lanes);
    auto* index_vector = llvm::FixedVectorType::get(index_type, lanes);
    std::vector<llvm::Constant*> lane_numbers;
    for (unsigned i = 0; i < lanes; ++i) lane_numbers.push_back(llvm::ConstantInt::get(index_type, i));
    Value* lane_index = llvm::ConstantVector::get(lane_numbers);
    int input = kernel_.inputs[0];
    Value* count = reduced_count();

    // Whether a beats current: current is a number, and a is better or a NaN (an unordered
    // comparison is true for a NaN). Works on vectors too.
    auto beats_value = [&](Value* a, Value* current) {
      Value* better = is_max ? b.CreateFCmpUGT(a, current) : b.CreateFCmpULT(a, current);
      return b.CreateAnd(b.CreateFCmpORD(current, current), better);
    };
    // Whether pair (a, at) replaces pair (current, current_at): it beats it, or the values
    // are equal (both NaN counts as equal) at a smaller position.
    auto replaces = [&](Value* a, Value* at, Value* current, Value* current_at) {
      Value* same = b.CreateOr(b.CreateFCmpOEQ(a, current),
                               b.CreateAnd(b.CreateFCmpUNO(a, a), b.CreateFCmpUNO(current, current)));
      return b.CreateOr(beats_value(a, current), b.CreateAnd(same, b.CreateICmpSLT(at, current_at)));
    };

    llvm::AllocaInst* result = alloca_in_entry(f_.i64());
    b.CreateStore(f_.constant(-1), result);
    f_.if_then(b.CreateICmpSGT(count, f_.constant(0)), [&] {
      // Every lane starts from the row's first element, a real candidate at position 0.
      Value* first = f_.load(input, base[0]);
      // A row shorter than one step runs as scalars only.
      llvm::AllocaInst* tail_best = alloca_in_entry(scalar);
      llvm::AllocaInst* tail_at = alloca_in_entry(f_.i64());
      b.CreateStore(first, tail_best);
      b.CreateStore(f_.constant(0), tail_at);
      Value* steps = b.CreateSDiv(count, f_.constant(step));
      f_.if_then(b.CreateICmpSGT(steps, f_.constant(0)), [&] {
        // best[k], best_at[k]: accumulator k's values and positions. at[k]: the positions that
        // its next load reads.
        std::vector<llvm::AllocaInst*> best, best_at, at;
        Value* step_vector = b.CreateVectorSplat(lanes, llvm::ConstantInt::get(index_type, static_cast<std::uint64_t>(step)));
        for (int k = 0; k < accumulators; ++k) {
          best.push_back(alloca_in_entry(value_vector));
          best_at.push_back(alloca_in_entry(index_vector));
          at.push_back(alloca_in_entry(index_vector));
          b.CreateStore(b.CreateVectorSplat(lanes, first), best.back());
          b.CreateStore(llvm::Constant::getNullValue(index_vector), best_at.back());
          Value* offset = llvm::ConstantInt::get(index_type, static_cast<std::uint64_t>(k) * lanes);
          b.CreateStore(b.CreateAdd(lane_index, b.CreateVectorSplat(lanes, offset)), at.back());
        }
        llvm::Align align(static_cast<std::uint64_t>(dtype_size(spec_.element_dtype)));
        f_.loop(f_.constant(0), steps, [&](Value* s) {
          Value* start = b.CreateMul(s, f_.constant(step));
          for (std::size_t k = 0; k < best.size(); ++k) {
            Value* offset = b.CreateAdd(base[0], b.CreateAdd(start, f_.constant(static_cast<std::int64_t>(k) * lanes)));
            auto* load = b.CreateAlignedLoad(value_vector, f_.element_pointer(input, offset), align);
            f_.tag_access(load, input);
            Value* positions = b.CreateLoad(index_vector, at[k]);
            Value* current = b.CreateLoad(value_vector, best[k]);
            Value* take = beats_value(load, current);
            b.CreateStore(b.CreateSelect(take, load, current), best[k]);
            b.CreateStore(b.CreateSelect(take, positions, b.CreateLoad(index_vector, best_at[k])), best_at[k]);
            b.CreateStore(b.CreateAdd(positions, step_vector), at[k]);
          }
        }, 1, false);

        // Merge the accumulators, then the lanes, then the scalars past the last whole step.
        Value* values = b.CreateLoad(value_vector, best[0]);
        Value* positions = b.CreateLoad(index_vector, best_at[0]);
        for (std::size_t k = 1; k < best.size(); ++k) {
          Value* other = b.CreateLoad(value_vector, best[k]);
          Value* other_at = b.CreateLoad(index_vector, best_at[k]);
          Value* take = replaces(other, other_at, values, positions);
          values = b.CreateSelect(take, other, values);
          positions = b.CreateSelect(take, other_at, positions);
        }
        // Lane i merges with lane i + width, halving the width, until lane 0 has the best pair.
        for (unsigned width = lanes / 2; width >= 1; width /= 2) {
          std::vector<int> upper(lanes);
          for (unsigned i = 0; i < lanes; ++i) upper[i] = static_cast<int>((i + width) % lanes);
          Value* other = b.CreateShuffleVector(values, upper);
          Value* other_at = b.CreateShuffleVector(positions, upper);
          Value* take = replaces(other, other_at, values, positions);
          values = b.CreateSelect(take, other, values);
          positions = b.CreateSelect(take, other_at, positions);
        }
        b.CreateStore(b.CreateExtractElement(values, std::uint64_t{0}), tail_best);
        b.CreateStore(b.CreateZExt(b.CreateExtractElement(positions, std::uint64_t{0}), f_.i64()), tail_at);
      });
      f_.loop(b.CreateMul(steps, f_.constant(step)), count, [&](Value* p) {
        Value* x = f_.load(input, b.CreateAdd(base[0], p));
        Value* current = b.CreateLoad(scalar, tail_best);
        Value* take = beats_value(x, current);
        b.CreateStore(b.CreateSelect(take, x, current), tail_best);
        b.CreateStore(b.CreateSelect(take, p, b.CreateLoad(f_.i64(), tail_at)), tail_at);
      }, 1, false);
      b.CreateStore(b.CreateLoad(f_.i64(), tail_at), result);
    });
    return b.CreateLoad(f_.i64(), result);
  }

  // arg_extreme in one pass that keeps the best value and its index.
  Value* arg_extreme_one_pass(const std::vector<Value*>& base) {
    auto& b = f_.b;
    bool is_max = spec_.op == OpKind::ArgMax;
    llvm::Type* type = value_type(f_.context, spec_.element_dtype);
    llvm::AllocaInst* best = alloca_in_entry(type);
    llvm::AllocaInst* best_index = alloca_in_entry(f_.i64());
    llvm::AllocaInst* position = alloca_in_entry(f_.i64());
    b.CreateStore(f_.constant(-1), best_index);
    b.CreateStore(f_.constant(0), position);
    b.CreateStore(llvm::Constant::getNullValue(type), best);
    reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
      Value* x = element(offsets);
      Value* current = b.CreateLoad(type, best);
      Value* index = b.CreateLoad(f_.i64(), best_index);
      Value* first = b.CreateICmpSLT(index, f_.constant(0));
      Value* take = b.CreateOr(first, beats(x, current, is_max));
      Value* p = b.CreateLoad(f_.i64(), position);
      b.CreateStore(b.CreateSelect(take, x, current), best);
      b.CreateStore(b.CreateSelect(take, p, index), best_index);
      b.CreateStore(b.CreateAdd(p, f_.constant(1)), position);
    });
    return b.CreateLoad(f_.i64(), best_index);
  }

  // Runs body for each output row in [low, high): the operand offsets of the row's first
  // column, and the row's offset in the output.
  void for_each_kept_row(const std::vector<std::size_t>& prefix, Value* row_length, Value* low, Value* high,
                         const std::function<void(const std::vector<Value*>&, Value*)>& body) {
    f_.loop(low, high, [&](Value* p) {
      std::vector<Value*> kept_index = unflatten(p, prefix);
      kept_index.push_back(f_.constant(0));
      body(kept_offsets(kept_index), f_.b.CreateMul(p, row_length));
    });
  }

  // The last kept group is contiguous in the output: each reduced position adds a whole
  // row of it, a loop the vectorizer handles well (column sums, for example).
  void emit_accumulate_rows() {
    auto& b = f_.b;
    std::vector<std::size_t> prefix(kept_.begin(), kept_.end() - 1);
    std::size_t last = kept_.back();
    Value* row_length = dims_[last];
    // Without leading kept groups the chunk is a range of columns of the one output row.
    Value* low = prefix.empty() ? f_.constant(0) : f_.begin;
    Value* high = prefix.empty() ? f_.constant(1) : f_.end;
    Value* first_column = prefix.empty() ? f_.begin : f_.constant(0);
    Value* end_column = prefix.empty() ? f_.end : row_length;
    llvm::Type* type = value_type(f_.context, spec_.op == OpKind::All || spec_.op == OpKind::Any
                                                  ? DType::Bool
                                                  : spec_.element_dtype);
    llvm::Type* wide = accumulator_type(f_, spec_);
    if (spec_.op != OpKind::All && spec_.op != OpKind::Any && wide != type) {
      // A plain float32 column sum over contiguous columns keeps its double sums in vector
      // registers; other sums go through a double array on the stack.
      auto* unit = llvm::dyn_cast<llvm::ConstantInt>(strides_[0][last]);
      bool contiguous = unit != nullptr && unit->getSExtValue() == 1;
      if (spec_.body == nullptr && operands_.size() == 1 && contiguous && type->isFloatTy())
        emit_accumulate_rows_vectors(prefix, row_length, low, high, first_column, end_column);
      else
        emit_accumulate_rows_wide(prefix, row_length, low, high, first_column, end_column, wide);
      return;
    }
    for_each_kept_row(prefix, row_length, low, high, [&](const std::vector<Value*>& base, Value* out_row) {
      f_.loop(first_column, end_column, [&](Value* q) {
        f_.store(kernel_.output, b.CreateAdd(out_row, q), identity(f_, spec_.op, type));
      });
      reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
        f_.loop(first_column, end_column, [&](Value* q) {
          std::vector<Value*> at = offsets;
          for (std::size_t j = 0; j < at.size(); ++j)
            at[j] = b.CreateAdd(at[j], b.CreateMul(q, strides_[j][last]));
          Value* target = b.CreateAdd(out_row, q);
          Value* x = prepare_element(f_, spec_.op, element(at), spec_.element_dtype);
          f_.store(kernel_.output, target,
                   combine(f_, spec_.op, f_.load(kernel_.output, target), x));
        });
      });
      if (spec_.op == OpKind::Mean) {
        Value* count = b.CreateSIToFP(reduced_count(), type);
        f_.loop(first_column, end_column, [&](Value* q) {
          Value* target = b.CreateAdd(out_row, q);
          f_.store(kernel_.output, target, b.CreateFDiv(f_.load(kernel_.output, target), count));
        });
      }
    });
  }

  // argmax or argmin where the last kept group is contiguous (argmax over axis 0, for
  // example): each reduced position updates a tile of columns at once, keeping the best
  // values in a stack array and their positions in the output. A column takes the value
  // at a position when it has none yet, or the value beats the best strictly, or the value
  // is the first NaN. So ties and NaNs give the first position, as in arg_extreme().
  // Without split_columns, one call covers every column.
  void emit_arg_extreme_rows(bool split_columns) {
    auto& b = f_.b;
    std::vector<std::size_t> prefix(kept_.begin(), kept_.end() - 1);
    Value* row_length = dims_[kept_.back()];
    Value* low = prefix.empty() ? f_.constant(0) : f_.begin;
    Value* high = prefix.empty() ? f_.constant(1) : f_.end;
    Value* first_column = split_columns ? f_.begin : f_.constant(0);
    Value* end_column = split_columns ? f_.end : row_length;
    bool is_max = spec_.op == OpKind::ArgMax;
    llvm::Type* type = value_type(f_.context, spec_.element_dtype);
    llvm::AllocaInst* best = alloca_array_in_entry(type, kArgTileColumns);
    llvm::AllocaInst* position = alloca_in_entry(f_.i64());
    Value* tile = f_.constant(kArgTileColumns);

    for_each_kept_row(prefix, row_length, low, high, [&](const std::vector<Value*>& base, Value* out_row) {
      Value* columns = b.CreateSub(end_column, first_column);
      Value* tiles = b.CreateUDiv(b.CreateAdd(columns, f_.constant(kArgTileColumns - 1)), tile);
      f_.loop(f_.constant(0), tiles, [&](Value* t) {
        Value* start = b.CreateAdd(first_column, b.CreateMul(t, tile));
        Value* stop = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(start, tile), end_column);
        f_.loop(start, stop, [&](Value* q) {
          f_.store(kernel_.output, b.CreateAdd(out_row, q), f_.constant(-1));
        });
        b.CreateStore(f_.constant(0), position);
        reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
          Value* p = b.CreateLoad(f_.i64(), position);
          f_.loop(start, stop, [&](Value* q) {
            std::vector<Value*> at = offsets;
            for (std::size_t j = 0; j < at.size(); ++j)
              at[j] = b.CreateAdd(at[j], b.CreateMul(q, strides_[j][kept_.back()]));
            Value* x = element(at);
            Value* slot = b.CreateGEP(type, best, b.CreateSub(q, start));
            Value* current = b.CreateLoad(type, slot);
            Value* target = b.CreateAdd(out_row, q);
            Value* index = f_.load(kernel_.output, target);
            Value* take = b.CreateOr(b.CreateICmpSLT(index, f_.constant(0)), beats(x, current, is_max));
            b.CreateStore(b.CreateSelect(take, x, current), slot);
            f_.store(kernel_.output, target, b.CreateSelect(take, p, index));
          }, 1, /*unroll=*/false);
          b.CreateStore(b.CreateAdd(p, f_.constant(1)), position);
        });
      });
    });
  }

  // Whether x replaces current as the best value of argmax (is_max) or argmin: strictly
  // greater or smaller, or the first NaN.
  Value* beats(Value* x, Value* current, bool is_max) {
    auto& b = f_.b;
    llvm::Type* type = x->getType();
    if (type->isFloatingPointTy()) {
      Value* strictly = is_max ? b.CreateFCmpOGT(x, current) : b.CreateFCmpOLT(x, current);
      Value* nan_now = b.CreateAnd(b.CreateFCmpUNO(x, x), b.CreateFCmpORD(current, current));
      return b.CreateOr(strictly, nan_now);
    }
    if (type->isIntegerTy(1)) return is_max ? b.CreateICmpUGT(x, current) : b.CreateICmpULT(x, current);
    return is_max ? b.CreateICmpSGT(x, current) : b.CreateICmpSLT(x, current);
  }

  // emit_accumulate_rows for a float32 sum, mean or product of one contiguous operand.
  // Columns go in chunks of up to four float vectors. Their sums (products) accumulate in
  // twice as many double vectors, kept in registers while the loop runs down the rows, and
  // round once into the output. Each column still adds (multiplies) its rows in order.
  void emit_accumulate_rows_vectors(const std::vector<std::size_t>& prefix, Value* row_length, Value* low,
                                    Value* high, Value* first_column, Value* end_column) {
    auto& b = f_.b;
    const int lanes = f_.state.vector_bytes / 4;  // floats in a vector
    // Fewer vectors when the rows are known to be short (3 classes, say).
    int float_vectors = 4;
    std::int64_t known_length = 1;
    bool known = true;
    for (const Dim& d : space_.dims[kept_.back()]) {
      known = known && d.is_static();
      if (d.is_static()) known_length *= d.size();
    }
    if (known) float_vectors = static_cast<int>(std::clamp<std::int64_t>((known_length + lanes - 1) / lanes, 1, 4));
    const std::int64_t chunk = static_cast<std::int64_t>(lanes) * float_vectors;
    auto* floats = llvm::FixedVectorType::get(b.getFloatTy(), static_cast<unsigned>(lanes));
    auto* doubles = llvm::FixedVectorType::get(b.getDoubleTy(), static_cast<unsigned>(lanes / 2));
    std::vector<llvm::AllocaInst*> sums;
    for (int v = 0; v < 2 * float_vectors; ++v) sums.push_back(alloca_in_entry(doubles));
    std::vector<llvm::Constant*> lane_numbers;
    for (int i = 0; i < lanes; ++i) lane_numbers.push_back(b.getInt64(static_cast<std::uint64_t>(i)));
    Value* lane_index = llvm::ConstantVector::get(lane_numbers);
    std::vector<int> low_half, high_half;
    for (int i = 0; i < lanes / 2; ++i) {
      low_half.push_back(i);
      high_half.push_back(i + lanes / 2);
    }
    llvm::Align align(4);
    Value* columns = b.CreateSub(end_column, first_column);
    Value* chunks = b.CreateUDiv(b.CreateAdd(columns, f_.constant(chunk - 1)), f_.constant(chunk));
    for_each_kept_row(prefix, row_length, low, high, [&](const std::vector<Value*>& base, Value* out_row) {
      f_.loop(f_.constant(0), chunks, [&](Value* c) {
        Value* start = b.CreateAdd(first_column, b.CreateMul(c, f_.constant(chunk)));
        Value* left = b.CreateSub(end_column, start);
        // Lanes of float vector v that hold columns of this chunk.
        std::vector<Value*> masks;
        for (int v = 0; v < float_vectors; ++v) {
          Value* remaining = b.CreateSub(left, f_.constant(static_cast<std::int64_t>(v) * lanes));
          masks.push_back(b.CreateICmpSLT(lane_index, b.CreateVectorSplat(static_cast<unsigned>(lanes), remaining)));
        }
        bool product = spec_.op == OpKind::Prod;
        Value* start_value = product ? llvm::ConstantFP::get(doubles, 1.0) : llvm::Constant::getNullValue(doubles);
        for (llvm::AllocaInst* sum : sums) b.CreateStore(start_value, sum);
        reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
          Value* row_start = b.CreateAdd(offsets[0], start);
          for (int v = 0; v < float_vectors; ++v) {
            Value* pointer = f_.element_pointer(kernel_.inputs[0], b.CreateAdd(row_start, f_.constant(static_cast<std::int64_t>(v) * lanes)));
            auto* load = b.CreateMaskedLoad(floats, pointer, align, masks[static_cast<std::size_t>(v)],
                                            llvm::Constant::getNullValue(floats));
            f_.tag_access(load, kernel_.inputs[0]);
            for (int half = 0; half < 2; ++half) {
              Value* part = b.CreateFPExt(b.CreateShuffleVector(load, half == 0 ? low_half : high_half), doubles);
              llvm::AllocaInst* sum = sums[static_cast<std::size_t>(2 * v + half)];
              Value* previous = b.CreateLoad(doubles, sum);
              b.CreateStore(product ? b.CreateFMul(previous, part) : b.CreateFAdd(previous, part), sum);
            }
          }
        });
        Value* count = b.CreateSIToFP(reduced_count(), b.getDoubleTy());
        for (int v = 0; v < float_vectors; ++v) {
          Value* low_sum = b.CreateLoad(doubles, sums[static_cast<std::size_t>(2 * v)]);
          Value* high_sum = b.CreateLoad(doubles, sums[static_cast<std::size_t>(2 * v + 1)]);
          std::vector<int> both;
          for (int i = 0; i < lanes; ++i) both.push_back(i);
          Value* sum = b.CreateShuffleVector(low_sum, high_sum, both);
          if (spec_.op == OpKind::Mean) sum = b.CreateFDiv(sum, b.CreateVectorSplat(static_cast<unsigned>(lanes), count));
          Value* pointer = f_.element_pointer(kernel_.output, b.CreateAdd(out_row, b.CreateAdd(start, f_.constant(static_cast<std::int64_t>(v) * lanes))));
          auto* store = b.CreateMaskedStore(b.CreateFPTrunc(sum, floats), pointer, align, masks[static_cast<std::size_t>(v)]);
          f_.tag_access(store, kernel_.output);
        }
      });
    });
  }

  // emit_accumulate_rows for float32 sums, which accumulate in double: a tile of columns at
  // a time adds up in a double array on the stack, then rounds once into the output.
  void emit_accumulate_rows_wide(const std::vector<std::size_t>& prefix, Value* row_length, Value* low,
                                 Value* high, Value* first_column, Value* end_column, llvm::Type* wide) {
    auto& b = f_.b;
    constexpr std::int64_t kTile = 512;  // 4 KiB of doubles, which stay in the first-level cache
    llvm::AllocaInst* tile = alloca_in_entry(llvm::ArrayType::get(wide, kTile));
    Value* columns = b.CreateSub(end_column, first_column);
    Value* tiles = b.CreateUDiv(b.CreateAdd(columns, f_.constant(kTile - 1)), f_.constant(kTile));
    auto slot = [&](Value* column) { return b.CreateGEP(wide, tile, {column}); };
    for_each_kept_row(prefix, row_length, low, high, [&](const std::vector<Value*>& base, Value* out_row) {
      f_.loop(f_.constant(0), tiles, [&](Value* t) {
        Value* start = b.CreateAdd(first_column, b.CreateMul(t, f_.constant(kTile)));
        Value* stop = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(start, f_.constant(kTile)), end_column);
        Value* length = b.CreateSub(stop, start);
        f_.loop(f_.constant(0), length, [&](Value* c) { b.CreateStore(identity(f_, spec_.op, wide), slot(c)); });
        reduced_nest(base, 0, [&](const std::vector<Value*>& offsets) {
          f_.loop(f_.constant(0), length, [&](Value* c) {
            Value* q = b.CreateAdd(start, c);
            std::vector<Value*> at = offsets;
            for (std::size_t j = 0; j < at.size(); ++j) at[j] = b.CreateAdd(at[j], b.CreateMul(q, strides_[j][kept_.back()]));
            Value* x = prepare_element(f_, spec_.op, element(at), spec_.element_dtype);
            b.CreateStore(combine(f_, spec_.op, b.CreateLoad(wide, slot(c)), x), slot(c));
          });
        });
        f_.loop(f_.constant(0), length, [&](Value* c) {
          Value* target = b.CreateAdd(out_row, b.CreateAdd(start, c));
          f_.store(kernel_.output, target, finalize(b.CreateLoad(wide, slot(c)), reduced_count()));
        });
      });
    });
  }

  const Kernel& kernel_;
  FunctionBuilder f_;
  std::vector<const Node*> operands_;
  std::vector<const Node*> views_;  // per operand: the slice read in place, or null
  std::vector<Value*> starts_;      // per operand: the offset of its first element
  ReductionSpec spec_{};
  Shape in_shape_;
  ReductionSpace space_;
  std::vector<Value*> dims_;
  std::vector<std::vector<Value*>> strides_;
  std::vector<std::size_t> kept_;
  std::vector<std::size_t> reduced_;
};

}  // namespace

Launch emit_reduction(ModuleState& state, const Kernel& kernel) {
  if (std::optional<Launch> tiles = emit_logsumexp_tiles(state, kernel)) return *tiles;
  return ReductionEmitter(state, kernel).emit();
}

}  // namespace damo::emit
