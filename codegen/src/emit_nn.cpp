// Kernels for matrix products (with fused bias and activation) and for the softmax family
// and cross-entropies, which work row by row along one axis.
#include <fmt/format.h>
#include <llvm/IR/Intrinsics.h>

#include "emitter.h"

namespace damo::emit {

using llvm::Value;

namespace {

// Products with fewer multiply-adds than this run as generated loops: an OpenBLAS call
// costs more than the arithmetic at that size.
constexpr std::int64_t kBlasThreshold = 32768;

struct MatrixOperand {
  int slot;
  std::vector<Dim> batch;
  Value* rows;          // rows of op(X)
  Value* cols;          // columns of op(X)
  Value* row_stride;    // element distance between rows of op(X)
  Value* col_stride;    // element distance between columns of op(X)
  Value* matrix_size;   // elements of one stored matrix
  bool transposed;      // whether op(X) reads the stored matrix transposed
};

MatrixOperand matrix_operand(FunctionBuilder& f, const Node* node, int slot, bool transpose, bool left) {
  const Shape& s = node->shape();
  MatrixOperand m{slot, {}, nullptr, nullptr, nullptr, nullptr, nullptr, false};
  if (s.rank() == 1) {
    // A vector is a 1 x K row on the left and a K x 1 column on the right.
    Value* k = f.dim(s[0]);
    m.rows = left ? f.constant(1) : k;
    m.cols = left ? k : f.constant(1);
    m.row_stride = left ? k : f.constant(1);
    m.col_stride = left ? f.constant(1) : f.constant(1);
    m.matrix_size = k;
    return m;
  }
  m.batch.assign(s.begin(), s.end() - 2);
  Value* stored_rows = f.dim(s[s.rank() - 2]);
  Value* stored_cols = f.dim(s[s.rank() - 1]);
  m.matrix_size = f.b.CreateMul(stored_rows, stored_cols);
  m.transposed = transpose;
  m.rows = transpose ? stored_cols : stored_rows;
  m.cols = transpose ? stored_rows : stored_cols;
  m.row_stride = transpose ? f.constant(1) : stored_cols;
  m.col_stride = transpose ? stored_cols : f.constant(1);
  return m;
}

// Offset of the matrix for output batch index `batch` in an operand with broadcast batch
// dimensions (right-aligned against the output's).
Value* batch_offset(FunctionBuilder& f, const std::vector<Dim>& out_batch, const std::vector<Dim>& batch,
                    Value* flat, Value* matrix_size) {
  Value* offset = f.constant(0);
  Value* stride = matrix_size;
  std::size_t shift = out_batch.size() - batch.size();
  for (std::size_t i = out_batch.size(); i-- > 0;) {
    Value* size = f.dim(out_batch[i]);
    Value* index = f.b.CreateURem(flat, size);
    flat = f.b.CreateUDiv(flat, size);
    if (i < shift) continue;
    const Dim& own = batch[i - shift];
    if (own == Dim(1) && out_batch[i] != Dim(1)) continue;
    offset = f.b.CreateAdd(offset, f.b.CreateMul(index, stride));
    stride = f.b.CreateMul(stride, f.dim(own));
  }
  return offset;
}

}  // namespace

Launch emit_matmul(ModuleState& state, const Kernel& kernel) {
  const Node& node = *kernel.node;
  FunctionBuilder f(state, state.fresh_name(std::string(op_name(node.op()))));
  auto& b = f.b;
  bool fused = node.op() == OpKind::FusedMatMul;
  bool ta = fused && node.attr(0) != 0;
  bool tb = fused && node.attr(1) != 0;
  MatrixOperand a = matrix_operand(f, node.input(0), kernel.inputs[0], ta, true);
  MatrixOperand c = matrix_operand(f, node.input(1), kernel.inputs[1], tb, false);
  Value* m = a.rows;
  Value* k = a.cols;
  Value* n = c.cols;
  std::vector<Dim> out_batch;
  if (node.rank() >= 2 && node.input(0)->rank() >= 2 && node.input(1)->rank() >= 2)
    out_batch.assign(node.shape().begin(), node.shape().end() - 2);
  else if (node.input(0)->rank() >= 2 && node.input(1)->rank() == 1)
    out_batch.assign(node.shape().begin(), node.shape().end() - 1);
  else if (node.input(0)->rank() == 1 && node.input(1)->rank() >= 2)
    out_batch.assign(node.shape().begin(), node.shape().end() - 1);
  Value* out_matrix = b.CreateMul(m, n);
  DType dtype = node.dtype();
  llvm::Type* type = value_type(f.context, dtype);

  // The kernel's iterations are output rows across all batches: row r is row r % m of
  // matrix r / m.
  Value* work = b.CreateMul(b.CreateMul(m, n), k);
  Value* use_blas = is_float(dtype) ? b.CreateICmpSGE(work, f.constant(kBlasThreshold)) : b.getFalse();
  f.loop(f.begin, f.end, [&](Value* r) {
    Value* batch = b.CreateUDiv(r, m);
    Value* i = b.CreateURem(r, m);
    Value* a_base = batch_offset(f, out_batch, a.batch, batch, a.matrix_size);
    Value* c_base = batch_offset(f, out_batch, c.batch, batch, c.matrix_size);
    Value* out_row = b.CreateMul(r, n);
    // BLAS takes whole runs of rows: the first row of a chunk or of a new matrix starts one.
    Value* starts_run = b.CreateOr(b.CreateICmpEQ(r, f.begin), b.CreateICmpEQ(i, f.constant(0)));
    llvm::BasicBlock* blas_block = llvm::BasicBlock::Create(f.context, "blas", f.function);
    llvm::BasicBlock* loops_block = llvm::BasicBlock::Create(f.context, "loops", f.function);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(f.context, "row_done", f.function);
    b.CreateCondBr(use_blas, blas_block, loops_block);

    b.SetInsertPoint(blas_block);
    f.if_then(starts_run, [&] {
      // Rows i .. min(m, i + rows left in the chunk) of this matrix.
      Value* rows = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSub(m, i), b.CreateSub(f.end, r));
      Value* a_start = b.CreateAdd(a_base, b.CreateMul(i, a.row_stride));
      auto* ptr = llvm::PointerType::getUnqual(f.context);
      auto* i32 = b.getInt32Ty();
      auto* gemm_type = llvm::FunctionType::get(b.getVoidTy(), {i32, i32, f.i64(), f.i64(), f.i64(), ptr, f.i64(), ptr, f.i64(), ptr, f.i64()}, false);
      std::string name = dtype == DType::Float32 ? "damo_rt_gemm_f32" : "damo_rt_gemm_f64";
      llvm::FunctionCallee gemm = state.module.getOrInsertFunction(name, gemm_type);
      Value* lda = a.transposed ? m : k;
      Value* ldb = c.transposed ? k : n;
      if (node.input(0)->rank() == 1) lda = k;
      if (node.input(1)->rank() == 1) ldb = f.constant(1);
      b.CreateCall(gemm, {b.getInt32(a.transposed ? 1 : 0), b.getInt32(c.transposed ? 1 : 0), rows, n, k,
                          f.element_pointer(kernel.inputs[0], a_start), lda,
                          f.element_pointer(kernel.inputs[1], c_base), ldb,
                          f.element_pointer(kernel.output, out_row), n});
    });
    b.CreateBr(done);

    b.SetInsertPoint(loops_block);
    Value* zero = llvm::Constant::getNullValue(type);
    f.loop(f.constant(0), n, [&](Value* j) { f.store(kernel.output, b.CreateAdd(out_row, j), zero); });
    Value* a_row = b.CreateAdd(a_base, b.CreateMul(i, a.row_stride));
    f.loop(f.constant(0), k, [&](Value* kk) {
      Value* x = f.load(kernel.inputs[0], b.CreateAdd(a_row, b.CreateMul(kk, a.col_stride)));
      Value* c_row = b.CreateAdd(c_base, b.CreateMul(kk, c.row_stride));
      f.loop(f.constant(0), n, [&](Value* j) {
        Value* y = f.load(kernel.inputs[1], b.CreateAdd(c_row, b.CreateMul(j, c.col_stride)));
        Value* target = b.CreateAdd(out_row, j);
        Value* acc = f.load(kernel.output, target);
        Value* sum = type->isFloatingPointTy() ? b.CreateFAdd(acc, b.CreateFMul(x, y)) : b.CreateAdd(acc, b.CreateMul(x, y));
        f.store(kernel.output, target, sum);
      });
    });
    b.CreateBr(done);
    b.SetInsertPoint(done);

    if (!fused) return;
    // Epilogue: bias and activation applied to the finished row.
    bool has_bias = node.input_count() > 2;
    OpKind activation = node.attrs().sub_op;
    const Node* bias = has_bias ? node.input(2) : nullptr;
    std::vector<Value*> bias_strides;
    Value* bias_row = f.constant(0);
    // With a matrix on the right, the output's last axis has the n columns of row r. With
    // a vector there, n is 1 and row r is one output element, so r spans every axis.
    bool has_columns = node.input(1)->rank() >= 2;
    if (has_bias) {
      // Offset of row r of the output in the bias, which broadcasts against the output.
      const Shape& out = node.shape();
      int rank = out.rank();
      Value* stride = f.constant(1);
      Value* flat = r;
      std::vector<Value*> strides(static_cast<std::size_t>(rank));
      for (int axis = rank - 1; axis >= 0; --axis) {
        int bias_axis = axis - (rank - bias->rank());
        bool broadcast = bias_axis < 0 || (bias->shape()[bias_axis] == Dim(1) && out[axis] != Dim(1));
        strides[axis] = broadcast ? f.constant(0) : stride;
        if (bias_axis >= 0) stride = b.CreateMul(stride, f.dim(bias->shape()[bias_axis]));
      }
      for (int axis = has_columns ? rank - 2 : rank - 1; axis >= 0; --axis) {
        Value* size = f.dim(out[axis]);
        bias_row = b.CreateAdd(bias_row, b.CreateMul(b.CreateURem(flat, size), strides[axis]));
        flat = b.CreateUDiv(flat, size);
      }
      bias_strides = strides;
    }
    f.loop(f.constant(0), n, [&](Value* j) {
      Value* target = b.CreateAdd(out_row, j);
      Value* v = f.load(kernel.output, target);
      if (has_bias) {
        Value* offset = bias_row;
        if (has_columns) offset = b.CreateAdd(offset, b.CreateMul(j, bias_strides.back()));
        Value* bias_value = f.load(kernel.inputs[2], offset);
        v = type->isFloatingPointTy() ? b.CreateFAdd(v, bias_value) : b.CreateAdd(v, bias_value);
      }
      if (activation != OpKind::Param) v = emit_unary(f, activation, v);
      f.store(kernel.output, target, v);
    });
  });
  f.finish();
  (void)out_matrix;
  std::vector<Dim> total = out_batch;
  if (node.input(0)->rank() >= 2) total.push_back(node.input(0)->shape()[node.input(0)->rank() - (ta ? 1 : 2)]);
  std::vector<Dim> per_row;
  if (node.input(1)->rank() >= 2) per_row.push_back(node.input(1)->shape()[node.input(1)->rank() - (tb ? 2 : 1)]);
  per_row.push_back(node.input(0)->shape()[node.input(0)->rank() - (ta && node.input(0)->rank() >= 2 ? 2 : 1)]);
  return {f.function, total, per_row};
}

