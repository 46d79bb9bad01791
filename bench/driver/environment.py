"""Builds the benchmark programs and describes the machine and the software versions."""

import os
import re
import shutil
import subprocess
import sys

BENCH_TARGETS = ("damo_bench", "bench_reference", "bench_reference_fastmath")
# The optimizer's own benchmark program, built when its source is in the tree.
REWRITE_BENCH = "rewrite_bench"


def has_rewrite_bench(root):
    return os.path.exists(os.path.join(root, "bench", REWRITE_BENCH + ".cpp"))


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def build(root, build_dir):
    """Configure build_dir as a Release build with the benchmark programs and build them."""
    configure = ["cmake", "-S", root, "-B", build_dir, "-G", "Ninja",
                 "-DCMAKE_BUILD_TYPE=Release", "-DDAMO_BUILD_BENCH=ON",
                 "-DDAMO_BUILD_TESTS=OFF", "-DDAMO_BUILD_DEMO=OFF"]
    jobs = str(os.cpu_count() or 1)
    targets = BENCH_TARGETS + ((REWRITE_BENCH,) if has_rewrite_bench(root) else ())
    log(f"building {', '.join(targets)} in {build_dir} (Release)")
    subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j", jobs, "--target", *targets],
                   check=True, stdout=subprocess.DEVNULL)


def _output(command):
    """Standard output of command, stripped, or "" when it fails or does not exist."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return result.stdout.strip()


def _read(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError:
        return ""


def load_average():
    """Return the 1-minute load average, from /proc/loadavg."""
    fields = _read("/proc/loadavg").split()
    return float(fields[0]) if fields else float("nan")


def machine():
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    names = flags.group(1).split() if flags else []
    vector = "SSE"
    if "avx512f" in names:
        vector = "AVX-512"
    elif "avx2" in names:
        vector = "AVX2"
    return {
        "cpu": model.group(1).strip() if model else "unknown",
        "cores": os.cpu_count(),
        "vector_extensions": vector,
        "memory_gib": round(int(memory.group(1)) / 2**20, 1) if memory else None,
        "kernel": _output(["uname", "-r"]),
    }


def _package_version(package):
    return _output(["dpkg-query", "-W", "-f=${Version}", package])


def _compiler(build_dir):
    cache = _read(os.path.join(build_dir, "CMakeCache.txt"))
    found = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.+)$", cache, re.MULTILINE)
    compiler = found.group(1) if found else "c++"
    return _output([compiler, "--version"]).splitlines()[0] if compiler else ""


def versions(root, build_dir):
    """Versions of Damo (git commit) and the software it is compared with. numpy and torch
    report their own versions from inside the peers (see main.py)."""
    commit = _output(["git", "-C", root, "rev-parse", "--short=12", "HEAD"])
    dirty = _output(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"])
    llvm = _output(["llvm-config-19", "--version"]) or _package_version("llvm-19-dev")
    return {
        "damo_commit": commit + (" with uncommitted changes" if dirty else ""),
        "llvm": llvm,
        "openblas_serial_damo": _package_version("libopenblas0-serial"),
        "openblas_pthread_peers": _package_version("libopenblas0-pthread"),
        "compiler": _compiler(build_dir),
        "python": _output([sys.executable, "--version"]),
    }


def clear_folder(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
