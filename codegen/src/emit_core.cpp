// Function building blocks, scalar op emission and the entry function.
#include <fmt/format.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <limits>

#include "emitter.h"

namespace damo::emit {

using llvm::Value;

namespace {

// Minimum elements of work in one chunk of a parallel loop. Smaller chunks cost more in
// scheduling than they gain.
constexpr std::int64_t kGrainElements = 65536;

}  // namespace

ModuleState::ModuleState(llvm::Module& module_in, const Program& program_in, int vector_bytes_in)
    : context(module_in.getContext()), module(module_in), program(program_in),
      vector_bytes(vector_bytes_in) {
  llvm::MDBuilder md(context);
  llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("damo.buffers");
  std::size_t count = program.spec.slots.size();
  for (std::size_t i = 0; i < count; ++i)
    scopes.push_back(md.createAnonymousAliasScope(domain, "slot" + std::to_string(i)));
  // Aliased slots share memory with their root, so they share its scope.
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t root = i;
    while (program.spec.slots[root].kind == BufferSlot::Kind::Alias)
      root = static_cast<std::size_t>(program.spec.slots[root].index);
    scopes[i] = scopes[root];
  }
}

llvm::Type* value_type(llvm::LLVMContext& context, DType dtype) {
  switch (dtype) {
  case DType::Bool: return llvm::Type::getInt1Ty(context);
  case DType::Int32: return llvm::Type::getInt32Ty(context);
  case DType::Int64: return llvm::Type::getInt64Ty(context);
  case DType::Float32: return llvm::Type::getFloatTy(context);
  case DType::Float64: return llvm::Type::getDoubleTy(context);
  }
  return nullptr;
}

llvm::Type* memory_type(llvm::LLVMContext& context, DType dtype) {
  if (dtype == DType::Bool) return llvm::Type::getInt8Ty(context);
  return value_type(context, dtype);
}

FunctionBuilder::FunctionBuilder(ModuleState& state_in, const std::string& name)
    : state(state_in), context(state_in.context), b(state_in.context) {
  auto* ptr = llvm::PointerType::getUnqual(context);
  auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, i64(), i64()}, false);
  function = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, state.module);
  function->addFnAttr(llvm::Attribute::NoUnwind);
  function->addFnAttr(llvm::Attribute::NoFree);
  function->addFnAttr(llvm::Attribute::NoSync);
  auto args = function->arg_begin();
  context_arg = &*args++;
  begin = &*args++;
  end = &*args;
  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", function));
  buffers_ = b.CreateLoad(ptr, context_arg, "buffers");
  sizes_ = b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, context_arg, 1), "sizes");
}

Value* FunctionBuilder::dim(const Dim& d) {
  if (d.is_static()) return constant(d.size());
  auto it = symbol_sizes_.find(d.symbol());
  if (it != symbol_sizes_.end()) return it->second;
  // Loaded once in the entry block, where every use can see it.
  llvm::IRBuilder<> entry_builder(&function->getEntryBlock(), std::next(llvm::BasicBlock::iterator(
                                                                  llvm::cast<llvm::Instruction>(sizes_))));
  Value* index = entry_builder.getInt64(static_cast<std::uint64_t>(state.program.symbol_index(d.symbol())));
  Value* size = entry_builder.CreateLoad(i64(), entry_builder.CreateGEP(i64(), sizes_, index), d.symbol());
  symbol_sizes_[d.symbol()] = size;
  return size;
}

Value* FunctionBuilder::block_first_row() {
  Value* index = constant(static_cast<std::int64_t>(state.program.spec.symbols.size()));
  return b.CreateLoad(i64(), b.CreateGEP(i64(), sizes_, index), "block_first_row");
}

Value* FunctionBuilder::product(const std::vector<Dim>& dims) {
  std::int64_t factor = 1;
  Value* result = nullptr;
  for (const Dim& d : dims) {
    if (d.is_static()) {
      factor *= d.size();
      continue;
    }
    Value* size = dim(d);
    result = result == nullptr ? size : b.CreateMul(result, size);
  }
  if (result == nullptr) return constant(factor);
  return factor == 1 ? result : b.CreateMul(result, constant(factor));
}

Value* FunctionBuilder::slot_pointer(int slot) {
  auto it = slot_pointers_.find(slot);
  if (it != slot_pointers_.end()) return it->second;
  auto* ptr = llvm::PointerType::getUnqual(context);
  llvm::IRBuilder<> entry_builder(&function->getEntryBlock(), std::next(llvm::BasicBlock::iterator(
                                                                  llvm::cast<llvm::Instruction>(sizes_))));
  Value* address = entry_builder.CreateGEP(ptr, buffers_, entry_builder.getInt64(static_cast<std::uint64_t>(slot)));
  auto* pointer = entry_builder.CreateLoad(ptr, address, fmt::format("slot{}", slot));
  pointer->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(context, {}));
  slot_pointers_[slot] = pointer;
  return pointer;
}

Value* FunctionBuilder::element_pointer(int slot, Value* index) {
  DType dtype = state.program.spec.slots[slot].dtype;
  return b.CreateGEP(memory_type(context, dtype), slot_pointer(slot), index);
}

void FunctionBuilder::tag_access(llvm::Instruction* access, int slot) {
  accesses_.emplace_back(access, state.scopes[static_cast<std::size_t>(slot)]);
}

Value* FunctionBuilder::load(int slot, Value* index) {
  DType dtype = state.program.spec.slots[slot].dtype;
  auto* load = b.CreateLoad(memory_type(context, dtype), element_pointer(slot, index));
  tag_access(load, slot);
  if (dtype == DType::Bool) return b.CreateICmpNE(load, b.getInt8(0));
  return load;
}