namespace {

struct RowShape {
  Value* outer;
  Value* length;
  Value* inner;
};

RowShape split_axis(FunctionBuilder& f, const Shape& shape, int axis) {
  std::vector<Dim> before(shape.begin(), shape.begin() + axis);
  std::vector<Dim> after(shape.begin() + axis + 1, shape.end());
  return {f.product(before), f.dim(shape[axis]), f.product(after)};
}

Value* fconst(FunctionBuilder& f, llvm::Type* t, double v) { return llvm::ConstantFP::get(t, v); }

llvm::AllocaInst* entry_alloca(FunctionBuilder& f, llvm::Type* type) {
  llvm::IRBuilder<> entry(&f.function->getEntryBlock(), f.function->getEntryBlock().begin());
  return entry.CreateAlloca(type);
}

// Reduces over one row: body returns the value to add (or compare) for position a. The
// loops of a row run every element in vector steps, the last one masked, so that exp and
// the other vector math compute each element of a row alike.
Value* row_reduce(FunctionBuilder& f, Value* length, llvm::Type* type, Value* init, bool is_max,
                  const std::function<Value*(Value*)>& element) {
  auto& b = f.b;
  llvm::AllocaInst* acc = entry_alloca(f, type);
  b.CreateStore(init, acc);
  llvm::FastMathFlags reassociate;
  reassociate.setAllowReassoc();
  f.loop(f.constant(0), length, [&](Value* a) {
    Value* x = element(a);
    if (x->getType() != type) x = b.CreateFPCast(x, type);
    Value* current = b.CreateLoad(type, acc);
    Value* next;
    if (is_max) {
      next = b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, current, x);
    } else {
      next = b.CreateFAdd(current, x);
      llvm::cast<llvm::Instruction>(next)->setFastMathFlags(reassociate);
    }
    b.CreateStore(next, acc);
  }, 1, true, true, /*fold_tail=*/true);
  return b.CreateLoad(type, acc);
}

