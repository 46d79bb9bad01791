// The LLVM side of the JIT: one process-wide ORC LLJIT, the optimization pipeline with
// vector math mappings to glibc's libmvec, object emission and the compile caches.
#include <fmt/format.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "damo/codegen/jit.h"
#include "damo/runtime/io.h"
#include "damo/runtime/jit_support.h"
#include "damo/runtime/log.h"
#include "damo/runtime/thread_pool.h"
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
// exp, log, sin, cos and pow, and expm1, log1p, tanh, log2, log10, erf and erfc at every width. Names follow the
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
    {"log2", "log2", 1, false},            {"log10", "log10", 1, false},
    {"erff", "erff", 1, true},             {"erf", "erf", 1, false},
    {"erfcf", "erfcf", 1, true},           {"erfc", "erfc", 1, false},
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

// The function passes that Damo's kernels need, in place of LLVM's whole O2 pipeline. That
// pipeline spends most of its time on inlining and interprocedural work that loop kernels
// never use. These passes promote accumulators to registers, simplify, hoist invariant
// loads, fully unroll loops of small static trip counts, vectorize (with libmvec calls
// through inject-tli-mappings) and clean up. At O1 the vectorizer stays out; at O0 nothing
// runs. O3 adds partial unrolling after vectorization, GVN and the SLP vectorizer. At O2,
// partial unrolling took the benchmark training step's cold compile from 94-97 ms to
// 112-117 ms, and the benchmark workloads ran within their run-to-run noise without it.
std::string kernel_pipeline(int opt_level) {
  if (opt_level <= 0) return "";
  std::string simplify = "instcombine<no-verify-fixpoint>,simplifycfg";
  std::string head = "function(sroa,early-cse," + simplify +
                     ",loop(loop-rotate),loop-mssa(licm),loop(indvars,loop-unroll-full)," + simplify;
  if (opt_level == 1) return head + ")";
  std::string vectorize = head + ",inject-tli-mappings,loop-vectorize<interleave-forced-only>,";
  if (opt_level == 2) return vectorize + simplify + ",loop-mssa(licm))";
  return vectorize + "loop-unroll<O2>," + simplify + ",loop-mssa(licm),gvn,slp-vectorizer," + simplify + ")";
}

// The compiled code of one module, living in its own JITDylib until the last owner goes.
class LoadedCode {
 public:
  LoadedCode(llvm::orc::LLJIT& jit, llvm::orc::JITDylib& dylib, std::recursive_mutex& linking)
      : jit_(jit), dylib_(dylib), linking_(linking) {}
  ~LoadedCode() {
    std::lock_guard lock(linking_);
    if (llvm::Error error = jit_.getExecutionSession().removeJITDylib(dylib_))
      log_at(1, "jit: failed to free compiled code: {}", to_text(std::move(error)));
  }
  LoadedCode(const LoadedCode&) = delete;
  LoadedCode& operator=(const LoadedCode&) = delete;

  EntryFunction entry = nullptr;

 private:
  llvm::orc::LLJIT& jit_;
  llvm::orc::JITDylib& dylib_;
  std::recursive_mutex& linking_;
};

