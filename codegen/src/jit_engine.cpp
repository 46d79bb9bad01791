// The LLVM side of the JIT: one process-wide ORC LLJIT, the optimization pipeline with
// vector math mappings to glibc's libmvec, object emission and the compile caches.
#include <fmt/format.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "damo/codegen/jit.h"
#include "damo/runtime/io.h"
#include "damo/runtime/jit_support.h"
#include "damo/runtime/log.h"
#include "emitter.h"

namespace damo {

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

std::string to_text(llvm::Error error) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  stream << error;
  return text;
}

template <class T> T expect(llvm::Expected<T> value, const char* what) {
  if (!value) fail_internal(what, to_text(value.takeError()));
  return std::move(*value);
}

void check(llvm::Error error, const char* what) {
  if (error) fail_internal(what, to_text(std::move(error)));
}

// Vector variants in glibc's libmvec beyond LLVM's stock table: the AVX-512 widths of
// exp, log, sin, cos and pow, and expm1, log1p and tanh at every width. Names follow the
// x86 vector function ABI (_ZGV + ISA letter + N + lanes + v per argument).
struct VectorVariant {
  const char* scalar;
  const char* stem;  // libmvec name without the _ZGV prefix and width
  int arguments;
  bool single;
};

constexpr VectorVariant kVariants[] = {
    {"llvm.exp.f32", "expf", 1, true},     {"llvm.exp.f64", "exp", 1, false},
    {"llvm.log.f32", "logf", 1, true},     {"llvm.log.f64", "log", 1, false},
    {"llvm.sin.f32", "sinf", 1, true},     {"llvm.sin.f64", "sin", 1, false},
    {"llvm.cos.f32", "cosf", 1, true},     {"llvm.cos.f64", "cos", 1, false},
    {"llvm.pow.f32", "powf", 2, true},     {"llvm.pow.f64", "pow", 2, false},
    {"expm1f", "expm1f", 1, true},         {"expm1", "expm1", 1, false},
    {"log1pf", "log1pf", 1, true},         {"log1p", "log1p", 1, false},
    {"tanhf", "tanhf", 1, true},           {"tanh", "tanh", 1, false},
};

// Owns the strings VecDesc refers to; they must outlive every TargetLibraryInfoImpl.
struct VectorTable {
  std::vector<std::string> names;
  std::vector<llvm::VecDesc> descriptions;
};

VectorTable build_vector_table(bool avx2, bool avx512) {
  VectorTable table;
  struct Width {
    char isa;
    int single_lanes;
  };
  std::vector<Width> widths;
  if (avx2) widths.push_back({'d', 8});
  if (avx512) widths.push_back({'e', 16});
  table.names.reserve(std::size(kVariants) * widths.size() * 2);
  for (const Width& w : widths) {
    for (const VectorVariant& v : kVariants) {
      int lanes = v.single ? w.single_lanes : w.single_lanes / 2;
      std::string params(static_cast<std::size_t>(v.arguments), 'v');
      table.names.push_back(fmt::format("_ZGV{}N{}{}_{}", w.isa, lanes, params, v.stem));
      const std::string& vector_name = table.names.back();
      table.names.push_back(fmt::format("_ZGV_LLVM_N{}{}", lanes, params));
      const std::string& abi = table.names.back();
      table.descriptions.emplace_back(v.scalar, vector_name, llvm::ElementCount::getFixed(lanes), false, abi);
    }
  }
  return table;
}

// The compiled code of one module, living in its own JITDylib until the last owner goes.
class LoadedCode {
 public:
  LoadedCode(llvm::orc::LLJIT& jit, llvm::orc::JITDylib& dylib) : jit_(jit), dylib_(dylib) {}
  ~LoadedCode() {
    if (llvm::Error error = jit_.getExecutionSession().removeJITDylib(dylib_))
      log_at(1, "jit: failed to free compiled code: {}", to_text(std::move(error)));
  }
  LoadedCode(const LoadedCode&) = delete;
  LoadedCode& operator=(const LoadedCode&) = delete;

  EntryFunction entry = nullptr;