// The log-sum-exp of a row, from its maximum; a row of -inf gives -inf and NaN stays NaN.
struct RowStats {
  Value* max;
  Value* log_sum;  // log(sum(exp(x - max))) in the element type
};

RowStats row_log_sum_exp(FunctionBuilder& f, llvm::Type* type, Value* length, const std::function<Value*(Value*)>& load) {
  auto& b = f.b;
  Value* max = row_reduce(f, length, type, llvm::ConstantFP::getInfinity(type, true), true, load);
  // With an infinite maximum, shift by 0 so that the infinities themselves reach exp.
  Value* finite = b.CreateFCmpONE(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, max), llvm::ConstantFP::getInfinity(type));
  Value* shift = b.CreateSelect(finite, max, fconst(f, type, 0.0));
  llvm::Type* wide = type->isFloatTy() ? b.getDoubleTy() : type;
  Value* sum = row_reduce(f, length, wide, fconst(f, wide, 0.0), false, [&](Value* a) {
    return b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFSub(load(a), shift));
  });
  // The sum is accumulated wide but rounded before the log, which then runs at the row's
  // own precision: a float32 row needs no double-precision log.
  Value* log_sum = b.CreateUnaryIntrinsic(llvm::Intrinsic::log, b.CreateFPCast(sum, type));
  return {shift, log_sum};
}