class Engine {
 public:
  Engine() {
    // Kernels are short loops over large arrays. An interleaved vector body, a vectorized
    // epilogue and a scalar remainder triple the machine code of each loop, and machine code
    // generation dominates compile time, so each vectorized loop gets one body and a scalar
    // remainder. The vectorizer runs with interleave-forced-only, so only loops whose
    // metadata request more bodies get them. LLVM's Zen scheduling models turn on a second
    // instruction scheduler after register allocation. Without it the cold compile of the
    // benchmark training step took 101 ms instead of 110 ms. The step, a 100,000-row epoch and a million-row inference
    // pass ran within 3% of their times with it, inside the noise of those runs.
    // DAMO_LLVM_ARGS passes further options to LLVM, such as -time-passes.
    std::vector<std::string> words = {"damo", "-enable-epilogue-vectorization=false",
                                      "-post-RA-scheduler=false"};
    if (const char* text = std::getenv("DAMO_LLVM_ARGS"); text && *text) {
      llvm_args_ = text;
      std::string_view rest(text);
      while (!rest.empty()) {
        std::size_t end = rest.find(' ');
        std::string_view word = rest.substr(0, end);
        if (!word.empty()) words.emplace_back(word);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
      }
    }
    std::vector<const char*> argv;
    for (const std::string& w : words) argv.push_back(w.c_str());
    llvm::cl::ParseCommandLineOptions(static_cast<int>(argv.size()), argv.data(), "damo");
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
    // LLVM tunes Intel cores with AVX-512 such as Ice Lake and Rocket Lake to vectorize loops
    // 256 bits wide. Damo's loops are short and math-heavy, so 512 bits pay off there. On a
    // Rocket Lake Xeon the benchmark training step went from 47.4 to 29.7 us and the 1e6-row
    // inference pass from 268 to 206 ms, for 2 ms more of cold compile.
    if (machine_builder_->getFeatures().getString().find("+avx512f") != std::string::npos)
      machine_builder_->getFeatures().AddFeature("prefer-256-bit", false);
    auto machine = expect(machine_builder_->createTargetMachine(), "createTargetMachine");
    cpu_ = machine->getTargetCPU().str();
    features_ = machine->getTargetFeatureString().str();
    triple_ = machine->getTargetTriple();
    data_layout_ = machine->createDataLayout().getStringRepresentation();
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

  // Every module gets the host's data layout and triple. The optimization level does not
  // change either, so they come from the first target machine.
  void set_host_target(llvm::Module& module) const {
    module.setDataLayout(data_layout_);
    module.setTargetTriple(triple_.str());
  }

  // The settings besides the IR that change the machine code, for the cache key.
  std::string code_settings() const {
    const char* passes = std::getenv("DAMO_LLVM_PASSES");
    return fmt::format("{} {}\nargs: {}\npasses: {}", cpu_, features_, llvm_args_,
                       passes != nullptr ? passes : "");
  }

  int vector_bytes() const {
    if (features_.find("+avx512f") != std::string::npos) return 64;
    if (features_.find("+avx2") != std::string::npos) return 32;
    return 16;
  }

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
    llvm::ModulePassManager pipeline;
    const char* custom = std::getenv("DAMO_LLVM_PASSES");
    std::string text = custom != nullptr && *custom ? custom : kernel_pipeline(opt_level);
    if (text.empty()) {
      pipeline = builder.buildO0DefaultPipeline(level);
    } else if (llvm::Error error = builder.parsePassPipeline(pipeline, text)) {
      throw UserError(fmt::format("'{}' is not a valid LLVM pass pipeline (from DAMO_LLVM_PASSES): {}",
                                  text, to_text(std::move(error))));
    }
    pipeline.run(module, modules);
  }

  std::shared_ptr<LoadedCode> load(const std::vector<std::string>& objects) {
    // Linking code while another thread removed a JITDylib made running JIT code fault in
    // about half of the runs of four threads that compiled, called and dropped functions
    // (LLVM 19), so linking and removal take turns. The lock is recursive because a failed
    // link destroys its LoadedCode, which takes the lock too.
    std::lock_guard lock(linking_);
    std::string name = fmt::format("damo_module_{}", next_dylib_.fetch_add(1));
    auto created = jit_->createJITDylib(name);
    if (!created) fail_internal("createJITDylib", to_text(created.takeError()));
    llvm::orc::JITDylib& dylib = *created;
    // Runtime support functions are defined in the main dylib.
    dylib.addToLinkOrder(jit_->getMainJITDylib());
    auto code = std::make_shared<LoadedCode>(*jit_, dylib, linking_);
    for (std::size_t i = 0; i < objects.size(); ++i) {
      auto buffer = llvm::MemoryBuffer::getMemBufferCopy(objects[i], fmt::format("{}_part{}", name, i));
      check(jit_->addObjectFile(dylib, std::move(buffer)), "addObjectFile");
    }
    auto address = expect(jit_->lookup(dylib, "damo_entry"), "lookup damo_entry");
    code->entry = address.toPtr<EntryFunction>();
    if (const char* flag = std::getenv("DAMO_PERF_MAP"); flag && std::string_view(flag) == "1")
      write_perf_map(dylib, objects);
    return code;
  }