void FunctionBuilder::store(int slot, Value* index, Value* value) {
  DType dtype = state.program.spec.slots[slot].dtype;
  if (dtype == DType::Bool) value = b.CreateZExt(value, b.getInt8Ty());
  auto* store = b.CreateStore(value, element_pointer(slot, index));
  tag_access(store, slot);
}

void FunctionBuilder::loop(Value* low, Value* high, const std::function<void(Value*)>& body,
                           int interleave, bool unroll, bool vectorize, bool fold_tail) {
  llvm::BasicBlock* before = b.GetInsertBlock();
  auto* header = llvm::BasicBlock::Create(context, "loop", function);
  auto* body_block = llvm::BasicBlock::Create(context, "body", function);
  auto* exit = llvm::BasicBlock::Create(context, "exit", function);
  b.CreateBr(header);

  b.SetInsertPoint(header);
  llvm::PHINode* index = b.CreatePHI(i64(), 2, "i");
  index->addIncoming(low, before);
  b.CreateCondBr(b.CreateICmpSLT(index, high), body_block, exit);

  b.SetInsertPoint(body_block);
  body(index);
  Value* next = b.CreateAdd(index, constant(1), "", /*HasNUW=*/true, /*HasNSW=*/true);
  index->addIncoming(next, b.GetInsertBlock());
  llvm::BranchInst* latch = b.CreateBr(header);
  std::vector<llvm::Metadata*> hints = {nullptr};
  if (interleave > 1) {
    llvm::Metadata* count[] = {llvm::MDString::get(context, "llvm.loop.interleave.count"),
                               llvm::ConstantAsMetadata::get(b.getInt32(static_cast<std::uint32_t>(interleave)))};
    hints.push_back(llvm::MDNode::get(context, count));
  }
  if (!unroll) hints.push_back(llvm::MDNode::get(context, {llvm::MDString::get(context, "llvm.loop.unroll.disable")}));
  if (!vectorize) {
    llvm::Metadata* off[] = {llvm::MDString::get(context, "llvm.loop.vectorize.enable"),
                             llvm::ConstantAsMetadata::get(b.getFalse())};
    hints.push_back(llvm::MDNode::get(context, off));
  }
  if (fold_tail) {
    llvm::Metadata* fold[] = {llvm::MDString::get(context, "llvm.loop.vectorize.predicate.enable"),
                              llvm::ConstantAsMetadata::get(b.getTrue())};
    hints.push_back(llvm::MDNode::get(context, fold));
  }
  if (hints.size() > 1) {
    // The loop's identity node refers to itself, as LLVM's loop metadata requires.
    llvm::MDNode* id = llvm::MDNode::getDistinct(context, hints);
    id->replaceOperandWith(0, id);
    latch->setMetadata(llvm::LLVMContext::MD_loop, id);
  }

  b.SetInsertPoint(exit);
}

void FunctionBuilder::if_then(Value* condition, const std::function<void()>& then) {
  auto* then_block = llvm::BasicBlock::Create(context, "then", function);
  auto* after = llvm::BasicBlock::Create(context, "after", function);
  b.CreateCondBr(condition, then_block, after);
  b.SetInsertPoint(then_block);
  then();
  b.CreateBr(after);
  b.SetInsertPoint(after);
}

void FunctionBuilder::finish() {
  // The scopes this function touches, in first-use order; each access's noalias list
  // contains all of them but its own.
  std::vector<llvm::MDNode*> touched;
  for (const auto& [access, scope] : accesses_)
    if (std::find(touched.begin(), touched.end(), scope) == touched.end()) touched.push_back(scope);
  std::unordered_map<llvm::MDNode*, std::pair<llvm::MDNode*, llvm::MDNode*>> lists;
  for (llvm::MDNode* scope : touched) {
    std::vector<llvm::Metadata*> others;
    for (llvm::MDNode* other : touched)
      if (other != scope) others.push_back(other);
    lists[scope] = {llvm::MDNode::get(context, {scope}), llvm::MDNode::get(context, others)};
  }
  for (const auto& [access, scope] : accesses_) {
    access->setMetadata(llvm::LLVMContext::MD_alias_scope, lists[scope].first);
    access->setMetadata(llvm::LLVMContext::MD_noalias, lists[scope].second);
  }
  accesses_.clear();
  b.CreateRetVoid();
  std::string problems;
  llvm::raw_string_ostream stream(problems);
  if (llvm::verifyFunction(*function, &stream))
    fail_internal("verifyFunction", fmt::format("invalid IR in {}: {}",
                                                function->getName().str(), stream.str()));
}