// Softmax over an axis that is not the last one. A lane (one softmax) reads its elements
// `inner` apart, so lanes are taken in tiles of consecutive inner positions: each pass walks
// the axis once and updates the whole tile's contiguous elements, which vectorizes and
// reads memory in order. One lane at a time reads a column with a stride of a whole row,
// three times: for softmax over axis 0 of a 2048 x 2048 float32 matrix at one thread that
// took 8 to 10 times as long as NumPy. The same passes give logsumexp over such an axis,
// with one value per lane.
enum class TileResult { Softmax, LogSoftmax, LogSumExp };

void emit_softmax_tiles(FunctionBuilder& f, const Kernel& kernel, const RowShape& rows, llvm::Type* type,
                        TileResult result) {
  constexpr std::int64_t kTile = 64;
  auto& b = f.b;
  llvm::Type* wide = type->isFloatTy() ? b.getDoubleTy() : type;
  auto tile_buffer = [&](llvm::Type* element) { return entry_alloca(f, llvm::ArrayType::get(element, kTile)); };
  llvm::AllocaInst* shifts = tile_buffer(type);
  llvm::AllocaInst* sums = tile_buffer(wide);
  llvm::AllocaInst* log_sums = tile_buffer(type);
  llvm::AllocaInst* maxima = tile_buffer(type);
  auto slot = [&](llvm::AllocaInst* buffer, Value* l) {
    return b.CreateInBoundsGEP(buffer->getAllocatedType(), buffer, {f.constant(0), l});
  };

  llvm::BasicBlock* before = b.GetInsertBlock();
  auto* header = llvm::BasicBlock::Create(f.context, "tile", f.function);
  auto* body = llvm::BasicBlock::Create(f.context, "tile_body", f.function);
  auto* exit = llvm::BasicBlock::Create(f.context, "tile_exit", f.function);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode* lane = b.CreatePHI(f.i64(), 2, "lane");
  lane->addIncoming(f.begin, before);
  b.CreateCondBr(b.CreateICmpSLT(lane, f.end), body, exit);

  b.SetInsertPoint(body);
  Value* o = b.CreateUDiv(lane, rows.inner);
  Value* i = b.CreateURem(lane, rows.inner);
  // The tile stays within one outer position and within this thread's lanes.
  Value* count = b.CreateBinaryIntrinsic(
      llvm::Intrinsic::smin, f.constant(kTile),
      b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSub(rows.inner, i), b.CreateSub(f.end, lane)));
  Value* base = b.CreateAdd(b.CreateMul(b.CreateMul(o, rows.length), rows.inner), i);
  auto offset = [&](Value* a, Value* l) { return b.CreateAdd(b.CreateAdd(base, b.CreateMul(a, rows.inner)), l); };

  // Pass 1: the maximum of each lane, which propagates NaN.
  f.loop(f.constant(0), count, [&](Value* l) { b.CreateStore(llvm::ConstantFP::getInfinity(type, true), slot(shifts, l)); });
  f.loop(f.constant(0), rows.length, [&](Value* a) {
    f.loop(f.constant(0), count, [&](Value* l) {
      Value* x = f.load(kernel.inputs[0], offset(a, l));
      Value* current = b.CreateLoad(type, slot(shifts, l));
      b.CreateStore(b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, current, x), slot(shifts, l));
    });
  });
  // With an infinite maximum, shift by 0 so that the infinities themselves reach exp.
  f.loop(f.constant(0), count, [&](Value* l) {
    Value* max = b.CreateLoad(type, slot(shifts, l));
    b.CreateStore(max, slot(maxima, l));
    Value* finite = b.CreateFCmpONE(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, max), llvm::ConstantFP::getInfinity(type));
    b.CreateStore(b.CreateSelect(finite, max, fconst(f, type, 0.0)), slot(shifts, l));
    b.CreateStore(fconst(f, wide, 0.0), slot(sums, l));
  });
  // Pass 2: the sum of exp(x - shift), accumulated in double for float32.
  f.loop(f.constant(0), rows.length, [&](Value* a) {
    f.loop(f.constant(0), count, [&](Value* l) {
      Value* x = f.load(kernel.inputs[0], offset(a, l));
      Value* e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFSub(x, b.CreateLoad(type, slot(shifts, l))));
      if (e->getType() != wide) e = b.CreateFPExt(e, wide);
      b.CreateStore(b.CreateFAdd(b.CreateLoad(wide, slot(sums, l)), e), slot(sums, l));
    });
  });
  if (result == TileResult::LogSumExp) {
    // log_sum + shift, except where the maximum is not finite: NaN stays NaN, +inf gives
    // +inf, and a lane of -inf gives log(0) + 0 = -inf, as the reduction kernel does. Lane
    // (o, i) is output element o * inner + i, which is the lane's own index.
    f.loop(f.constant(0), count, [&](Value* l) {
      Value* max = b.CreateLoad(type, slot(maxima, l));
      Value* sum = b.CreateFPCast(b.CreateLoad(wide, slot(sums, l)), type);
      Value* value = b.CreateFAdd(b.CreateUnaryIntrinsic(llvm::Intrinsic::log, sum), b.CreateLoad(type, slot(shifts, l)));
      Value* keep_max = b.CreateOr(b.CreateFCmpUNO(max, max), b.CreateFCmpOEQ(max, llvm::ConstantFP::getInfinity(type)));
      f.store(kernel.output, b.CreateAdd(lane, l), b.CreateSelect(keep_max, max, value));
    });
  } else {
    // log_sum is +inf only when the lane contains +inf. The whole lane is NaN then, as for a
    // NaN in the lane and as in the last-axis kernel.
    f.loop(f.constant(0), count, [&](Value* l) {
      Value* log_sum = b.CreateUnaryIntrinsic(llvm::Intrinsic::log, b.CreateFPCast(b.CreateLoad(wide, slot(sums, l)), type));
      Value* infinite = b.CreateFCmpOEQ(log_sum, llvm::ConstantFP::getInfinity(type));
      b.CreateStore(b.CreateSelect(infinite, llvm::ConstantFP::getNaN(type), log_sum), slot(log_sums, l));
    });
    // Pass 3: (x - shift) - log_sum, or its exp.
    f.loop(f.constant(0), rows.length, [&](Value* a) {
      f.loop(f.constant(0), count, [&](Value* l) {
        Value* x = f.load(kernel.inputs[0], offset(a, l));
        Value* shifted = b.CreateFSub(b.CreateFSub(x, b.CreateLoad(type, slot(shifts, l))), b.CreateLoad(type, slot(log_sums, l)));
        f.store(kernel.output, offset(a, l),
                result == TileResult::LogSoftmax ? shifted : b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, shifted));
      });
    });
  }
  lane->addIncoming(b.CreateAdd(lane, count), b.GetInsertBlock());
  b.CreateBr(header);
  b.SetInsertPoint(exit);
}

