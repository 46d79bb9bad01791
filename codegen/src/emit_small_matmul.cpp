// Register-blocked kernels for matrix products whose sizes are small and known when the
// graph is built, such as a batch of rows times a weight matrix. They keep a row (or the
// whole output) in vector registers and apply bias and activation on the way out, which
// beats an OpenBLAS call when the product is a few thousand multiply-adds.
//
// Three layouts, for C = op(A) @ op(B) with op(A) of M x K and op(B) of K x N:
// - row: one output row at a time, vectors along N (N static, up to 16 vectors);
// - dot: one output row at a time, vectors along K (N small, K static);
// - outer: the whole output at once as a sum of rank-1 updates over K (A transposed, M and
//   N static, at most 24 accumulator vectors), for weight gradients such as X^T @ dZ.
#include <fmt/format.h>
#include <llvm/IR/Intrinsics.h>

#include "emitter.h"

namespace damo::emit {

using llvm::Value;

namespace {

// Largest K x N matrix copied into a stack buffer to make its rows contiguous.
constexpr std::int64_t kMaxLocalElements = 8192;
constexpr int kMaxAccumulators = 24;
// Rows per float32 block of an outer-product kernel, whose partial sums add up apart.
constexpr std::int64_t kOuterBlockRows = 256;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

class SmallMatmul {
 public:
  SmallMatmul(ModuleState& state, const Kernel& kernel) : state_(state), kernel_(kernel), node_(*kernel.node) {}

  std::optional<Launch> emit() {
    if (!is_float(node_.dtype())) return std::nullopt;
    const Node* a = node_.input(0);
    const Node* b = node_.input(1);
    if (a->rank() != 2 || b->rank() != 2) return std::nullopt;
    bool fused = node_.op() == OpKind::FusedMatMul;
    ta_ = fused && node_.attr(0) != 0;
    tb_ = fused && node_.attr(1) != 0;
    activation_ = fused ? node_.attrs().sub_op : OpKind::Param;
    m_ = ta_ ? a->shape()[1] : a->shape()[0];
    k_ = ta_ ? a->shape()[0] : a->shape()[1];
    n_ = tb_ ? b->shape()[0] : b->shape()[1];
    if (fused && node_.input_count() > 2) {
      const Shape& bias = node_.input(2)->shape();
      bool row_bias = (bias.rank() == 1 && bias[0] == n_) || (bias.rank() == 2 && bias[0] == Dim(1) && bias[1] == n_);
      if (!row_bias) return std::nullopt;
      has_bias_ = true;
    }
    lanes_ = state_.vector_bytes / static_cast<int>(dtype_size(node_.dtype()));
    if (!n_.is_static() || n_.size() == 0) return std::nullopt;
    std::int64_t n = n_.size();

    if (ta_) {
      if (tb_ || !m_.is_static() || m_.size() == 0) return std::nullopt;
      std::int64_t m = m_.size();
      if (n >= lanes_ / 2 && m * ceil_div(n, lanes_) <= kMaxAccumulators) return emit_outer(true);
      if (n < lanes_ / 2 && n * ceil_div(m, lanes_) <= kMaxAccumulators) return emit_outer(false);
      return std::nullopt;
    }
    bool small_b = k_.is_static() && k_.size() * n <= kMaxLocalElements;
    if (n < lanes_ / 2 && k_.is_static() && k_.size() >= lanes_ && (tb_ || small_b)) return emit_dot();
    // A narrow row wastes most of each vector, which only pays off when K is short.
    bool row_fits = n >= lanes_ / 2 || (k_.is_static() && k_.size() <= 64);
    if (n <= 16 * lanes_ && row_fits && (!tb_ || small_b)) return emit_row();
    return std::nullopt;
  }

 private:
  llvm::Type* scalar_type() { return value_type(state_.context, node_.dtype()); }
  llvm::FixedVectorType* vector_type() { return llvm::FixedVectorType::get(scalar_type(), static_cast<unsigned>(lanes_)); }
  llvm::Align alignment() { return llvm::Align(dtype_size(node_.dtype())); }

  Value* mask(FunctionBuilder& f, std::int64_t valid) {
    std::vector<llvm::Constant*> bits;
    for (int i = 0; i < lanes_; ++i) bits.push_back(f.b.getInt1(i < valid));
    return llvm::ConstantVector::get(bits);
  }

  // Loads `valid` lanes (all when valid >= lanes) from a pointer; the rest are zero.
  Value* load_vector(FunctionBuilder& f, Value* pointer, std::int64_t valid, int slot) {
    llvm::Instruction* load;
    if (valid >= lanes_) load = f.b.CreateAlignedLoad(vector_type(), pointer, alignment());
    else load = f.b.CreateMaskedLoad(vector_type(), pointer, alignment(), mask(f, valid), llvm::Constant::getNullValue(vector_type()));
    if (slot >= 0) f.tag_access(load, slot);
    return load;
  }