Value* emit_cast(FunctionBuilder& f, Value* value, DType from, DType to) {
  auto& b = f.b;
  if (from == to) return value;
  llvm::Type* target = value_type(f.context, to);
  if (to == DType::Bool) {
    if (is_float(from)) return b.CreateFCmpUNE(value, llvm::ConstantFP::get(value->getType(), 0.0));
    return b.CreateICmpNE(value, llvm::ConstantInt::get(value->getType(), 0));
  }
  if (from == DType::Bool) return is_float(to) ? b.CreateUIToFP(value, target) : b.CreateZExt(value, target);
  if (is_integer(from) && is_integer(to)) return b.CreateSExtOrTrunc(value, target);
  if (is_integer(from)) return b.CreateSIToFP(value, target);
  if (is_float(to)) return b.CreateFPCast(value, target);
  // Float to integer saturates and maps NaN to 0, as llvm.fptosi.sat does. The vectorizer
  // leaves that intrinsic scalar, so these steps compute the same result in vectors. Values
  // from 2^(bits-1) up give the largest integer and NaN gives 0. The rest convert after
  // clamping from below. A lane that a select drops may be poison.
  unsigned bits = target->getIntegerBitWidth();
  llvm::Type* source = value->getType();
  Value* limit = llvm::ConstantFP::get(source, std::ldexp(1.0, static_cast<int>(bits) - 1));
  Value* lowest = llvm::ConstantFP::get(source, -std::ldexp(1.0, static_cast<int>(bits) - 1));
  Value* converted = b.CreateFPToSI(b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, value, lowest), target);
  Value* largest = llvm::ConstantInt::get(target, llvm::APInt::getSignedMaxValue(bits));
  converted = b.CreateSelect(b.CreateFCmpOGE(value, limit), largest, converted);
  return b.CreateSelect(b.CreateFCmpUNO(value, value), llvm::ConstantInt::get(target, 0), converted);
}

namespace {

Value* float_constant(FunctionBuilder& f, llvm::Type* type, double v) { return llvm::ConstantFP::get(type, v); }

Value* unary_intrinsic(FunctionBuilder& f, llvm::Intrinsic::ID id, Value* x) {
  return f.b.CreateUnaryIntrinsic(id, x);
}

// Calls a libm function (expm1f, log1p, tanh, ...) declared free of side effects, so that
// the loop vectorizer may replace it with its libmvec vector variant.
Value* libm_call(FunctionBuilder& f, const std::string& base, Value* x) {
  bool single = x->getType()->isFloatTy();
  std::string name = single ? base + "f" : base;
  auto* type = llvm::FunctionType::get(x->getType(), {x->getType()}, false);
  llvm::FunctionCallee callee = f.state.module.getOrInsertFunction(name, type);
  if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    fn->setDoesNotThrow();
    fn->setDoesNotAccessMemory();
    fn->setWillReturn();
  }
  auto* call = f.b.CreateCall(callee, {x});
  call->setDoesNotAccessMemory();
  return call;
}

// Computes e^x of a float32 or float64 value. float32 is inline code, within 1 ulp over a
// dense sweep of its range, which the loop vectorizer widens without a call. On 10 million
// elements, exp, sigmoid and fused sums of exp took 20% to 45% less time than with
// libmvec's expf on a Zen 4 machine. float64 calls exp. The softmax, cross-entropy and log-sum-exp
// kernels keep libmvec's expf: their short rows (10 classes) vectorize across rows only
// while exp is a call, and ran twice as slow with this code.
Value* emit_exp(FunctionBuilder& f, Value* x) {
  auto& b = f.b;
  llvm::Type* t = x->getType();
  if (!t->getScalarType()->isFloatTy()) return b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
  // e^x = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2, |r| <= ln(2) / 2. ln 2 is
  // split into a high part with 9 significant bits, so n * high is exact for |n| < 2^15,
  // and a low part carrying the rest. e^r is its Taylor series to degree 7, whose
  // truncation error at |r| = ln(2) / 2 is below 1e-8 relative.
  llvm::Type* i32 = b.getInt32Ty();
  if (auto* vector = llvm::dyn_cast<llvm::VectorType>(t)) i32 = llvm::VectorType::get(i32, vector->getElementCount());
  auto c = [&](double v) { return float_constant(f, t, v); };
  auto ci = [&](int v) { return llvm::ConstantInt::getSigned(i32, v); };
  auto fma = [&](Value* a, Value* m, Value* add) {
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {t}, {a, m, add});
  };

  // Past these bounds e^x is +inf or rounds to 0 in float32; clamping keeps n within
  // [-150, 129]. NaN fails both comparisons and is restored at the end.
  Value* clamped = b.CreateSelect(b.CreateFCmpOGT(x, c(89.0)), c(89.0), x);
  clamped = b.CreateSelect(b.CreateFCmpOLT(clamped, c(-104.0)), c(-104.0), clamped);
  Value* n = b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, b.CreateFMul(clamped, c(1.4426950408889634)));
  Value* r = fma(b.CreateFNeg(n), c(0.693359375), clamped);
  r = fma(b.CreateFNeg(n), c(-2.1219444005469057e-4), r);

  // Estrin's scheme: the pairs and the powers of r are independent, so the polynomial
  // takes three fused multiply-adds of latency after r^4 rather than seven in a chain.
  Value* r2 = b.CreateFMul(r, r);
  Value* r4 = b.CreateFMul(r2, r2);
  Value* p01 = fma(r, c(1.0), c(1.0));
  Value* p23 = fma(r, c(1.0 / 6.0), c(0.5));
  Value* p45 = fma(r, c(1.0 / 120.0), c(1.0 / 24.0));
  Value* p67 = fma(r, c(1.0 / 5040.0), c(1.0 / 720.0));
  Value* p = fma(fma(p67, r2, p45), r4, fma(p23, r2, p01));

  // 2^n as two factors 2^(n/2) and 2^(n - n/2), each a normal float for n in [-150, 129],
  // so that results in the subnormal range round once, in the last product.
  Value* ni = b.CreateFPToSI(n, i32);
  Value* half = b.CreateAShr(ni, ci(1));
  auto power = [&](Value* e) { return b.CreateBitCast(b.CreateShl(b.CreateAdd(e, ci(127)), ci(23)), t); };
  Value* result = b.CreateFMul(b.CreateFMul(p, power(half)), power(b.CreateSub(ni, half)));
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, result);
}