Launch emit_softmax(ModuleState& state, const Kernel& kernel, bool log_form) {
  const Node& node = *kernel.node;
  FunctionBuilder f(state, state.fresh_name(log_form ? "log_softmax" : "softmax"));
  auto& b = f.b;
  int axis = static_cast<int>(node.attr(0));
  RowShape rows = split_axis(f, node.shape(), axis);
  llvm::Type* type = value_type(f.context, node.dtype());
  if (axis != node.rank() - 1) {
    emit_softmax_tiles(f, kernel, rows, type, log_form ? TileResult::LogSoftmax : TileResult::Softmax);
    f.finish();
    std::vector<Dim> total(node.shape().begin(), node.shape().begin() + axis);
    total.insert(total.end(), node.shape().begin() + axis + 1, node.shape().end());
    return {f.function, total, {node.shape()[axis]}};
  }
  f.loop(f.begin, f.end, [&](Value* lane) {
    Value* o = b.CreateUDiv(lane, rows.inner);
    Value* i = b.CreateURem(lane, rows.inner);
    Value* base = b.CreateAdd(b.CreateMul(b.CreateMul(o, rows.length), rows.inner), i);
    auto offset = [&](Value* a) { return b.CreateAdd(base, b.CreateMul(a, rows.inner)); };
    auto load = [&](Value* a) { return f.load(kernel.inputs[0], offset(a)); };
    RowStats stats = row_log_sum_exp(f, type, rows.length, load);
    // log_sum is +inf only when the line contains +inf, which would give 0 and NaN. The
    // whole line is NaN then, as docs/ops.md defines and as for a NaN in the line.
    Value* infinite = b.CreateFCmpOEQ(stats.log_sum, llvm::ConstantFP::getInfinity(type));
    Value* log_sum = b.CreateSelect(infinite, llvm::ConstantFP::getNaN(type), stats.log_sum);
    f.loop(f.constant(0), rows.length, [&](Value* a) {
      // (x - max) - log_sum: adding log_sum to a huge max first would round it away.
      Value* shifted = b.CreateFSub(b.CreateFSub(load(a), stats.max), log_sum);
      f.store(kernel.output, offset(a), log_form ? shifted : b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, shifted));
    }, 1, true, true, /*fold_tail=*/true);
  });
  f.finish();
  std::vector<Dim> total(node.shape().begin(), node.shape().begin() + axis);
  total.insert(total.end(), node.shape().begin() + axis + 1, node.shape().end());
  return {f.function, total, {node.shape()[axis]}};
}

