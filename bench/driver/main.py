"""bench/run's driver: builds the benchmark programs, prepares the shared inputs, runs every
workload for Damo and each peer (all implementations of one workload before the next
workload), checks that they agree, and writes the report."""

import argparse
import datetime
import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import environment  # noqa: E402
import report  # noqa: E402
import targets  # noqa: E402
from runner import BenchError, Runner  # noqa: E402
from workloads import CHECK_TOLERANCE, DATA_SETS, WORKLOADS, data_folder_name  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="few repeats, for a smoke test of a couple of minutes; writes "
                             "its report under the build folder unless --output-dir is given")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads to run (default: all): "
                             + ", ".join(w.key for w in WORKLOADS))
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"),
                        help="build folder of the Release build (default: build-bench)")
    parser.add_argument("--output-dir", default="",
                        help="folder for BENCHMARKS.md and results.json (default: the "
                             "repository root and bench/ for a full run of every workload)")
    return parser.parse_args(argv)


def selected_workloads(only):
    if not only:
        return list(WORKLOADS)
    keys = only.split(",")
    unknown = [k for k in keys if k not in {w.key for w in WORKLOADS}]
    if unknown:
        sys.exit(f"bench/run: unknown workload(s) {', '.join(unknown)}; choose from "
                 + ", ".join(w.key for w in WORKLOADS))
    return [w for w in WORKLOADS if w.key in keys]


def output_paths(arguments, build_dir):
    if arguments.output_dir:
        os.makedirs(arguments.output_dir, exist_ok=True)
        return (os.path.join(arguments.output_dir, "BENCHMARKS.md"),
                os.path.join(arguments.output_dir, "results.json"))
    if arguments.quick or arguments.only:
        folder = os.path.join(build_dir, "quick" if arguments.quick else "partial")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, "BENCHMARKS.md"), os.path.join(folder, "results.json")
    return os.path.join(ROOT, "BENCHMARKS.md"), os.path.join(ROOT, "bench", "results.json")


def difference(kind, expected, actual):
    """Largest difference between two check lists: relative, absolute over the total count
    for kind "count", or absolute for kind "exact". Missing or non-finite values count as
    infinitely different."""
    if len(expected) != len(actual) or None in expected or None in actual:
        return float("inf")
    if kind == "exact":
        return max(abs(a - b) for a, b in zip(expected, actual))
    if kind == "count":
        total = max(sum(expected), 1)
        return max(abs(a - b) for a, b in zip(expected, actual)) / total
    return max(abs(a - b) / max(abs(a), abs(b), 1e-30) for a, b in zip(expected, actual))


def check_agreement(workload, threads, row):
    """Compare every implementation's check values with Damo's; raise BenchError naming all
    of them when one differs by more than CHECK_TOLERANCE, or at all for kind "exact"."""
    damo = next((m for m in row if m["implementation"] == "damo"), None)
    compared = {i.key for i in workload.implementations if i.compared}
    others = [m for m in row if m is not damo and m["implementation"] in compared]
    if damo is None or not others:
        return None
    largest = max(difference(workload.check_kind, damo["check"], m["check"]) for m in others)
    tolerance = 0 if workload.check_kind == "exact" else CHECK_TOLERANCE
    if workload.tolerance is not None:
        tolerance = workload.tolerance
    if largest > tolerance:
        values = "\n".join(f"  {m['label']}: {m['check']}" for m in row)
        raise BenchError(f"{workload.key} at {threads} thread(s): the implementations "
                         f"disagree (largest {workload.check_kind} difference {largest:.2e}, "
                         f"tolerance {tolerance:.0e}):\n{values}")
    return {"workload": workload.key, "threads": threads, "kind": workload.check_kind,
            "implementations": [m["label"] for m in others], "largest_difference": largest}


def peer_versions(measurements):
    versions = {}
    for m in measurements:
        for key in ("numpy", "torch", "openblas"):
            if key in m["info"]:
                versions[key if key != "openblas" else "openblas_config"] = m["info"][key]
    return versions


def available(implementations):
    """Return the implementations this tree can run: the optimizer's rewrite_bench only
    when its source is present."""
    return [i for i in implementations
            if i.program != "rewrite_bench" or environment.has_rewrite_bench(ROOT)]


def run_workloads(runner, workloads, arguments, data_dir):
    total = sum(len(w.threads) * len(available(w.implementations)) for w in workloads)
    measurements, checks, done = [], [], 0
    for workload in workloads:
        warmup, repeats = workload.quick if arguments.quick else workload.full
        folder = os.path.join(data_dir, data_folder_name(workload.data)) if workload.data else ""
        for threads in workload.threads:
            row = []
            for implementation in available(workload.implementations):
                done += 1
                m = runner.run(workload, implementation, threads, warmup, repeats, folder)
                row.append(m)
                environment.log(f"[{done}/{total}] {workload.key}, {threads} thread(s), "
                                f"{implementation.label}: {targets.format_seconds(m['median_s'])}"
                                f" median of {repeats} ({m['process_wall_s']:.1f} s in all)")
            check = check_agreement(workload, threads, row)
            if check:
                checks.append(check)
            measurements += row
    return measurements, checks


def main(argv):
    arguments = parse_arguments(argv)
    workloads = selected_workloads(arguments.only)
    build_dir = os.path.abspath(arguments.build_dir)
    markdown_path, json_path = output_paths(arguments, build_dir)
    started, load_start = time.monotonic(), environment.load_average()

    environment.build(ROOT, build_dir)
    data_dir = os.path.join(build_dir, "bench-data")
    scratch_dir = os.path.join(build_dir, "bench-scratch")
    environment.clear_folder(scratch_dir)
    runner = Runner(ROOT, build_dir, data_dir, os.path.join(build_dir, "bench-cache"),
                    scratch_dir)
    for name in sorted({w.data for w in workloads if w.data}):
        environment.log(f"preparing data set {name}")
        kind, parameters = DATA_SETS[name]
        runner.prepare_data(name, kind, parameters, os.path.join(data_dir, data_folder_name(name)))

    measurements, checks = run_workloads(runner, workloads, arguments, data_dir)
    results = {
        "command": "bench/run" + "".join(" " + shlex.quote(a) for a in argv),
        "mode": "quick" if arguments.quick else "full",
        "date": datetime.date.today().isoformat(),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": environment.machine(),
        "versions": {**environment.versions(ROOT, build_dir), **peer_versions(measurements)},
        "load_average": {"start": load_start, "end": environment.load_average()},
        "targets": targets.evaluate(measurements),
        "checks": checks,
        "measurements": measurements,
    }
    report.write(results, markdown_path, json_path)
    print(report.targets_table(results) + "\n\n" + report.time_table(results))
    environment.log(f"wrote {markdown_path} and {json_path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"bench/run: FAILED: {error}", file=sys.stderr)
        sys.exit(1)