// Returns k where x is exactly 10^k for k in [0, 22], else log10_x. libmvec's 4-lane float64
// log10 gives log10(1e7) = 7.0000000000000009, which breaks floor(log10(x)) digit counts.
// 10^k is built as the product of 10^(2^i) over the set bits of k, exact at every step.
Value* exact_log10_of_powers(FunctionBuilder& f, Value* x, Value* log10_x) {
  auto& b = f.b;
  llvm::Type* t = x->getType();
  Value* k = unary_intrinsic(f, llvm::Intrinsic::roundeven, log10_x);
  Value* in_range = b.CreateAnd(b.CreateFCmpOGE(k, float_constant(f, t, 0.0)),
                                b.CreateFCmpOLE(k, float_constant(f, t, 22.0)));
  llvm::Type* int_type = t->getWithNewType(b.getInt32Ty());
  Value* bits = b.CreateFPToSI(b.CreateSelect(in_range, k, float_constant(f, t, 0.0)), int_type);
  Value* power = float_constant(f, t, 1.0);
  double factor = 10.0;
  for (int bit = 1; bit <= 16; bit *= 2, factor *= factor) {
    Value* set = b.CreateICmpNE(b.CreateAnd(bits, llvm::ConstantInt::get(int_type, bit)),
                                llvm::ConstantInt::get(int_type, 0));
    power = b.CreateFMul(power, b.CreateSelect(set, float_constant(f, t, factor), float_constant(f, t, 1.0)));
  }
  Value* exact = b.CreateAnd(in_range, b.CreateFCmpOEQ(x, power));
  return b.CreateSelect(exact, k, log10_x);
}

Value* emit_float_unary(FunctionBuilder& f, OpKind op, Value* x) {
  auto& b = f.b;
  llvm::Type* t = x->getType();
  Value* zero = float_constant(f, t, 0.0);
  Value* one = float_constant(f, t, 1.0);
  switch (op) {
  case OpKind::Neg: return b.CreateFNeg(x);
  case OpKind::Abs: return unary_intrinsic(f, llvm::Intrinsic::fabs, x);
  case OpKind::Sign: {
    Value* negative = b.CreateSelect(b.CreateFCmpOLT(x, zero), float_constant(f, t, -1.0), x);
    Value* signed_zero = b.CreateSelect(b.CreateFCmpOEQ(x, zero), zero, negative);
    return b.CreateSelect(b.CreateFCmpOGT(x, zero), one, signed_zero);
  }
  case OpKind::Exp: return emit_exp(f, x);
  case OpKind::Expm1: return libm_call(f, "expm1", x);
  case OpKind::Log: return unary_intrinsic(f, llvm::Intrinsic::log, x);
  case OpKind::Log1p: return libm_call(f, "log1p", x);
  // libmvec's float32 log2 and log10 are off by up to 2 ulp (log10(1000) = 3.0000002), so
  // float32 goes through the float64 functions and rounds once.
  case OpKind::Log2: {
    if (!t->isFloatTy()) return libm_call(f, "log2", x);
    return b.CreateFPTrunc(libm_call(f, "log2", b.CreateFPExt(x, b.getDoubleTy())), t);
  }
  case OpKind::Log10: {
    if (!t->isFloatTy()) return exact_log10_of_powers(f, x, libm_call(f, "log10", x));
    Value* wide = b.CreateFPExt(x, b.getDoubleTy());
    return b.CreateFPTrunc(exact_log10_of_powers(f, wide, libm_call(f, "log10", wide)), t);
  }
  case OpKind::Erf: return libm_call(f, "erf", x);
  case OpKind::Erfc: return libm_call(f, "erfc", x);
  case OpKind::Sqrt: return unary_intrinsic(f, llvm::Intrinsic::sqrt, x);
  case OpKind::Square: return b.CreateFMul(x, x);
  case OpKind::Reciprocal: return b.CreateFDiv(one, x);
  case OpKind::Sin: return unary_intrinsic(f, llvm::Intrinsic::sin, x);
  case OpKind::Cos: return unary_intrinsic(f, llvm::Intrinsic::cos, x);
  case OpKind::Tanh: return libm_call(f, "tanh", x);
  case OpKind::Sigmoid: {
    // e = exp(-|x|) is at most 1, so it cannot overflow. Sigmoid is 1 / (1 + e) for x >= 0
    // and e / (1 + e) below, which keeps the tiny values of large negative x.
    Value* e = emit_exp(f, b.CreateFNeg(unary_intrinsic(f, llvm::Intrinsic::fabs, x)));
    Value* r = b.CreateFDiv(one, b.CreateFAdd(one, e));
    return b.CreateSelect(b.CreateFCmpOLT(x, zero), b.CreateFMul(e, r), r);
  }
  case OpKind::Softplus: {
    Value* positive = b.CreateSelect(b.CreateFCmpOGT(x, zero), x, zero);
    Value* e = emit_exp(f, b.CreateFNeg(unary_intrinsic(f, llvm::Intrinsic::fabs, x)));
    return b.CreateFAdd(positive, libm_call(f, "log1p", e));
  }
  case OpKind::Relu: return b.CreateSelect(b.CreateFCmpUGT(x, zero), x, zero);
  case OpKind::Floor: return unary_intrinsic(f, llvm::Intrinsic::floor, x);
  case OpKind::Ceil: return unary_intrinsic(f, llvm::Intrinsic::ceil, x);
  case OpKind::Round: return unary_intrinsic(f, llvm::Intrinsic::roundeven, x);
  case OpKind::IsNan: return b.CreateFCmpUNO(x, x);
  case OpKind::IsInf:
    return b.CreateFCmpOEQ(unary_intrinsic(f, llvm::Intrinsic::fabs, x),
                           llvm::ConstantFP::getInfinity(t));
  case OpKind::Not: return b.CreateFCmpOEQ(x, zero);
  case OpKind::StopGradient: return x;
  default: break;
  }
  fail_internal("emit_float_unary", fmt::format("no float code for {}", op_name(op)));
}

