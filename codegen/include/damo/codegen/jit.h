// The JIT: compiles a Program to native code with LLVM (ORC LLJIT) and returns its entry
// point. Compiled code is cached in memory and on disk.
#pragma once

#include <memory>
#include <string>

#include "damo/codegen/program.h"
#include "damo/runtime/executable.h"

namespace damo {

struct JitOptions {
  /// LLVM optimization level, 0 to 3.
  int opt_level = 2;
  /// Keep the LLVM IR before and after optimization and the assembly for inspection.
  bool keep_text = false;
  /// Look up and store compiled code in the in-memory and on-disk caches.
  bool use_cache = true;
  /// On-disk cache folder; empty selects $DAMO_CACHE_DIR, $XDG_CACHE_HOME/damo or
  /// ~/.cache/damo.
  std::string cache_dir;
};

struct JitStats {
  double emit_ms = 0;
  double llvm_optimize_ms = 0;
  double machine_code_ms = 0;
  double link_ms = 0;
  bool cache_hit = false;
  bool disk_cache_hit = false;
};

struct CompiledCode {
  EntryFunction entry = nullptr;
  /// Keeps the machine code alive; the code is freed with the last owner.
  std::shared_ptr<void> owner;
  std::string ir_before;
  std::string ir_after;
  std::string assembly;
  JitStats stats;
};

/// Compiles program. Throws InternalError when LLVM rejects the generated IR.
CompiledCode jit_compile(const Program& program, const JitOptions& options = {});

/// Host CPU name and features as LLVM sees them, such as "znver4 +avx512f ...".
std::string host_cpu_description();

}  // namespace damo