  // Appends the kernels of a loaded module to /tmp/perf-<pid>.map, where `perf report`
  // finds names for JIT-compiled code.
  void write_perf_map(llvm::orc::JITDylib& dylib, const std::vector<std::string>& objects) {
    std::lock_guard lock(mutex_);
    std::FILE* map = std::fopen(fmt::format("/tmp/perf-{}.map", ::getpid()).c_str(), "a");
    if (map == nullptr) return;
    for (const std::string& bytes : objects) {
      auto object = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(bytes, "object"));
      if (!object) {
        llvm::consumeError(object.takeError());
        continue;
      }
      for (const llvm::object::SymbolRef& symbol : (*object)->symbols()) {
        auto name = symbol.getName();
        auto type = symbol.getType();
        if (!name || !type || *type != llvm::object::SymbolRef::ST_Function) {
          if (!name) llvm::consumeError(name.takeError());
          if (!type) llvm::consumeError(type.takeError());
          continue;
        }
        std::uint64_t size = llvm::object::ELFSymbolRef(symbol).getSize();
        auto address = jit_->lookup(dylib, *name);
        if (!address) {
          llvm::consumeError(address.takeError());
          continue;
        }
        std::fprintf(map, "%llx %llx %s\n", static_cast<unsigned long long>(address->getValue()),
                     static_cast<unsigned long long>(size), name->str().c_str());
      }
    }
    std::fclose(map);
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
  std::recursive_mutex linking_;
  std::optional<llvm::orc::JITTargetMachineBuilder> machine_builder_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::string cpu_;
  std::string features_;
  std::string llvm_args_;
  llvm::Triple triple_;
  std::string data_layout_;
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

// The on-disk cache: one file per key holding a header and the object code. A damaged,
// foreign or unreadable entry and an unusable folder make a compile skip the cache.
class DiskCache {
 public:
  /// Largest entry read or written. Object code of real functions is far smaller, and the
  /// limit keeps a damaged or foreign file from being read into memory whole.
  static constexpr std::size_t kMaxEntryBytes = std::size_t{256} << 20;

  explicit DiskCache(const std::string& configured) {
    std::string dir = configured;
    std::string source = "CompileOptions::cache_dir";
    if (dir.empty()) {
      source = "DAMO_CACHE_DIR";
      if (const char* env = std::getenv("DAMO_CACHE_DIR"); env && *env) dir = env;
    }
    // A folder the user named gets warnings. The default locations only log, because a
    // read-only home folder is common and compiling works without a cache.
    explicit_ = !dir.empty();
    if (dir.empty()) {
      if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) dir = std::string(xdg) + "/damo";
      else if (const char* home = std::getenv("HOME"); home && *home) {
        // A home folder that does not exist is not created for a cache.
        std::error_code missing;
        if (!std::filesystem::is_directory(home, missing)) {
          log_at(1, "jit: the home folder '{}' does not exist; compiled code is not cached", home);
          return;
        }
        dir = std::string(home) + "/.cache/damo";
      }
    }
    if (dir.empty()) return;
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (!error && !std::filesystem::is_directory(dir, error) && !error)
      error = std::make_error_code(std::errc::not_a_directory);
    if (error) {
      report(fmt::format("cannot use '{}' as the compile cache folder: {}; compiled code is not "
                         "cached (set {} to a writable folder)",
                         dir, error.message(), source));
      return;
    }
    dir_ = dir;
  }

  bool enabled() const { return !dir_.empty(); }

  std::optional<std::string> read(std::uint64_t key, std::uint64_t check) const {
    std::string path = path_for(key);
    // O_NONBLOCK keeps open() from waiting for a writer when the entry is a FIFO.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT)
        report(fmt::format("cannot read the compile cache entry '{}': {}; compiling again and "
                           "replacing it",
                           path, std::strerror(errno)));
      return std::nullopt;
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
      ::close(fd);
      return corrupt(path, "not a regular file");
    }
    if (static_cast<std::uint64_t>(status.st_size) > kMaxEntryBytes) {
      ::close(fd);
      return corrupt(path, "larger than any entry this cache writes");
    }
    // The header is read and checked first, so that a large file of another kind is
    // rejected before its bytes are read into memory.
    auto read_exactly = [fd](char* into, std::size_t count) {
      std::size_t done = 0;
      while (done < count) {
        ssize_t got = ::read(fd, into + done, count - done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        done += static_cast<std::size_t>(got);
      }
      return done;
    };
    Header header{};
    std::size_t file_size = static_cast<std::size_t>(status.st_size);
    if (read_exactly(reinterpret_cast<char*>(&header), sizeof header) < sizeof header) {
      ::close(fd);
      return corrupt(path, "shorter than its header");
    }
    std::optional<std::string> problem;
    if (std::memcmp(header.magic, kMagic, sizeof header.magic) != 0) problem = "wrong magic";
    else if (header.key != key || header.check != check) problem = "written for another module";
    else if (header.size != file_size - sizeof header)
      problem = header.size > file_size - sizeof header ? "truncated" : "longer than its header says";
    if (problem) {
      ::close(fd);
      return corrupt(path, problem->c_str());
    }
    std::string object;
    try {
      object.resize(header.size);
    } catch (const std::bad_alloc&) {
      ::close(fd);
      return corrupt(path, "too large to load into memory");
    }
    std::size_t got = read_exactly(object.data(), object.size());
    ::close(fd);
    if (got != object.size()) return corrupt(path, "truncated");
    if (llvm::xxh3_64bits(object) != header.checksum) return corrupt(path, "checksum mismatch");
    return object;
  }