Value* emit_integer_unary(FunctionBuilder& f, OpKind op, Value* x) {
  auto& b = f.b;
  Value* zero = llvm::ConstantInt::get(x->getType(), 0);
  if (x->getType()->isIntegerTy(1)) {
    if (op == OpKind::Not) return b.CreateNot(x);
    if (op == OpKind::IsNan || op == OpKind::IsInf) return b.getFalse();
    if (op == OpKind::StopGradient || op == OpKind::Floor || op == OpKind::Ceil || op == OpKind::Round) return x;
  }
  switch (op) {
  case OpKind::Neg: return b.CreateSub(zero, x);
  case OpKind::Abs: return b.CreateSelect(b.CreateICmpSLT(x, zero), b.CreateSub(zero, x), x);
  case OpKind::Sign: {
    Value* negative = b.CreateSelect(b.CreateICmpSLT(x, zero), llvm::ConstantInt::getSigned(x->getType(), -1), zero);
    return b.CreateSelect(b.CreateICmpSGT(x, zero), llvm::ConstantInt::get(x->getType(), 1), negative);
  }
  case OpKind::Square: return b.CreateMul(x, x);
  case OpKind::Relu: return b.CreateSelect(b.CreateICmpSGT(x, zero), x, zero);
  case OpKind::Floor:
  case OpKind::Ceil:
  case OpKind::Round:
  case OpKind::StopGradient: return x;
  case OpKind::IsNan:
  case OpKind::IsInf: return b.getFalse();
  case OpKind::Not: return b.CreateICmpEQ(x, zero);
  default: break;
  }
  fail_internal("emit_integer_unary", fmt::format("no integer code for {}", op_name(op)));
}

// NumPy's floating divmod: returns {floor quotient, modulo with the divisor's sign}.
std::pair<Value*, Value*> float_divmod(FunctionBuilder& f, Value* a, Value* c) {
  auto& b = f.b;
  llvm::Type* t = a->getType();
  Value* zero = float_constant(f, t, 0.0);
  Value* one = float_constant(f, t, 1.0);
  Value* mod = b.CreateFRem(a, c);
  Value* div = b.CreateFDiv(b.CreateFSub(a, mod), c);
  Value* mod_nonzero = b.CreateFCmpUNE(mod, zero);
  Value* signs_differ = b.CreateXor(b.CreateFCmpOLT(c, zero), b.CreateFCmpOLT(mod, zero));
  Value* adjust = b.CreateAnd(mod_nonzero, signs_differ);
  Value* zero_with_sign =
      b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, zero, c);
  Value* mod_adjusted = b.CreateSelect(adjust, b.CreateFAdd(mod, c), b.CreateSelect(mod_nonzero, mod, zero_with_sign));
  Value* div_adjusted = b.CreateSelect(adjust, b.CreateFSub(div, one), div);
  Value* floored = unary_intrinsic(f, llvm::Intrinsic::floor, div_adjusted);
  Value* round_up = b.CreateFCmpOGT(b.CreateFSub(div_adjusted, floored), float_constant(f, t, 0.5));
  Value* quotient = b.CreateSelect(round_up, b.CreateFAdd(floored, one), floored);
  Value* zero_quotient = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, zero, b.CreateFDiv(a, c));
  quotient = b.CreateSelect(b.CreateFCmpUNE(div_adjusted, zero), quotient, zero_quotient);
  Value* divisor_zero = b.CreateFCmpOEQ(c, zero);
  quotient = b.CreateSelect(divisor_zero, b.CreateFDiv(a, c), quotient);
  mod_adjusted = b.CreateSelect(divisor_zero, mod, mod_adjusted);
  return {quotient, mod_adjusted};
}

// Python integer floor division and modulo; division by zero gives 0 and the most negative
// value divided by -1 wraps, without a hardware trap.
std::pair<Value*, Value*> integer_divmod(FunctionBuilder& f, Value* a, Value* c) {
  auto& b = f.b;
  llvm::Type* t = a->getType();
  Value* zero = llvm::ConstantInt::get(t, 0);
  Value* one = llvm::ConstantInt::get(t, 1);
  Value* minimum = llvm::ConstantInt::get(t, llvm::APInt::getSignedMinValue(t->getIntegerBitWidth()));
  Value* divisor_zero = b.CreateICmpEQ(c, zero);
  Value* overflow = b.CreateAnd(b.CreateICmpEQ(a, minimum), b.CreateICmpEQ(c, llvm::ConstantInt::getSigned(t, -1)));
  Value* safe = b.CreateSelect(b.CreateOr(divisor_zero, overflow), one, c);
  Value* q = b.CreateSDiv(a, safe);
  Value* r = b.CreateSRem(a, safe);
  Value* adjust = b.CreateAnd(b.CreateICmpNE(r, zero), b.CreateXor(b.CreateICmpSLT(r, zero), b.CreateICmpSLT(safe, zero)));
  q = b.CreateSelect(adjust, b.CreateSub(q, one), q);
  r = b.CreateSelect(adjust, b.CreateAdd(r, safe), r);
  return {b.CreateSelect(divisor_zero, zero, q), b.CreateSelect(divisor_zero, zero, r)};
}