 private:
  llvm::orc::LLJIT& jit_;
  llvm::orc::JITDylib& dylib_;
};

class Engine {
 public:
  Engine() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    std::string error;
    // libmvec provides the vector math; without it vectorized exp calls cannot link.
    if (llvm::sys::DynamicLibrary::LoadLibraryPermanently("libmvec.so.1", &error))
      log_at(0, "jit: cannot load libmvec.so.1 ({}); vector math is unavailable", error);
    else
      have_libmvec_ = true;

    machine_builder_ = expect(llvm::orc::JITTargetMachineBuilder::detectHost(), "detectHost");
    auto machine = expect(machine_builder_->createTargetMachine(), "createTargetMachine");
    cpu_ = machine->getTargetCPU().str();
    features_ = machine->getTargetFeatureString().str();
    triple_ = machine->getTargetTriple();
    bool avx2 = features_.find("+avx2") != std::string::npos;
    bool avx512 = features_.find("+avx512f") != std::string::npos;
    if (have_libmvec_) vector_table_ = build_vector_table(avx2, avx512);

    jit_ = expect(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*machine_builder_).create(), "LLJIT");
    jit_->getExecutionSession().setErrorReporter(
        [](llvm::Error error) { log_at(0, "jit: {}", to_text(std::move(error))); });
    std::size_t count = 0;
    const JitSupportSymbol* symbols = jit_support_symbols(count);
    llvm::orc::SymbolMap map;
    for (std::size_t i = 0; i < count; ++i)
      map[jit_->mangleAndIntern(symbols[i].name)] = {llvm::orc::ExecutorAddr::fromPtr(symbols[i].address),
                                                     llvm::JITSymbolFlags::Exported};
    check(jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(map))), "define runtime symbols");
  }

  std::string cpu_description() const { return cpu_ + " " + features_; }

  std::unique_ptr<llvm::TargetMachine> target_machine(int opt_level) {
    std::lock_guard lock(mutex_);
    llvm::orc::JITTargetMachineBuilder builder = *machine_builder_;
    builder.setCodeGenOptLevel(opt_level <= 0   ? llvm::CodeGenOptLevel::None
                               : opt_level == 1 ? llvm::CodeGenOptLevel::Less
                               : opt_level == 2 ? llvm::CodeGenOptLevel::Default
                                                : llvm::CodeGenOptLevel::Aggressive);
    return expect(builder.createTargetMachine(), "createTargetMachine");
  }

  void optimize(llvm::Module& module, llvm::TargetMachine& machine, int opt_level) {
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = opt_level >= 2;
    tuning.SLPVectorization = opt_level >= 2;
    llvm::LoopAnalysisManager loops;
    llvm::FunctionAnalysisManager functions;
    llvm::CGSCCAnalysisManager cgscc;
    llvm::ModuleAnalysisManager modules;
    llvm::PassBuilder builder(&machine, tuning);
    llvm::TargetLibraryInfoImpl library(triple_);
    if (have_libmvec_) {
      library.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86, triple_);
      library.addVectorizableFunctions(vector_table_.descriptions);
    }
    functions.registerPass([&] { return llvm::TargetLibraryAnalysis(library); });
    builder.registerModuleAnalyses(modules);
    builder.registerCGSCCAnalyses(cgscc);
    builder.registerFunctionAnalyses(functions);
    builder.registerLoopAnalyses(loops);
    builder.crossRegisterProxies(loops, functions, cgscc, modules);
    llvm::OptimizationLevel level = opt_level <= 0   ? llvm::OptimizationLevel::O0
                                    : opt_level == 1 ? llvm::OptimizationLevel::O1
                                    : opt_level == 2 ? llvm::OptimizationLevel::O2
                                                     : llvm::OptimizationLevel::O3;
    llvm::ModulePassManager pipeline = opt_level <= 0 ? builder.buildO0DefaultPipeline(level)
                                                      : builder.buildPerModuleDefaultPipeline(level);
    pipeline.run(module, modules);
  }

  std::shared_ptr<LoadedCode> load(std::string_view object) {
    std::string name = fmt::format("damo_module_{}", next_dylib_.fetch_add(1));
    auto created = jit_->createJITDylib(name);
    if (!created) fail_internal("createJITDylib", to_text(created.takeError()));
    llvm::orc::JITDylib& dylib = *created;
    dylib.addToLinkOrder(jit_->getMainJITDylib());
    auto code = std::make_shared<LoadedCode>(*jit_, dylib);
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()), name);
    check(jit_->addObjectFile(dylib, std::move(buffer)), "addObjectFile");
    auto address = expect(jit_->lookup(dylib, "damo_entry"), "lookup damo_entry");
    code->entry = address.toPtr<EntryFunction>();
    return code;
  }

  // In-memory cache: the code of each key while some function still uses it.
  std::shared_ptr<LoadedCode> find_loaded(std::uint64_t key) {
    std::lock_guard lock(mutex_);
    auto it = loaded_.find(key);
    return it == loaded_.end() ? nullptr : it->second.lock();
  }

  void remember_loaded(std::uint64_t key, const std::shared_ptr<LoadedCode>& code) {
    std::lock_guard lock(mutex_);
    loaded_[key] = code;
  }

 private:
  std::mutex mutex_;
  std::optional<llvm::orc::JITTargetMachineBuilder> machine_builder_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::string cpu_;
  std::string features_;
  llvm::Triple triple_;
  bool have_libmvec_ = false;
  VectorTable vector_table_;
  std::atomic<std::uint64_t> next_dylib_{0};
  std::unordered_map<std::uint64_t, std::weak_ptr<LoadedCode>> loaded_;
};