// Running sums along one axis. The kernel runs over the positions of the other axes, one
// lane each. Along the last axis each lane adds its elements in turn. Along an earlier one,
// runs of up to kCumSumTile consecutive lanes share an accumulator array, so that each step
// along the axis reads and writes contiguous elements in vector loops. float32 adds in
// double and rounds each result once, as the evaluator does.
Launch emit_cumsum(ModuleState& state, const Kernel& kernel) {
  constexpr std::int64_t kCumSumTile = 256;
  const Node& node = *kernel.node;
  FunctionBuilder f(state, state.fresh_name("cumsum"));
  auto& b = f.b;
  int axis = static_cast<int>(node.attr(0));
  bool reverse = node.attr(1) != 0;
  RowShape rows = split_axis(f, node.shape(), axis);
  llvm::Type* type = value_type(f.context, node.dtype());
  llvm::Type* wide = type->isFloatingPointTy() ? b.getDoubleTy() : type;
  auto add = [&](Value* sum, Value* x) {
    if (!type->isFloatingPointTy()) return b.CreateAdd(sum, x);
    return b.CreateFAdd(sum, b.CreateFPExt(x, wide));
  };
  auto narrow = [&](Value* sum) { return type->isFloatingPointTy() ? b.CreateFPTrunc(sum, type) : sum; };
  auto position = [&](Value* k) { return reverse ? b.CreateSub(b.CreateSub(rows.length, f.constant(1)), k) : k; };
  Value* zero = llvm::Constant::getNullValue(wide);
  Value* contiguous = b.CreateICmpEQ(rows.inner, f.constant(1));

  f.if_then(contiguous, [&] {
    llvm::AllocaInst* sum = entry_alloca(f, wide);
    f.loop(f.begin, f.end, [&](Value* lane) {
      Value* base = b.CreateMul(lane, rows.length);
      b.CreateStore(zero, sum);
      f.loop(f.constant(0), rows.length, [&](Value* k) {
        Value* at = b.CreateAdd(base, position(k));
        Value* total = add(b.CreateLoad(wide, sum), f.load(kernel.inputs[0], at));
        b.CreateStore(total, sum);
        f.store(kernel.output, at, narrow(total));
      }, 1, false);
    });
  });

  f.if_then(b.CreateNot(contiguous), [&] {
    llvm::AllocaInst* tile = entry_alloca(f, llvm::ArrayType::get(wide, kCumSumTile));
    auto slot = [&](Value* j) { return b.CreateGEP(wide, tile, {j}); };
    // A chunk has lanes only when inner is positive, so the divisions below are safe.
    f.if_then(b.CreateICmpSLT(f.begin, f.end), [&] {
      // Runs of lanes: each stays within one outer index and has at most kCumSumTile lanes.
      Value* runs_per_outer = b.CreateUDiv(b.CreateAdd(rows.inner, f.constant(kCumSumTile - 1)), f.constant(kCumSumTile));
      auto run_of = [&](Value* lane) {
        return b.CreateAdd(b.CreateMul(b.CreateUDiv(lane, rows.inner), runs_per_outer),
                           b.CreateUDiv(b.CreateURem(lane, rows.inner), f.constant(kCumSumTile)));
      };
      Value* first_run = run_of(f.begin);
      Value* end_run = b.CreateAdd(run_of(b.CreateSub(f.end, f.constant(1))), f.constant(1));
      f.loop(first_run, end_run, [&](Value* run) {
        Value* o = b.CreateUDiv(run, runs_per_outer);
        Value* run_start = b.CreateMul(b.CreateURem(run, runs_per_outer), f.constant(kCumSumTile));
        // The lanes of the run that fall in this chunk: inner positions low to high - 1.
        Value* lane_base = b.CreateMul(o, rows.inner);
        Value* low = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, run_start, b.CreateSub(f.begin, lane_base));
        Value* run_end = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(run_start, f.constant(kCumSumTile)), rows.inner);
        Value* high = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, run_end, b.CreateSub(f.end, lane_base));
        Value* count = b.CreateSub(high, low);
        Value* base = b.CreateAdd(b.CreateMul(b.CreateMul(o, rows.length), rows.inner), low);
        f.loop(f.constant(0), count, [&](Value* j) { b.CreateStore(zero, slot(j)); });
        f.loop(f.constant(0), rows.length, [&](Value* k) {
          Value* row = b.CreateAdd(base, b.CreateMul(position(k), rows.inner));
          f.loop(f.constant(0), count, [&](Value* j) {
            Value* at = b.CreateAdd(row, j);
            Value* total = add(b.CreateLoad(wide, slot(j)), f.load(kernel.inputs[0], at));
            b.CreateStore(total, slot(j));
            f.store(kernel.output, at, narrow(total));
          });
        });
      });
    });
  });
  f.finish();
  std::vector<Dim> total(node.shape().begin(), node.shape().begin() + axis);
  total.insert(total.end(), node.shape().begin() + axis + 1, node.shape().end());
  return {f.function, total, {node.shape()[axis]}};
}

