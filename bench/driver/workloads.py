"""The workloads and implementations that bench/run measures, and how many times.

Every implementation is a program that takes `--name value` options and prints one JSON
report (see bench/common/bench_util.h). This module lists which program runs which
workload with which options, and runner.py runs them.
"""

from dataclasses import dataclass, field

LEARNING_RATE = 0.01

# Input data sets, written once by damo_bench's prepare-* workloads. The folder name
# carries every parameter, so a changed parameter gets a new folder.
DATA_SETS = {
    "A": ("prepare-mlp", {"rows": 440, "features": 6, "hidden": 64, "classes": 3, "seed": 1}),
    "B": ("prepare-mlp", {"rows": 100_000, "features": 16, "hidden": 64, "classes": 3,
                          "seed": 2}),
    "C": ("prepare-mlp", {"rows": 1_000_000, "features": 32, "hidden": 256, "classes": 3,
                          "seed": 3}),
    "chain": ("prepare-chain", {"size": 10_000_000, "seed": 4}),
    "softmax_crossentropy": ("prepare-softmax_crossentropy",
                             {"rows": 1_000_000, "classes": 10, "seed": 5}),
    "matmul": ("prepare-matmul", {"size": 1024, "seed": 6}),
    "ops": ("prepare-ops", {"square": 2048, "matrix": 4096, "wide_rows": 16,
                            "wide_columns": 262144, "seed": 7}),
}


def data_folder_name(name):
    kind, parameters = DATA_SETS[name]
    return name + "-" + "-".join(f"{key}{value}" for key, value in parameters.items())


@dataclass(frozen=True)
class Implementation:
    key: str
    label: str
    # "damo", "reference", "reference_fastmath" or "python"; runner.py maps it to a command.
    program: str
    arguments: tuple = ()
    # False for a yardstick that computes something else (memcpy copies the input).
    compared: bool = True


DAMO = Implementation("damo", "Damo", "damo")
CPP_LOOPS = Implementation("cpp_loops", "C++ loops", "reference", ("--variant", "loops"))
CPP_BLAS = Implementation("cpp_blas", "C++ OpenBLAS", "reference", ("--variant", "blas"))
CPP_FAST = Implementation("cpp_blas_fastmath", "C++ OpenBLAS -ffast-math",
                          "reference_fastmath", ("--variant", "blas"))
MEMCPY = Implementation("memcpy", "memcpy", "reference", ("--variant", "memcpy"),
                        compared=False)
NUMPY = Implementation("numpy", "NumPy", "python", ("numpy_peer.py",))
TORCH = Implementation("torch", "PyTorch eager", "python", ("torch_peer.py",))

# The optimizer's own benchmark program (bench/rewrite_bench.cpp), run when present.
REWRITE_BENCH = Implementation("rewrite_bench", "optimizer's rewrite_bench", "rewrite_bench",
                               compared=False)

NETWORK_PEERS = (DAMO, CPP_LOOPS, CPP_BLAS, CPP_FAST, NUMPY, TORCH)
SINGLE_OP_PEERS = (DAMO, NUMPY, TORCH)


@dataclass(frozen=True)
class Workload:
    key: str
    description: str
    program_workload: str
    data: str
    implementations: tuple
    # (warm-up runs, timed runs) in the full and the quick mode.
    full: tuple
    quick: tuple
    options: dict = field(default_factory=dict)
    threads: tuple = (1, 2)
    # How check values are compared: "relative" (relative difference), "count" (absolute
    # difference over the total count) or "exact" (equal values only, for integer outputs).
    check_kind: str = "relative"
    # Largest allowed check difference; None for CHECK_TOLERANCE.
    tolerance: float = None


CHECK_TOLERANCE = 1e-4