// Integer power by squaring over every exponent bit, with no branches so that it vectorizes.
Value* integer_pow(FunctionBuilder& f, Value* base, Value* exponent) {
  auto& b = f.b;
  llvm::Type* t = base->getType();
  unsigned bits = t->getIntegerBitWidth();
  Value* one = llvm::ConstantInt::get(t, 1);
  Value* result = one;
  Value* square = base;
  for (unsigned i = 0; i + 1 < bits; ++i) {
    Value* bit = b.CreateTrunc(b.CreateLShr(exponent, llvm::ConstantInt::get(t, i)), b.getInt1Ty());
    result = b.CreateSelect(bit, b.CreateMul(result, square), result);
    square = b.CreateMul(square, square);
  }
  // A negative exponent gives 0, except for bases 1 and -1.
  Value* odd = b.CreateTrunc(exponent, b.getInt1Ty());
  Value* minus_one = llvm::ConstantInt::getSigned(t, -1);
  Value* negative_result = b.CreateSelect(
      b.CreateICmpEQ(base, one), one,
      b.CreateSelect(b.CreateICmpEQ(base, minus_one), b.CreateSelect(odd, minus_one, one),
                     llvm::ConstantInt::get(t, 0)));
  return b.CreateSelect(b.CreateICmpSLT(exponent, llvm::ConstantInt::get(t, 0)), negative_result, result);
}

Value* emit_float_binary(FunctionBuilder& f, OpKind op, Value* x, Value* y) {
  auto& b = f.b;
  switch (op) {
  case OpKind::Add: return b.CreateFAdd(x, y);
  case OpKind::Sub: return b.CreateFSub(x, y);
  case OpKind::Mul: return b.CreateFMul(x, y);
  case OpKind::Div: return b.CreateFDiv(x, y);
  case OpKind::FloorDiv: return float_divmod(f, x, y).first;
  case OpKind::Mod: return float_divmod(f, x, y).second;
  case OpKind::Pow: return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, y);
  case OpKind::Maximum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, y);
  case OpKind::Minimum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, x, y);
  case OpKind::Eq: return b.CreateFCmpOEQ(x, y);
  case OpKind::Ne: return b.CreateFCmpUNE(x, y);
  case OpKind::Lt: return b.CreateFCmpOLT(x, y);
  case OpKind::Le: return b.CreateFCmpOLE(x, y);
  case OpKind::Gt: return b.CreateFCmpOGT(x, y);
  case OpKind::Ge: return b.CreateFCmpOGE(x, y);
  default: break;
  }
  fail_internal("emit_float_binary", fmt::format("no float code for {}", op_name(op)));
}

Value* emit_integer_binary(FunctionBuilder& f, OpKind op, Value* x, Value* y) {
  auto& b = f.b;
  bool boolean = x->getType()->isIntegerTy(1);
  switch (op) {
  case OpKind::Add: return b.CreateAdd(x, y);
  case OpKind::Sub: return b.CreateSub(x, y);
  case OpKind::Mul: return b.CreateMul(x, y);
  case OpKind::FloorDiv: return integer_divmod(f, x, y).first;
  case OpKind::Mod: return integer_divmod(f, x, y).second;
  case OpKind::Pow: return integer_pow(f, x, y);
  case OpKind::Maximum: return boolean ? b.CreateOr(x, y) : b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, y);
  case OpKind::Minimum: return boolean ? b.CreateAnd(x, y) : b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, x, y);
  case OpKind::Eq: return b.CreateICmpEQ(x, y);
  case OpKind::Ne: return b.CreateICmpNE(x, y);
  case OpKind::Lt: return boolean ? b.CreateICmpULT(x, y) : b.CreateICmpSLT(x, y);
  case OpKind::Le: return boolean ? b.CreateICmpULE(x, y) : b.CreateICmpSLE(x, y);
  case OpKind::Gt: return boolean ? b.CreateICmpUGT(x, y) : b.CreateICmpSGT(x, y);
  case OpKind::Ge: return boolean ? b.CreateICmpUGE(x, y) : b.CreateICmpSGE(x, y);
  case OpKind::And: return b.CreateAnd(x, y);
  case OpKind::Or: return b.CreateOr(x, y);
  default: break;
  }
  fail_internal("emit_integer_binary", fmt::format("no integer code for {}", op_name(op)));
}

}  // namespace

Value* emit_unary(FunctionBuilder& f, OpKind op, Value* x) {
  return x->getType()->isFPOrFPVectorTy() ? emit_float_unary(f, op, x) : emit_integer_unary(f, op, x);
}