  void store_vector(FunctionBuilder& f, Value* value, Value* pointer, std::int64_t valid, int slot) {
    llvm::Instruction* store;
    if (valid >= lanes_) store = f.b.CreateAlignedStore(value, pointer, alignment());
    else store = f.b.CreateMaskedStore(value, pointer, alignment(), mask(f, valid));
    f.tag_access(store, slot);
  }

  Value* fma(FunctionBuilder& f, Value* x, Value* y, Value* acc) {
    return f.b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {acc->getType()}, {x, y, acc});
  }

  // One stack slot per accumulator vector: separate scalar allocas are what SROA promotes to
  // registers, while an array of vectors would stay in memory through the whole loop.
  std::vector<llvm::AllocaInst*> accumulators(FunctionBuilder& f, std::int64_t count) {
    std::vector<llvm::AllocaInst*> slots;
    for (std::int64_t i = 0; i < count; ++i) slots.push_back(entry_alloca(f, vector_type()));
    return slots;
  }

  llvm::AllocaInst* entry_alloca(FunctionBuilder& f, llvm::Type* type, std::int64_t count = 1) {
    llvm::IRBuilder<> entry(&f.function->getEntryBlock(), f.function->getEntryBlock().begin());
    return entry.CreateAlloca(type, entry.getInt64(static_cast<std::uint64_t>(count)));
  }

  // Element (row, column) of op(X) for input `which` (0 for A, 1 for B).
  Value* operand_offset(FunctionBuilder& f, int which, Value* row, Value* column) {
    const Node* x = node_.input(static_cast<std::size_t>(which));
    bool transposed = which == 0 ? ta_ : tb_;
    Value* stored_columns = f.dim(x->shape()[1]);
    Value* r = transposed ? column : row;
    Value* c = transposed ? row : column;
    return f.b.CreateAdd(f.b.CreateMul(r, stored_columns), c);
  }

  // Copies op(B) (K x N) into a stack buffer, transposed when to_columns is set, so that
  // the loops below read it contiguously.
  llvm::AllocaInst* local_copy(FunctionBuilder& f, bool to_columns) {
    std::int64_t k = k_.size(), n = n_.size();
    llvm::AllocaInst* buffer = entry_alloca(f, scalar_type(), k * n);
    buffer->setAlignment(llvm::Align(64));
    f.loop(f.constant(0), f.constant(k), [&](Value* kk) {
      f.loop(f.constant(0), f.constant(n), [&](Value* nn) {
        Value* value = f.load(kernel_.inputs[1], operand_offset(f, 1, kk, nn));
        Value* at = to_columns ? f.b.CreateAdd(f.b.CreateMul(nn, f.constant(k)), kk)
                               : f.b.CreateAdd(f.b.CreateMul(kk, f.constant(n)), nn);
        f.b.CreateStore(value, f.b.CreateGEP(scalar_type(), buffer, at));
      });
    });
    return buffer;
  }

  // Applies the activation to elements [start, start + count) of the output.
  void activate(FunctionBuilder& f, Value* start, Value* count) {
    if (activation_ == OpKind::Param) return;
    f.loop(f.constant(0), count, [&](Value* j) {
      Value* at = f.b.CreateAdd(start, j);
      f.store(kernel_.output, at, emit_unary(f, activation_, f.load(kernel_.output, at)));
    });
  }

  Value* bias_pointer(FunctionBuilder& f, std::int64_t column) {
    return f.element_pointer(kernel_.inputs[2], f.constant(column));
  }