Engine& engine() {
  static Engine instance;
  return instance;
}

std::string module_text(const llvm::Module& module) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  module.print(stream, nullptr);
  return text;
}

std::string emit_machine_code(llvm::Module& module, llvm::TargetMachine& machine, llvm::CodeGenFileType type) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, stream, nullptr, type))
    fail_internal("addPassesToEmitFile", "the target cannot emit this file type");
  passes.run(module);
  return std::string(buffer.begin(), buffer.end());
}

// The on-disk cache: one file per key holding a header and the object code.
class DiskCache {
 public:
  explicit DiskCache(const std::string& configured) {
    std::string dir = configured;
    if (dir.empty()) {
      if (const char* env = std::getenv("DAMO_CACHE_DIR"); env && *env) dir = env;
      else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) dir = std::string(xdg) + "/damo";
      else if (const char* home = std::getenv("HOME"); home && *home) dir = std::string(home) + "/.cache/damo";
    }
    if (dir.empty()) return;
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      log_at(1, "jit: on-disk cache disabled: cannot create '{}': {}", dir, error.message());
      return;
    }
    dir_ = dir;
  }

  bool enabled() const { return !dir_.empty(); }

  std::optional<std::string> read(std::uint64_t key, std::uint64_t check) const {
    std::string path = path_for(key);
    if (!std::filesystem::exists(path)) return std::nullopt;
    std::string bytes;
    try {
      bytes = read_file(path);
    } catch (const UserError& error) {
      log_at(1, "jit: cannot read cache entry: {}", error.what());
      return std::nullopt;
    }
    Header header{};
    if (bytes.size() < sizeof header) return corrupt(path, "shorter than its header");
    std::memcpy(&header, bytes.data(), sizeof header);
    if (std::memcmp(header.magic, kMagic, sizeof header.magic) != 0) return corrupt(path, "wrong magic");
    if (header.key != key || header.check != check) return corrupt(path, "written for another module");
    if (header.size != bytes.size() - sizeof header) return corrupt(path, "truncated");
    std::string object = bytes.substr(sizeof header);
    if (llvm::xxh3_64bits(object) != header.checksum) return corrupt(path, "checksum mismatch");
    return object;
  }

  void write(std::uint64_t key, std::uint64_t check, const std::string& object) const {
    Header header{};
    std::memcpy(header.magic, kMagic, sizeof header.magic);
    header.key = key;
    header.check = check;
    header.size = object.size();
    header.checksum = llvm::xxh3_64bits(object);
    std::string bytes(reinterpret_cast<const char*>(&header), sizeof header);
    bytes += object;
    try {
      write_file_atomically(path_for(key), bytes);
    } catch (const UserError& error) {
      log_at(1, "jit: cannot write cache entry: {}", error.what());
    }
  }

 private:
  static constexpr char kMagic[8] = {'D', 'A', 'M', 'O', 'O', 'B', 'J', '1'};
  struct Header {
    char magic[8];
    std::uint64_t key;
    std::uint64_t check;
    std::uint64_t size;
    std::uint64_t checksum;
  };

  std::string path_for(std::uint64_t key) const { return fmt::format("{}/{:016x}.o", dir_, key); }

  std::optional<std::string> corrupt(const std::string& path, const char* why) const {
    log_at(1, "jit: cache entry '{}' is invalid ({}); compiling again", path, why);
    return std::nullopt;
  }

  std::string dir_;
};

}  // namespace