Value* emit_scalar_op(FunctionBuilder& f, const Node& node, const std::vector<Value*>& args) {
  auto& b = f.b;
  OpKind op = node.op();
  if (op == OpKind::Cast) return emit_cast(f, args.at(0), node.input(0)->dtype(), node.dtype());
  bool floating = args.at(0)->getType()->isFloatingPointTy();
  switch (op_category(op)) {
  case OpCategory::Unary:
    return floating ? emit_float_unary(f, op, args[0]) : emit_integer_unary(f, op, args[0]);
  case OpCategory::Binary:
    if (op == OpKind::And) return b.CreateAnd(args[0], args[1]);
    if (op == OpKind::Or) return b.CreateOr(args[0], args[1]);
    return floating ? emit_float_binary(f, op, args[0], args[1]) : emit_integer_binary(f, op, args[0], args[1]);
  default: break;
  }
  if (op == OpKind::Where) return b.CreateSelect(args.at(0), args.at(1), args.at(2));
  if (op == OpKind::Clip) {
    OpKind lower = OpKind::Maximum, upper = OpKind::Minimum;
    Value* low = floating ? emit_float_binary(f, lower, args[0], args[1]) : emit_integer_binary(f, lower, args[0], args[1]);
    return floating ? emit_float_binary(f, upper, low, args[2]) : emit_integer_binary(f, upper, low, args[2]);
  }
  if (op == OpKind::BinaryCrossentropy) {
    // -(t * log(p) + (1 - t) * log1p(-p)), as the reference evaluator computes it: log(1 - p)
    // would round 1 - p and lose every digit of a p below the float's epsilon.
    llvm::Type* t = args[0]->getType();
    Value* one = llvm::ConstantFP::get(t, 1.0);
    Value* p = args[0];
    Value* target = args[1];
    Value* first = b.CreateFMul(target, unary_intrinsic(f, llvm::Intrinsic::log, p));
    Value* second = b.CreateFMul(b.CreateFSub(one, target), libm_call(f, "log1p", b.CreateFNeg(p)));
    return b.CreateFNeg(b.CreateFAdd(first, second));
  }
  fail_internal("emit_scalar_op", fmt::format("{} is not elementwise", op_name(op)));
}

Value* emit_body(FunctionBuilder& f, const Node* body, const std::vector<Value*>& params) {
  std::unordered_map<const Node*, Value*> values;
  // Bodies are small expressions, so an explicit post-order walk keeps this iterative.
  std::vector<std::pair<const Node*, bool>> stack = {{body, false}};
  while (!stack.empty()) {
    auto [node, expanded] = stack.back();
    stack.pop_back();
    if (values.count(node) != 0) continue;
    if (node->op() == OpKind::Param) {
      values[node] = params.at(static_cast<std::size_t>(node->attr(0)));
      continue;
    }
    if (node->is_constant()) {
      DAMO_ASSERT(node->value().numel() == 1, "a fused body holds a non-scalar constant");
      double v = node->value().get_double(0);
      llvm::Type* type = value_type(f.context, node->dtype());
      values[node] = type->isFloatingPointTy()
                         ? static_cast<Value*>(llvm::ConstantFP::get(type, v))
                         : static_cast<Value*>(llvm::ConstantInt::getSigned(type, node->value().get_int64(0)));
      continue;
    }
    if (!expanded) {
      stack.push_back({node, true});
      for (const Node* input : node->inputs()) stack.push_back({input, false});
      continue;
    }
    std::vector<Value*> args;
    for (const Node* input : node->inputs()) args.push_back(values.at(input));
    values[node] = emit_scalar_op(f, *node, args);
  }
  return values.at(body);
}

namespace {

Launch emit_kernel(ModuleState& state, const Kernel& kernel) {
  if (kernel.copy) return emit_copy(state, kernel);
  OpKind op = kernel.node->op();
  if (is_elementwise(op) || op == OpKind::FusedElementwise || op == OpKind::BinaryCrossentropy)
    return emit_elementwise(state, kernel);
  switch (op_category(op)) {
  case OpCategory::Reduction: return emit_reduction(state, kernel);
  case OpCategory::Layout:
  case OpCategory::Gradient: return emit_layout(state, kernel);
  default: break;
  }
  switch (op) {
  case OpKind::DimSize: {
    FunctionBuilder f(state, state.fresh_name("dim_size"));
    f.if_then(f.b.CreateICmpSLT(f.begin, f.end), [&] {
      f.store(kernel.output, f.constant(0), f.dim(Dim::from_symbol(kernel.node->name())));
    });
    f.finish();
    return {f.function, {}, {}};
  }
  case OpKind::FusedReduction: return emit_reduction(state, kernel);
  case OpKind::MatMul:
  case OpKind::FusedMatMul:
    if (std::optional<Launch> small = emit_small_matmul(state, kernel)) return *small;
    return emit_matmul(state, kernel);
  default: return emit_neural_net(state, kernel);
  }
}

}  // namespace

std::string kernel_symbol(std::size_t index) { return fmt::format("damo_kernel_{}", index); }

std::vector<KernelLaunch> emit_kernels(llvm::Module& module, const Program& program,
                                       const std::vector<std::size_t>& indices, int vector_bytes) {
  ModuleState state(module, program, vector_bytes);
  std::vector<KernelLaunch> launches;
  for (std::size_t index : indices) {
    Launch launch = emit_kernel(state, program.kernels[index]);
    // Kernels have fixed external names so that the entry function can call them from
    // another module.
    launch.function->setName(kernel_symbol(index));
    launch.function->setLinkage(llvm::Function::ExternalLinkage);
    launches.push_back({index, std::move(launch.total), std::move(launch.work)});
  }
  return launches;
}