// Argsort along one axis: each lane is one line along the axis, sorted by a call to
// damo_rt_argsort.
Launch emit_argsort(ModuleState& state, const Kernel& kernel) {
  const Node& node = *kernel.node;
  FunctionBuilder f(state, state.fresh_name("argsort"));
  auto& b = f.b;
  int axis = static_cast<int>(node.attr(0));
  RowShape rows = split_axis(f, node.shape(), axis);
  auto* ptr = llvm::PointerType::getUnqual(f.context);
  auto* i32 = b.getInt32Ty();
  auto* sort_type = llvm::FunctionType::get(b.getVoidTy(), {ptr, i32, f.i64(), f.i64(), i32, ptr}, false);
  llvm::FunctionCallee sort_line = state.module.getOrInsertFunction("damo_rt_argsort", sort_type);
  Value* dtype = b.getInt32(static_cast<std::uint32_t>(node.input(0)->dtype()));
  Value* descending = b.getInt32(node.attr(1) != 0 ? 1 : 0);
  f.loop(f.begin, f.end, [&](Value* lane) {
    Value* outer = b.CreateUDiv(lane, rows.inner);
    Value* base = b.CreateAdd(b.CreateMul(b.CreateMul(outer, rows.length), rows.inner), b.CreateURem(lane, rows.inner));
    b.CreateCall(sort_line, {f.element_pointer(kernel.inputs[0], base), dtype, rows.length, rows.inner, descending,
                             f.element_pointer(kernel.output, base)});
  }, 1, false);
  f.finish();
  std::vector<Dim> total(node.shape().begin(), node.shape().begin() + axis);
  total.insert(total.end(), node.shape().begin() + axis + 1, node.shape().end());
  return {f.function, total, {node.shape()[axis]}};
}