  void write(std::uint64_t key, std::uint64_t check, const std::string& object) const {
    std::string path = path_for(key);
    if (object.size() + sizeof(Header) > kMaxEntryBytes) {
      log_at(1, "jit: not caching '{}': {} bytes of object code is over the entry limit", path, object.size());
      return;
    }
    Header header{};
    std::memcpy(header.magic, kMagic, sizeof header.magic);
    header.key = key;
    header.check = check;
    header.size = object.size();
    header.checksum = llvm::xxh3_64bits(object);
    std::string bytes(reinterpret_cast<const char*>(&header), sizeof header);
    bytes += object;
    // An entry that is not a regular file (a FIFO, a device or a link) is removed first, so
    // that the new entry replaces it instead of writing through it.
    // So is an entry this process cannot read, because a replaced file keeps its permissions
    // and the new entry would be unreadable too.
    struct stat status {};
    bool exists = ::lstat(path.c_str(), &status) == 0;
    bool unreadable = exists && S_ISREG(status.st_mode) && ::access(path.c_str(), R_OK) != 0;
    if (exists && (!S_ISREG(status.st_mode) || unreadable) && ::unlink(path.c_str()) != 0) {
      report(fmt::format("cannot replace the compile cache entry '{}': {}", path, std::strerror(errno)));
      return;
    }
    try {
      write_file_atomically(path, bytes);
    } catch (const UserError& error) {
      report(fmt::format("cannot write to the compile cache: {}; compiled code is not cached (set "
                         "DAMO_CACHE_DIR to a writable folder)",
                         error.what()));
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

  // Warns once per process about a cache folder the user named, and logs otherwise.
  void report(const std::string& message) const {
    static std::atomic<bool> warned{false};
    if (explicit_ && !warned.exchange(true)) write_log_line("warning: " + message);
    else log_at(1, "jit: {}", message);
  }

  std::string path_for(std::uint64_t key) const { return fmt::format("{}/{:016x}.o", dir_, key); }

  std::optional<std::string> corrupt(const std::string& path, const char* why) const {
    log_at(1, "jit: cache entry '{}' is invalid ({}); compiling again", path, why);
    return std::nullopt;
  }

  std::string dir_;
  bool explicit_ = false;
};

}  // namespace

std::string host_cpu_description() { return engine().cpu_description(); }

namespace {

// About the most kernels one LLVM module gets. LLVM's memory during a compile grows with the
// module, so a function of many thousands of kernels compiles in modules of about this size.
constexpr std::size_t kMaxModuleKernels = 256;

// One module of a compile: a share of the kernels, and the entry function in the first.
struct Partition {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  std::string optimized_ir;
  std::string assembly;
  std::string object;
  double optimize_ms = 0;
  double machine_code_ms = 0;
};

// Spreads kernels over up to `count` modules, larger kernels first, each to the module with
// the least work so far. The modules compile on separate threads.
std::vector<std::vector<std::size_t>> partition_kernels(const Program& program, std::size_t count) {
  std::vector<std::pair<std::size_t, std::size_t>> weighted;  // (weight, kernel)
  for (std::size_t k = 0; k < program.kernels.size(); ++k) {
    const Kernel& kernel = program.kernels[k];
    std::size_t weight = 1;
    if (!kernel.copy && kernel.node->op() == OpKind::FusedElementwise) weight += 2;
    if (!kernel.copy && op_category(kernel.node->op()) == OpCategory::NeuralNet) weight += 3;
    weighted.emplace_back(weight, k);
  }
  std::stable_sort(weighted.begin(), weighted.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::vector<std::size_t>> parts(std::max<std::size_t>(count, 1));
  std::vector<std::size_t> load(parts.size(), 0);
  for (const auto& [weight, kernel] : weighted) {
    std::size_t target = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    parts[target].push_back(kernel);
    load[target] += weight;
  }
  for (auto& part : parts) std::sort(part.begin(), part.end());
  return parts;
}

// Objects of all partitions as one byte string: a count, then each size and its bytes.
std::string pack_objects(const std::vector<Partition>& partitions) {
  std::string out;
  auto put = [&out](std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(partitions.size());
  for (const Partition& p : partitions) {
    put(p.object.size());
    out += p.object;
  }
  return out;
}

std::optional<std::vector<std::string>> unpack_objects(const std::string& packed) {
  std::vector<std::string> objects;
  std::size_t at = 0;
  auto get = [&](std::uint64_t& v) {
    if (packed.size() - at < sizeof v) return false;
    std::memcpy(&v, packed.data() + at, sizeof v);
    at += sizeof v;
    return true;
  };
  std::uint64_t count = 0;
  if (!get(count) || count > 65536) return std::nullopt;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t size = 0;
    if (!get(size) || packed.size() - at < size) return std::nullopt;
    objects.push_back(packed.substr(at, size));
    at += size;
  }
  return objects;
}

}  // namespace

CompiledCode jit_compile(const Program& program, const JitOptions& options) {
  Engine& jit = engine();
  CompiledCode result;
  auto start = Clock::now();
  log_at(2, "jit: program\n{}", program.to_string());

  // Small programs compile fastest as one module, and larger ones are split across threads.
  // Large ones also get enough modules for about kMaxModuleKernels kernels each. The split
  // balances the kernels' weights, so the counts vary a little.
  std::size_t threads = static_cast<std::size_t>(std::max(1, num_threads()));
  std::size_t kernels = program.kernels.size();
  std::size_t count = std::min(threads, std::max<std::size_t>(1, kernels / 3));
  count = std::max(count, (kernels + kMaxModuleKernels - 1) / kMaxModuleKernels);
  std::vector<std::vector<std::size_t>> parts = partition_kernels(program, count);
  std::vector<Partition> partitions(parts.size());
  // With more modules than threads, each module is emitted once for the cache key and
  // dropped, then emitted again when it compiles. Memory then keeps a few modules at a time
  // rather than all of them.
  bool keep_modules = partitions.size() <= threads || options.keep_text;

  // Module 0 contains the entry, which needs the launches of every kernel, so it comes last.
  std::vector<emit::KernelLaunch> launches;
  auto emit_partition = [&](std::size_t i, bool collect_launches) {
    Partition& p = partitions[i];
    p.context = std::make_unique<llvm::LLVMContext>();
    p.module = std::make_unique<llvm::Module>(fmt::format("damo_part{}", i), *p.context);
    jit.set_host_target(*p.module);
    std::vector<emit::KernelLaunch> emitted = emit::emit_kernels(*p.module, program, parts[i], jit.vector_bytes());
    if (collect_launches) launches.insert(launches.end(), emitted.begin(), emitted.end());
    if (i == 0) emit::emit_entry(*p.module, program, launches);
  };
  // Verification runs only before LLVM compiles a module, because code from a cache passed
  // it when it was first compiled.
  auto verify_partition = [&](std::size_t i) {
    std::string problems;
    llvm::raw_string_ostream problem_stream(problems);
    if (llvm::verifyModule(*partitions[i].module, &problem_stream)) fail_internal("verifyModule", problem_stream.str());
  };
  auto drop_module = [](Partition& p) {
    p.module.reset();
    p.context.reset();
  };

  // The key hashes each module's bitcode in module order. Bitcode is faster to write than IR
  // text: bench/run's compile_cached step took 2.4 ms this way and 4.9 ms hashing the text.
  std::string identity;
  std::vector<std::string> module_hashes(partitions.size());
  for (std::size_t n = 1; n <= partitions.size(); ++n) {
    std::size_t i = n % partitions.size();
    emit_partition(i, true);
    llvm::SmallVector<char, 0> bitcode;
    llvm::raw_svector_ostream bitcode_stream(bitcode);
    llvm::WriteBitcodeToFile(*partitions[i].module, bitcode_stream);
    llvm::StringRef bytes(bitcode.data(), bitcode.size());
    module_hashes[i] = fmt::format("{:016x}{:016x}{}\n", llvm::xxh3_64bits(bytes),
                                   std::hash<std::string_view>{}(std::string_view(bytes.data(), bytes.size())),
                                   bytes.size());
    if (options.keep_text) result.ir_before += module_text(*partitions[i].module);
    if (!keep_modules) drop_module(partitions[i]);
  }
  for (const std::string& hash : module_hashes) identity += hash;
  result.stats.emit_ms = elapsed_ms(start);

  // The pass list is part of the key, so code that another version of Damo optimized with
  // other passes is compiled again.
  identity += fmt::format("\n{}\nO{}\n{}\nLLVM {}", jit.code_settings(), options.opt_level,
                          kernel_pipeline(options.opt_level), LLVM_VERSION_STRING);
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
  std::optional<DiskCache> disk;
  if (options.use_cache) disk.emplace(options.cache_dir);
  std::optional<std::vector<std::string>> objects;
  if (disk && disk->enabled() && !options.keep_text) {
    if (std::optional<std::string> packed = disk->read(key, check)) objects = unpack_objects(*packed);
  }

  if (objects) {
    result.stats.cache_hit = true;
    result.stats.disk_cache_hit = true;
  } else {
    auto compile_partition = [&](std::size_t i) {
      Partition& p = partitions[i];
      if (!p.module) emit_partition(i, false);
      verify_partition(i);
      std::unique_ptr<llvm::TargetMachine> machine = jit.target_machine(options.opt_level);
      auto optimize_start = Clock::now();
      jit.optimize(*p.module, *machine, options.opt_level);
      p.optimize_ms = elapsed_ms(optimize_start);
      if (options.keep_text) {
        p.optimized_ir = module_text(*p.module);
        auto copy = llvm::CloneModule(*p.module);
        p.assembly = emit_machine_code(*copy, *jit.target_machine(options.opt_level), llvm::CodeGenFileType::AssemblyFile);
      }
      auto codegen_start = Clock::now();
      p.object = emit_machine_code(*p.module, *machine, llvm::CodeGenFileType::ObjectFile);
      p.machine_code_ms = elapsed_ms(codegen_start);
      drop_module(p);
    };
    // Each thread takes the next module until none is left; the first failure skips the rest.
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::exception_ptr> failures(partitions.size());
    auto work = [&] {
      for (std::size_t i = next.fetch_add(1); i < partitions.size() && !failed; i = next.fetch_add(1)) {
        try {
          compile_partition(i);
        } catch (...) {
          failures[i] = std::current_exception();
          failed = true;
        }
      }
    };
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < std::min(threads, partitions.size()); ++t) workers.emplace_back(work);
    work();
    for (std::thread& worker : workers) worker.join();
    for (const std::exception_ptr& failure : failures)
      if (failure) std::rethrow_exception(failure);
    // With one module per thread, the modules ran side by side, so the slowest one is the
    // wall-clock cost. With more modules, each thread ran its share of them in turn.
    objects.emplace();
    double optimize_total = 0;
    double machine_code_total = 0;
    for (const Partition& p : partitions) {
      result.stats.llvm_optimize_ms = std::max(result.stats.llvm_optimize_ms, p.optimize_ms);
      result.stats.machine_code_ms = std::max(result.stats.machine_code_ms, p.machine_code_ms);
      optimize_total += p.optimize_ms;
      machine_code_total += p.machine_code_ms;
      result.ir_after += p.optimized_ir;
      result.assembly += p.assembly;
      objects->push_back(p.object);
    }
    if (partitions.size() > threads) {
      auto share = static_cast<double>(std::min(threads, partitions.size()));
      result.stats.llvm_optimize_ms = optimize_total / share;
      result.stats.machine_code_ms = machine_code_total / share;
    }
    if (disk && disk->enabled()) disk->write(key, check, pack_objects(partitions));
  }

  auto link_start = Clock::now();
  std::shared_ptr<LoadedCode> code = jit.load(*objects);
  result.stats.link_ms = elapsed_ms(link_start);
  if (options.use_cache) jit.remember_loaded(key, code);
  result.entry = code->entry;
  result.owner = code;
  log_at(1, "jit: {} kernels in {} modules, emit {:.2f} ms, optimize {:.2f} ms, machine code {:.2f} ms, link {:.2f} ms{}",
         program.kernels.size(), partitions.size(), result.stats.emit_ms, result.stats.llvm_optimize_ms,
         result.stats.machine_code_ms, result.stats.link_ms,
         result.stats.disk_cache_hit ? " (from the on-disk cache)" : "");
  return result;
}

}  // namespace damo