namespace {

// Emits the NaN guard's check after a kernel. Each buffer ranks 0 (finite), 1 (an infinity)
// or 2 (a NaN). When the output ranks above every floating-point operand, the entry point
// returns guarded + 1.
void emit_guard_check(llvm::IRBuilder<>& b, llvm::Function* entry, llvm::FunctionCallee check,
                      Value* buffers, const Program& program, const GuardedKernel& kernel,
                      std::size_t guarded, const std::function<Value*(const Shape&)>& product) {
  llvm::LLVMContext& context = b.getContext();
  auto* ptr = llvm::PointerType::getUnqual(context);
  auto finiteness = [&](int slot) {
    auto index = static_cast<std::size_t>(slot);
    Value* address = b.CreateGEP(ptr, buffers, b.getInt64(index));
    Value* data = b.CreateLoad(ptr, address);
    auto dtype = static_cast<std::uint32_t>(program.spec.slots[index].dtype);
    Value* count = product(program.slot_nodes[index]->shape());
    return b.CreateCall(check, {data, b.getInt32(dtype), count});
  };

  auto* inspect = llvm::BasicBlock::Create(context, "guard_inputs", entry);
  auto* stop = llvm::BasicBlock::Create(context, "guard_stop", entry);
  auto* next = llvm::BasicBlock::Create(context, "guard_pass", entry);
  Value* output_rank = finiteness(kernel.output);
  b.CreateCondBr(b.CreateICmpNE(output_rank, b.getInt32(0)), inspect, next);

  b.SetInsertPoint(inspect);
  Value* input_rank = b.getInt32(0);
  for (int input : kernel.inputs)
    if (is_float(program.spec.slots[static_cast<std::size_t>(input)].dtype)) {
      Value* rank = finiteness(input);
      input_rank = b.CreateSelect(b.CreateICmpUGT(rank, input_rank), rank, input_rank);
    }
  b.CreateCondBr(b.CreateICmpUGT(output_rank, input_rank), stop, next);

  b.SetInsertPoint(stop);
  b.CreateRet(b.getInt64(guarded + 1));

  b.SetInsertPoint(next);
}

}  // namespace

void emit_entry(llvm::Module& module, const Program& program, const std::vector<KernelLaunch>& launches) {
  llvm::LLVMContext& context = module.getContext();
  auto* ptr = llvm::PointerType::getUnqual(context);
  llvm::IRBuilder<> b(context);
  auto* i64 = b.getInt64Ty();
  auto* entry_type = llvm::FunctionType::get(i64, {ptr, ptr, i64, i64}, false);
  auto* entry = llvm::Function::Create(entry_type, llvm::Function::ExternalLinkage, "damo_entry", module);
  auto* kernel_type = llvm::FunctionType::get(b.getVoidTy(), {ptr, i64, i64}, false);
  auto* launch_type = llvm::FunctionType::get(b.getVoidTy(), {i64, i64, ptr, ptr}, false);
  llvm::FunctionCallee parallel_for = module.getOrInsertFunction("damo_rt_parallel_for", launch_type);
  auto* check_type = llvm::FunctionType::get(b.getInt32Ty(), {ptr, b.getInt32Ty(), i64}, false);
  llvm::FunctionCallee check_finite = module.getOrInsertFunction("damo_rt_finiteness", check_type);

  b.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", entry));
  auto args = entry->arg_begin();
  Value* buffers = &*args++;
  Value* sizes = &*args++;
  Value* first_kernel = &*args++;
  Value* end_kernel = &*args;
  auto* context_type = llvm::StructType::get(context, {ptr, ptr});
  Value* call_context = b.CreateAlloca(context_type);
  b.CreateStore(buffers, b.CreateStructGEP(context_type, call_context, 0));
  b.CreateStore(sizes, b.CreateStructGEP(context_type, call_context, 1));

  auto product = [&](const std::vector<Dim>& dims) {
    Value* result = b.getInt64(1);
    for (const Dim& d : dims) {
      Value* size = d.is_static()
                        ? static_cast<Value*>(b.getInt64(static_cast<std::uint64_t>(d.size())))
                        : b.CreateLoad(i64, b.CreateGEP(i64, sizes, b.getInt64(static_cast<std::uint64_t>(program.symbol_index(d.symbol())))));
      result = b.CreateMul(result, size);
    }
    return result;
  };
  std::function<Value*(const Shape&)> shape_product = [&](const Shape& shape) { return product(shape.dims()); };

  // Guarded kernels by launch position.
  std::vector<int> guard_of(program.kernels.size(), -1);
  for (std::size_t g = 0; g < program.spec.guarded_kernels.size(); ++g)
    guard_of.at(static_cast<std::size_t>(program.spec.guarded_kernels[g].kernel)) = static_cast<int>(g);

  std::vector<const KernelLaunch*> ordered(program.kernels.size(), nullptr);
  for (const KernelLaunch& launch : launches) ordered.at(launch.kernel) = &launch;
  for (const KernelLaunch* launch : ordered) {
    DAMO_ASSERT(launch != nullptr, "emit_entry: a kernel has no launch");
    // Each launch runs only when its position is in [first_kernel, end_kernel).
    auto position = b.getInt64(static_cast<std::uint64_t>(launch->kernel));
    Value* in_range = b.CreateAnd(b.CreateICmpSLE(first_kernel, position), b.CreateICmpSLT(position, end_kernel));
    auto* run = llvm::BasicBlock::Create(context, "launch", entry);
    auto* next = llvm::BasicBlock::Create(context, "after_launch", entry);
    b.CreateCondBr(in_range, run, next);
    b.SetInsertPoint(run);
    llvm::FunctionCallee kernel = module.getOrInsertFunction(kernel_symbol(launch->kernel), kernel_type);
    Value* total = product(launch->total);
    Value* work = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, product(launch->work), b.getInt64(1));
    Value* grain = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, b.CreateSDiv(b.getInt64(kGrainElements), work), b.getInt64(1));
    b.CreateCall(parallel_for, {total, grain, kernel.getCallee(), call_context});
    if (int g = guard_of[launch->kernel]; g >= 0)
      emit_guard_check(b, entry, check_finite, buffers, program, program.spec.guarded_kernels[static_cast<std::size_t>(g)],
                       static_cast<std::size_t>(g), shape_product);
    b.CreateBr(next);
    b.SetInsertPoint(next);
  }
  b.CreateRet(b.getInt64(0));
}

}  // namespace damo::emit