// Loss per row for cross-entropies over the last axis.
Launch emit_crossentropy(ModuleState& state, const Kernel& kernel) {
  const Node& node = *kernel.node;
  OpKind op = node.op();
  FunctionBuilder f(state, state.fresh_name(std::string(op_name(op))));
  auto& b = f.b;
  const Shape& logits_shape = node.input(0)->shape();
  Value* classes = f.dim(logits_shape[logits_shape.rank() - 1]);
  llvm::Type* type = value_type(f.context, node.input(0)->dtype());
  bool sparse = op == OpKind::SparseCategoricalCrossentropy || op == OpKind::SparseSoftmaxCrossEntropy ||
                op == OpKind::SparseSoftmaxCrossEntropyGrad;
  bool from_logits = op != OpKind::CategoricalCrossentropy && op != OpKind::SparseCategoricalCrossentropy;
  bool gradient = op == OpKind::SoftmaxCrossEntropyGrad || op == OpKind::SparseSoftmaxCrossEntropyGrad;
  Value* nan = llvm::ConstantFP::getNaN(type);
  f.loop(f.begin, f.end, [&](Value* row) {
    Value* base = b.CreateMul(row, classes);
    auto at = [&](int input, Value* c) { return f.load(kernel.inputs[input], b.CreateAdd(base, c)); };
    Value* label = nullptr;
    Value* label_valid = nullptr;
    if (sparse) {
      label = b.CreateSExt(f.load(kernel.inputs[1], row), f.i64());
      label_valid = b.CreateAnd(b.CreateICmpSGE(label, f.constant(0)), b.CreateICmpSLT(label, classes));
    }
    if (!from_logits) {
      Value* loss;
      if (sparse) {
        Value* safe = b.CreateSelect(label_valid, label, f.constant(0));
        Value* p = f.load(kernel.inputs[0], b.CreateAdd(base, safe));
        loss = b.CreateSelect(label_valid, b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::log, p)), nan);
      } else {
        Value* sum = row_reduce(f, classes, type, fconst(f, type, 0.0), false, [&](Value* c) {
          return b.CreateFMul(at(1, c), b.CreateUnaryIntrinsic(llvm::Intrinsic::log, at(0, c)));
        });
        loss = b.CreateFNeg(sum);
      }
      f.store(kernel.output, row, loss);
      return;
    }
    RowStats stats = row_log_sum_exp(f, type, classes, [&](Value* c) { return at(0, c); });
    // As in log_softmax, a row that contains +inf is NaN throughout, so the loss and the
    // gradient of such a row are NaN.
    Value* infinite = b.CreateFCmpOEQ(stats.log_sum, llvm::ConstantFP::getInfinity(type));
    Value* log_sum = b.CreateSelect(infinite, nan, stats.log_sum);
    // log_softmax(z) = (z - max) - log_sum. Adding log_sum to a large maximum first would
    // round away most of its digits.
    auto log_softmax = [&](Value* z) { return b.CreateFSub(b.CreateFSub(z, stats.max), log_sum); };
    if (!gradient) {
      Value* loss;
      if (sparse) {
        Value* safe = b.CreateSelect(label_valid, label, f.constant(0));
        loss = b.CreateSelect(label_valid, b.CreateFNeg(log_softmax(at(0, safe))), nan);
      } else {
        Value* sum = row_reduce(f, classes, type, fconst(f, type, 0.0), false,
                                [&](Value* c) { return b.CreateFMul(at(1, c), log_softmax(at(0, c))); });
        loss = b.CreateFNeg(sum);
      }
      f.store(kernel.output, row, loss);
      return;
    }
    // Gradient: g * (softmax(z) * sum(t) - t), or g * (softmax(z) - one_hot(label)).
    Value* target_sum = sparse ? fconst(f, type, 1.0)
                               : row_reduce(f, classes, type, fconst(f, type, 0.0), false, [&](Value* c) { return at(1, c); });
    Value* g = f.load(kernel.inputs[2], row);
    f.loop(f.constant(0), classes, [&](Value* c) {
      Value* p = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, log_softmax(at(0, c)));
      Value* t = sparse ? b.CreateSelect(b.CreateICmpEQ(c, label), fconst(f, type, 1.0), fconst(f, type, 0.0)) : at(1, c);
      Value* value = b.CreateFMul(g, b.CreateFSub(b.CreateFMul(p, target_sum), t));
      if (sparse) value = b.CreateSelect(label_valid, value, nan);
      f.store(kernel.output, b.CreateAdd(base, c), value);
    }, 1, true, true, /*fold_tail=*/true);
  });
  f.finish();
  std::vector<Dim> total(logits_shape.begin(), logits_shape.end() - 1);
  return {f.function, total, {logits_shape[logits_shape.rank() - 1]}};
}

}  // namespace

std::optional<Launch> emit_logsumexp_tiles(ModuleState& state, const Kernel& kernel) {
  const Node& node = *kernel.node;
  const Node& input = *node.input(0);
  const std::vector<std::int64_t>& axes = node.attrs().ints;
  if (node.op() != OpKind::LogSumExp || axes.size() != 1 || axes[0] == input.rank() - 1 ||
      !kernel.views.empty())
    return std::nullopt;
  int axis = static_cast<int>(axes[0]);
  FunctionBuilder f(state, state.fresh_name("logsumexp"));
  RowShape rows = split_axis(f, input.shape(), axis);
  emit_softmax_tiles(f, kernel, rows, value_type(f.context, node.dtype()), TileResult::LogSumExp);
  f.finish();
  std::vector<Dim> total(input.shape().begin(), input.shape().begin() + axis);
  total.insert(total.end(), input.shape().begin() + axis + 1, input.shape().end());
  return Launch{f.function, total, {input.shape()[axis]}};
}

Launch emit_neural_net(ModuleState& state, const Kernel& kernel) {
  switch (kernel.node->op()) {
  case OpKind::Softmax: return emit_softmax(state, kernel, false);
  case OpKind::LogSoftmax: return emit_softmax(state, kernel, true);
  case OpKind::CumSum: return emit_cumsum(state, kernel);
  case OpKind::ArgSort: return emit_argsort(state, kernel);
  case OpKind::CategoricalCrossentropy:
  case OpKind::SparseCategoricalCrossentropy:
  case OpKind::SoftmaxCrossEntropy:
  case OpKind::SparseSoftmaxCrossEntropy:
  case OpKind::SoftmaxCrossEntropyGrad:
  case OpKind::SparseSoftmaxCrossEntropyGrad: return emit_crossentropy(state, kernel);
  default: break;
  }
  fail_internal("emit_neural_net", fmt::format("no kernel for {}", op_name(kernel.node->op())));
}

}  // namespace damo::emit
