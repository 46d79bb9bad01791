"""Parts shared by the Python peers of bench/run (NumPy and PyTorch).

A peer takes the same `--name value` options as damo_bench and prints the same one-line
JSON report: {"times_s": [...], "check": [...], "info": {...}}. Call
set_thread_count() before importing numpy or torch, because their thread pools read the
environment once, at import.
"""

import json
import math
import os
import sys
import time


def parse_options(arguments):
    """Return the `--name value` pairs of arguments as a dict of strings."""
    if len(arguments) % 2:
        sys.exit(f"expected '--name value' pairs, got {arguments}")
    options = {}
    for name, value in zip(arguments[::2], arguments[1::2]):
        if not name.startswith("--"):
            sys.exit(f"expected an option name starting with '--', got '{name}'")
        options[name[2:]] = value
    return options


def set_thread_count(threads):
    """Pin OpenMP and OpenBLAS (the BLAS behind Debian's numpy and torch) to threads."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def time_repeats(warmup, repeats, reset, body):
    """Call reset() untimed and body() timed, warmup + repeats times; return the seconds
    of the last repeats body() calls."""
    seconds = []
    for i in range(warmup + repeats):
        reset()
        start = time.perf_counter()
        body()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            seconds.append(elapsed)
    return seconds


def time_single_op(options, ops, load):
    """Time the single-op workload options["workload"]. ops maps each workload to its input
    file names, the op and the check function, and load(folder, name) reads one input.
    Returns the seconds of the timed calls and the check values of the last output."""
    names, op, check = ops[options["workload"]]
    inputs = [load(options["data"], name) for name in names]
    result = {}

    def call():
        result["y"] = op(*inputs)

    times = time_repeats(int(options["warmup"]), int(options["repeats"]), result.clear, call)
    return times, check(result["y"])


def print_report(times, check, info):
    """Print the JSON report on standard output; NaN and infinity become null."""
    clean = [value if math.isfinite(value) else None for value in map(float, check)]
    print(json.dumps({"times_s": times, "check": clean, "info": info}), flush=True)


def mlp_files(folder):
    """Paths of the data and initial weights that damo_bench's prepare-mlp wrote."""
    names = ("x", "y", "w1", "b1", "w2", "b2")
    return {name: os.path.join(folder, name + ".npy") for name in names}


def batch_starts(rows, batch):
    """Start rows of the batches of one epoch; the last batch may be shorter."""
    return range(0, rows, batch)