  Launch emit_row() {
    FunctionBuilder f(state_, state_.fresh_name("matmul_row"));
    std::int64_t n = n_.size();
    std::int64_t vectors = ceil_div(n, lanes_);
    llvm::AllocaInst* local = tb_ ? local_copy(f, false) : nullptr;
    std::vector<Value*> bias(static_cast<std::size_t>(vectors), llvm::Constant::getNullValue(vector_type()));
    if (has_bias_)
      for (std::int64_t v = 0; v < vectors; ++v)
        bias[v] = load_vector(f, bias_pointer(f, v * lanes_), n - v * lanes_, kernel_.inputs[2]);
    std::vector<llvm::AllocaInst*> acc = accumulators(f, vectors);
    Value* k_count = f.dim(k_);
    f.loop(f.begin, f.end, [&](Value* i) {
      for (std::int64_t v = 0; v < vectors; ++v) f.b.CreateStore(bias[v], acc[v]);
      f.loop(f.constant(0), k_count, [&](Value* kk) {
        Value* a = f.b.CreateVectorSplat(static_cast<unsigned>(lanes_), f.load(kernel_.inputs[0], operand_offset(f, 0, i, kk)));
        for (std::int64_t v = 0; v < vectors; ++v) {
          Value* b_value;
          if (local != nullptr) {
            Value* at = f.b.CreateAdd(f.b.CreateMul(kk, f.constant(n)), f.constant(v * lanes_));
            b_value = load_vector(f, f.b.CreateGEP(scalar_type(), local, at), n - v * lanes_, -1);
          } else {
            Value* at = operand_offset(f, 1, kk, f.constant(v * lanes_));
            b_value = load_vector(f, f.element_pointer(kernel_.inputs[1], at), n - v * lanes_, kernel_.inputs[1]);
          }
          Value* slot = acc[v];
          f.b.CreateStore(fma(f, a, b_value, f.b.CreateLoad(vector_type(), slot)), slot);
        }
      });
      // ReLU applies to the accumulators before the store. Other activations run over the
      // stored row. The float32 sigmoid applied to all of a row's vectors at once spilled
      // registers for rows of 16 vectors, and its longer IR slowed the compile.
      bool in_registers = activation_ == OpKind::Relu;
      Value* row = f.b.CreateMul(i, f.constant(n));
      for (std::int64_t v = 0; v < vectors; ++v) {
        Value* value = f.b.CreateLoad(vector_type(), acc[v]);
        if (in_registers) value = emit_unary(f, activation_, value);
        store_vector(f, value, f.element_pointer(kernel_.output, f.b.CreateAdd(row, f.constant(v * lanes_))), n - v * lanes_, kernel_.output);
      }
      if (!in_registers) activate(f, row, f.constant(n));
    });
    f.finish();
    return {f.function, {m_}, {k_, n_}};
  }

  Launch emit_dot() {
    FunctionBuilder f(state_, state_.fresh_name("matmul_dot"));
    std::int64_t n = n_.size();
    std::int64_t k = k_.size();
    std::int64_t chunks = ceil_div(k, lanes_);
    // Rows of op(B)^T, each K long: the stored B when it is transposed, else a local copy.
    llvm::AllocaInst* local = tb_ ? nullptr : local_copy(f, true);
    llvm::FastMathFlags reassociate;
    reassociate.setAllowReassoc();
    f.loop(f.begin, f.end, [&](Value* i) {
      Value* a_row = f.b.CreateMul(i, f.constant(k));
      std::vector<Value*> a_chunks;
      for (std::int64_t c = 0; c < chunks; ++c)
        a_chunks.push_back(load_vector(f, f.element_pointer(kernel_.inputs[0], f.b.CreateAdd(a_row, f.constant(c * lanes_))), k - c * lanes_, kernel_.inputs[0]));
      for (std::int64_t col = 0; col < n; ++col) {
        Value* acc = llvm::Constant::getNullValue(vector_type());
        for (std::int64_t c = 0; c < chunks; ++c) {
          std::int64_t at = col * k + c * lanes_;
          Value* b_value = local != nullptr
                               ? load_vector(f, f.b.CreateConstGEP1_64(scalar_type(), local, at), k - c * lanes_, -1)
                               : load_vector(f, f.element_pointer(kernel_.inputs[1], f.constant(at)), k - c * lanes_, kernel_.inputs[1]);
          acc = fma(f, a_chunks[c], b_value, acc);
        }
        Value* start = llvm::ConstantFP::get(scalar_type(), 0.0);
        if (has_bias_) start = f.load(kernel_.inputs[2], f.constant(col));
        auto* sum = f.b.CreateFAddReduce(start, acc);
        sum->setFastMathFlags(reassociate);
        Value* value = activation_ == OpKind::Param ? static_cast<Value*>(sum) : emit_unary(f, activation_, sum);
        f.store(kernel_.output, f.b.CreateAdd(f.b.CreateMul(i, f.constant(n)), f.constant(col)), value);
      }
    });
    f.finish();
    return {f.function, {m_}, {k_, n_}};
  }

