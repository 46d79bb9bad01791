"""The performance targets that bench/run checks, each met, missed or pending.

Figures are medians at 1 thread unless the target names another thread count. A target whose
measurement is absent (a workload left out with --only) is reported as not measured.
"""


def format_seconds(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms" if seconds < 0.1 else f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


class Medians:
    """Median seconds by (workload, implementation, threads)."""

    def __init__(self, measurements):
        self.by_key = {(m["workload"], m["implementation"], m["threads"]): m
                       for m in measurements}

    def get(self, workload, implementation, threads=1):
        found = self.by_key.get((workload, implementation, threads))
        return found["median_s"] if found else None

    def info(self, workload, implementation, threads=1):
        found = self.by_key.get((workload, implementation, threads))
        return found["info"] if found else None


def _target(name, goal, value, measured, met, pending=None):
    if value is None:
        status = "not measured"
    elif pending:
        status = "pending"
        measured = pending
    else:
        status = "met" if met else "missed"
    return {"target": name, "goal": goal, "value": value, "measured": measured,
            "status": status}


def _ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _speed_targets(medians):
    targets = []
    for workload, what in (("A", "A step"), ("B", "B epoch"), ("C", "C epoch"),
                           ("Cinf", "Cinf pass")):
        damo = medians.get(workload, "damo")
        for peer, label in (("cpp_blas", "C++ OpenBLAS"),
                            ("cpp_blas_fastmath", "C++ OpenBLAS -ffast-math")):
            ratio = _ratio(damo, medians.get(workload, peer))
            measured = "-" if ratio is None else (
                f"{ratio:.2f}x ({format_seconds(damo)} vs "
                f"{format_seconds(medians.get(workload, peer))})")
            targets.append(_target(f"{what}: Damo time / {label} time", "at most 1.0x",
                                   ratio, measured, ratio is not None and ratio <= 1.0))

    damo_a = medians.get("A", "damo")
    speedup = _ratio(medians.get("A", "torch"), damo_a)
    targets.append(_target(
        "A step: PyTorch eager time / Damo time", "at least 8x", speedup,
        "-" if speedup is None else f"{speedup:.1f}x ({format_seconds(damo_a)} vs "
        f"{format_seconds(medians.get('A', 'torch'))})", speedup is not None and speedup >= 8))

    for workload in ("B", "C"):
        one, two = medians.get(workload, "damo", 1), medians.get(workload, "damo", 2)
        scaling = _ratio(one, two)
        targets.append(_target(
            f"{workload} epoch: Damo 1-thread time / 2-thread time", "at least 1.7x", scaling,
            "-" if scaling is None else f"{scaling:.2f}x ({format_seconds(one)} vs "
            f"{format_seconds(two)})", scaling is not None and scaling >= 1.7))
    return targets


def _kernel_targets(medians):
    targets = []
    damo_chain, copy = medians.get("chain", "damo"), medians.get("chain", "memcpy")
    fraction = _ratio(copy, damo_chain)
    info = medians.info("chain", "damo") or {}
    moved = info.get("bytes_read_and_written")
    measured = "-"
    if fraction is not None and moved:
        measured = (f"{fraction:.0%} ({moved / damo_chain / 1e9:.1f} GB/s vs memcpy "
                    f"{moved / copy / 1e9:.1f} GB/s)")
    targets.append(_target("Elementwise chain: share of memcpy bandwidth", "at least 85%",
                           fraction, measured, fraction is not None and fraction >= 0.85))

    damo_mm, blas_mm = medians.get("matmul", "damo"), medians.get("matmul", "cpp_blas")
    share = _ratio(blas_mm, damo_mm)
    flops = (medians.info("matmul", "damo") or {}).get("flops")
    measured = "-"
    if share is not None and flops:
        measured = (f"{share:.0%} ({flops / damo_mm / 1e9:.0f} vs "
                    f"{flops / blas_mm / 1e9:.0f} GFLOP/s)")
    targets.append(_target("Matmul 1024^3: share of OpenBLAS speed", "at least 85%", share,
                           measured, share is not None and share >= 0.85))
    return targets


def _compile_and_memory_targets(medians):
    targets = []
    for workload, label, limit in (("compile_cold", "cold (empty cache folder)", 0.050),
                                   ("compile_cached", "from the on-disk cache", 0.005)):
        seconds = medians.get(workload, "damo")
        targets.append(_target(f"Compile of the A step, {label}",
                               f"under {limit * 1e3:.0f} ms", seconds, format_seconds(seconds),
                               seconds is not None and seconds < limit))

    # The optimizer's own rewrite_bench when the tree has it, else the rewrite time that
    # compile() reports for damo_bench's graph.
    source = "rewrite_bench" if medians.get("rewrite", "rewrite_bench") is not None else "damo"
    seconds = medians.get("rewrite", source)
    info = medians.info("rewrite", source) or {}
    pending = None
    if source == "damo" and seconds is not None and not info.get("optimizer_ran"):
        pending = "pending: compile() runs no optimizer in this build"
    targets.append(_target(f"Rewrites of a {int(info.get('nodes', 10000)):,}-node graph",
                           "under 200 ms", seconds, format_seconds(seconds),
                           seconds is not None and seconds < 0.200, pending))

    info = medians.info("C", "damo") or {}
    peak, data = info.get("max_rss_bytes"), info.get("data_bytes")
    ratio = _ratio(peak, data)
    measured = "-" if ratio is None else (
        f"{ratio:.2f}x ({peak / 2**20:.0f} MiB max RSS, {data / 2**20:.0f} MiB of data "
        f"and weights)")
    targets.append(_target("Peak memory of C: max RSS / (data + weights)", "at most 1.2x",
                           ratio, measured, ratio is not None and ratio <= 1.2))
    return targets


def evaluate(measurements):
    """Return every target as a dict: target, goal, value, measured (text) and status."""
    medians = Medians(measurements)
    return (_speed_targets(medians) + _kernel_targets(medians)
            + _compile_and_memory_targets(medians))