WORKLOADS = (
    Workload("A", "one full-batch training step, n=440, d=6, hidden 64, 3 classes", "train",
             "A", NETWORK_PEERS, full=(20, 101), quick=(5, 21), options={"batch": 440}),
    Workload("B", "one training epoch, n=100,000, d=16, hidden 64, batch 256", "train", "B",
             NETWORK_PEERS, full=(2, 11), quick=(1, 3), options={"batch": 256}),
    Workload("C", "one training epoch, n=1,000,000, d=32, hidden 256, batch 1024", "train",
             "C", NETWORK_PEERS, full=(1, 3), quick=(0, 1), options={"batch": 1024}),
    Workload("Cinf", "forward pass and argmax over all of C's rows", "infer", "C",
             NETWORK_PEERS, full=(1, 3), quick=(1, 1), check_kind="count"),
    Workload("chain", "8 elementwise ops over 10,000,000 floats", "chain", "chain",
             (DAMO, CPP_LOOPS, CPP_FAST, MEMCPY, NUMPY, TORCH), full=(3, 21), quick=(1, 5)),
    Workload("softmax_crossentropy",
             "softmax cross-entropy and its gradient over (1,000,000 x 10)",
             "softmax_crossentropy", "softmax_crossentropy",
             (DAMO, CPP_LOOPS, CPP_FAST, NUMPY, TORCH), full=(2, 11), quick=(1, 3)),
    Workload("matmul", "1024 x 1024 x 1024 matrix product", "matmul", "matmul",
             (DAMO, CPP_LOOPS, CPP_BLAS, NUMPY, TORCH), full=(2, 11), quick=(1, 3)),
    Workload("compile_cold", "compile() of the A training step, empty cache folder",
             "compile_cold", "A", (DAMO,), full=(1, 11), quick=(1, 3)),
    Workload("compile_cached", "compile() of the A training step from the on-disk cache",
             "compile_cached", "A", (DAMO,), full=(2, 21), quick=(1, 5)),
    Workload("rewrite", "optimizer rewrites of a 10,000-node training graph", "rewrite", "",
             (DAMO, REWRITE_BENCH), full=(1, 11), quick=(1, 3), options={"nodes": 10_000},
             threads=(1,)),
)

# Single ops, each one compiled Damo function called on the whole input, float32 unless
# noted. They run at 1 thread and have no targets. The time table shows them with the
# other workloads.
SINGLE_OPS = (
    ("argmax_rows", "argmax(x, axis 1) of a 2048 x 2048 x, int64 indices", "ops", "exact"),
    ("softmax_axis0", "softmax(x, axis 0) of a 2048 x 2048 x", "ops", "relative"),
    ("logsumexp_axis0", "logsumexp(x, axis 0) of a 2048 x 2048 x", "ops", "relative"),
    ("matvec", "A @ v, A 4096 x 4096, v 4096", "ops", "relative"),
    ("affine_new", "x * 2.5 + 1 over 10,000,000 floats into a fresh output per call", "chain",
     "relative"),
    ("row_max", "max(x, axis 1) of a 16 x 262144 x", "ops", "relative"),
    ("short_row_max", "max(x, axis 1) of the same values as a 131072 x 32 x", "ops", "relative"),
    ("diff", "x[1:] - x[:-1] over 10,000,000 floats", "chain", "relative"),
    ("cast_i32", "cast of 10,000,000 floats to int32", "chain", "exact"),
    ("dropout", "dropout at rate 0.5 over 10,000,000 floats, a new mask per call", "chain",
     "count"),
)

# Each implementation draws its own masks, so dropout's counts of zeroed elements agree
# only within sampling noise. Over 10,000,000 elements, the difference between two shares
# zeroed has a standard deviation of 2.2e-4, and 1e-3 is 4.5 of it.
TOLERANCES = {"dropout": 1e-3}

WORKLOADS += tuple(
    Workload(key, description, key, data, SINGLE_OP_PEERS, full=(5, 51), quick=(1, 5),
             threads=(1,), check_kind=check_kind, tolerance=TOLERANCES.get(key))
    for key, description, data, check_kind in SINGLE_OPS)