std::string host_cpu_description() { return engine().cpu_description(); }

CompiledCode jit_compile(const Program& program, const JitOptions& options) {
  Engine& jit = engine();
  CompiledCode result;
  auto start = Clock::now();

  llvm::LLVMContext context;
  auto module = std::make_unique<llvm::Module>("damo", context);
  std::unique_ptr<llvm::TargetMachine> machine = jit.target_machine(options.opt_level);
  module->setDataLayout(machine->createDataLayout());
  module->setTargetTriple(machine->getTargetTriple().str());
  emit::emit_program(*module, program);
  std::string problems;
  llvm::raw_string_ostream problem_stream(problems);
  if (llvm::verifyModule(*module, &problem_stream)) fail_internal("verifyModule", problem_stream.str());
  std::string ir = module_text(*module);
  if (options.keep_text) result.ir_before = ir;
  result.stats.emit_ms = elapsed_ms(start);

  std::string identity = fmt::format("{}\n{}\nO{}\nLLVM {}", ir, jit.cpu_description(), options.opt_level, LLVM_VERSION_STRING);
  std::uint64_t key = llvm::xxh3_64bits(identity);
  std::uint64_t check = std::hash<std::string>{}(identity);

  if (options.use_cache && !options.keep_text) {
    if (auto code = jit.find_loaded(key)) {
      result.entry = code->entry;
      result.owner = code;
      result.stats.cache_hit = true;
      return result;
    }
  }
  DiskCache disk(options.use_cache ? options.cache_dir : std::string());
  std::optional<std::string> object;
  if (options.use_cache && disk.enabled() && !options.keep_text) object = disk.read(key, check);

  if (object) {
    result.stats.cache_hit = true;
    result.stats.disk_cache_hit = true;
  } else {
    auto optimize_start = Clock::now();
    jit.optimize(*module, *machine, options.opt_level);
    result.stats.llvm_optimize_ms = elapsed_ms(optimize_start);
    if (options.keep_text) {
      result.ir_after = module_text(*module);
      auto copy = llvm::CloneModule(*module);
      result.assembly = emit_machine_code(*copy, *jit.target_machine(options.opt_level), llvm::CodeGenFileType::AssemblyFile);
    }
    auto codegen_start = Clock::now();
    object = emit_machine_code(*module, *machine, llvm::CodeGenFileType::ObjectFile);
    result.stats.machine_code_ms = elapsed_ms(codegen_start);
    if (options.use_cache && disk.enabled()) disk.write(key, check, *object);
  }

  auto link_start = Clock::now();
  std::shared_ptr<LoadedCode> code = jit.load(*object);
  result.stats.link_ms = elapsed_ms(link_start);
  if (options.use_cache) jit.remember_loaded(key, code);
  result.entry = code->entry;
  result.owner = code;
  log_at(1, "jit: {} kernels, emit {:.2f} ms, optimize {:.2f} ms, machine code {:.2f} ms, link {:.2f} ms{}",
         program.kernels.size(), result.stats.emit_ms, result.stats.llvm_optimize_ms,
         result.stats.machine_code_ms, result.stats.link_ms,
         result.stats.disk_cache_hit ? " (from the on-disk cache)" : "");
  return result;
}

}  // namespace damo