  // C = A_stored^T @ B, accumulated over the rows k of A_stored (K x M) and B (K x N). K is
  // the batch, often long, so float32 sums run in blocks of kOuterBlockRows rows whose
  // partial sums add up in separate totals. Over 100,000 rows that cuts the error about 20
  // times. Double totals were a little more accurate but took 10% longer to compile,
  // because they no longer fit the registers.
  Launch emit_outer(bool along_n) {
    FunctionBuilder f(state_, state_.fresh_name("matmul_outer"));
    std::int64_t m = m_.size(), n = n_.size();
    std::int64_t wide = along_n ? n : m;    // the vectorized side
    std::int64_t narrow = along_n ? m : n;  // the broadcast side
    std::int64_t vectors = ceil_div(wide, lanes_);
    std::int64_t count = narrow * vectors;
    std::vector<llvm::AllocaInst*> acc = accumulators(f, count);
    int wide_slot = along_n ? kernel_.inputs[1] : kernel_.inputs[0];
    int narrow_slot = along_n ? kernel_.inputs[0] : kernel_.inputs[1];
    bool blocked = node_.dtype() == DType::Float32;
    std::vector<llvm::AllocaInst*> totals;
    if (blocked) totals = accumulators(f, count);

    // Adds rows [first, last) of the product into the accumulators.
    auto accumulate = [&](Value* first, Value* last) {
      f.loop(first, last, [&](Value* kk) {
        std::vector<Value*> wide_values;
        for (std::int64_t v = 0; v < vectors; ++v) {
          Value* at = f.b.CreateAdd(f.b.CreateMul(kk, f.constant(wide)), f.constant(v * lanes_));
          wide_values.push_back(load_vector(f, f.element_pointer(wide_slot, at), wide - v * lanes_, wide_slot));
        }
        for (std::int64_t r = 0; r < narrow; ++r) {
          Value* scalar = f.load(narrow_slot, f.b.CreateAdd(f.b.CreateMul(kk, f.constant(narrow)), f.constant(r)));
          Value* splat = f.b.CreateVectorSplat(static_cast<unsigned>(lanes_), scalar);
          for (std::int64_t v = 0; v < vectors; ++v) {
            Value* slot = acc[r * vectors + v];
            f.b.CreateStore(fma(f, splat, wide_values[v], f.b.CreateLoad(vector_type(), slot)), slot);
          }
        }
      });
    };
    auto clear = [&](const std::vector<llvm::AllocaInst*>& slots, llvm::Type* type) {
      for (llvm::AllocaInst* slot : slots) f.b.CreateStore(llvm::Constant::getNullValue(type), slot);
    };

    f.if_then(f.b.CreateICmpSLT(f.begin, f.end), [&] {
      clear(acc, vector_type());
      Value* rows = f.dim(k_);
      if (blocked) {
        clear(totals, vector_type());
        Value* block_count = f.b.CreateSDiv(f.b.CreateAdd(rows, f.constant(kOuterBlockRows - 1)), f.constant(kOuterBlockRows));
        f.loop(f.constant(0), block_count, [&](Value* block) {
          Value* first = f.b.CreateMul(block, f.constant(kOuterBlockRows));
          Value* last = f.b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, f.b.CreateAdd(first, f.constant(kOuterBlockRows)), rows);
          accumulate(first, last);
          for (std::int64_t s = 0; s < count; ++s) {
            Value* partial = f.b.CreateLoad(vector_type(), acc[s]);
            f.b.CreateStore(f.b.CreateFAdd(f.b.CreateLoad(vector_type(), totals[s]), partial), totals[s]);
          }
          clear(acc, vector_type());
        });
        for (std::int64_t s = 0; s < count; ++s)
          f.b.CreateStore(f.b.CreateLoad(vector_type(), totals[s]), acc[s]);
      } else {
        accumulate(f.constant(0), rows);
      }
      for (std::int64_t r = 0; r < narrow; ++r) {
        for (std::int64_t v = 0; v < vectors; ++v) {
          Value* value = f.b.CreateLoad(vector_type(), acc[r * vectors + v]);
          std::int64_t valid = std::min<std::int64_t>(lanes_, wide - v * lanes_);
          if (along_n) {
            if (has_bias_) value = f.b.CreateFAdd(value, load_vector(f, bias_pointer(f, v * lanes_), valid, kernel_.inputs[2]));
            store_vector(f, value, f.element_pointer(kernel_.output, f.constant(r * n + v * lanes_)), valid, kernel_.output);
            continue;
          }
          // Vectors run down a column of C here, so their lanes go to separate rows.
          for (std::int64_t lane = 0; lane < valid; ++lane) {
            Value* element = f.b.CreateExtractElement(value, static_cast<std::uint64_t>(lane));
            std::int64_t row = v * lanes_ + lane;
            if (has_bias_) element = f.b.CreateFAdd(element, f.load(kernel_.inputs[2], f.constant(r)));
            f.store(kernel_.output, f.constant(row * n + r), element);
          }
        }
      }
      activate(f, f.constant(0), f.constant(m * n));
    });
    f.finish();
    return {f.function, {}, {m_, k_, n_}};
  }

  ModuleState& state_;
  const Kernel& kernel_;
  const Node& node_;
  bool ta_ = false;
  bool tb_ = false;
  bool has_bias_ = false;
  OpKind activation_ = OpKind::Param;
  Dim m_ = 0, k_ = 0, n_ = 0;
  int lanes_ = 16;
};

}  // namespace

std::optional<Launch> emit_small_matmul(ModuleState& state, const Kernel& kernel) {
  return SmallMatmul(state, kernel).emit();
}

}  // namespace damo::emit
