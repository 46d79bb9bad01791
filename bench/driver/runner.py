"""Runs one benchmark program for one workload, implementation and thread count, and
returns its report with the median and spread of its times."""

import json
import os
import re
import statistics
import subprocess
import time

from workloads import LEARNING_RATE

DEBIAN_PYTHON = "/usr/bin/python3"

# Seconds one program may run before the run is abandoned.
PROGRAM_TIMEOUT_S = 1800


class BenchError(Exception):
    """A benchmark program failed or two implementations disagreed."""


class Runner:
    def __init__(self, root, build_dir, data_dir, cache_dir, scratch_dir):
        self.root = root
        self.build_dir = build_dir
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.scratch_dir = scratch_dir

    def _command(self, implementation):
        programs = os.path.join(self.build_dir, "bench")
        if implementation.program == "damo":
            return [os.path.join(programs, "damo_bench"), "--cache-dir", self.cache_dir,
                    "--scratch", self.scratch_dir]
        if implementation.program == "reference":
            return [os.path.join(programs, "bench_reference"), *implementation.arguments]
        if implementation.program == "reference_fastmath":
            return [os.path.join(programs, "bench_reference_fastmath"),
                    *implementation.arguments]
        script = os.path.join(self.root, "bench", "peers", implementation.arguments[0])
        return [DEBIAN_PYTHON, script]

    def prepare_data(self, name, kind, parameters, folder):
        """Write one data set with damo_bench, unless an earlier run already did."""
        marker = os.path.join(folder, "complete")
        if os.path.exists(marker):
            return
        command = [os.path.join(self.build_dir, "bench", "damo_bench"), "--workload", kind,
                   "--out", folder]
        for key, value in parameters.items():
            command += [f"--{key}", str(value)]
        subprocess.run(command, check=True)
        with open(marker, "w", encoding="utf-8") as file:
            file.write(" ".join(command) + "\n")

    def _run_rewrite_bench(self, workload, implementation, threads):
        """Run the optimizer's rewrite_bench, which prints one line of text, such as
        "training pipeline: 700 layers, 10100 nodes -> 8000 nodes, 40 pass runs; best of 5:
        120.0 ms wall, 118.0 ms CPU"."""
        command = [os.path.join(self.build_dir, "bench", "rewrite_bench"),
                   str(workload.options["nodes"])]
        start = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=PROGRAM_TIMEOUT_S)
        found = re.search(r"(\d+) nodes -> (\d+) nodes.*best of \d+: ([\d.]+) ms wall, "
                          r"([\d.]+) ms CPU", result.stdout)
        if result.returncode != 0 or not found:
            raise BenchError(f"{' '.join(command)} failed or printed no timing (exit status "
                             f"{result.returncode}):\n{result.stdout}{result.stderr}")
        report = {"times_s": [float(found.group(3)) / 1000], "check": [],
                  "info": {"nodes": int(found.group(1)), "nodes_after": int(found.group(2)),
                           "cpu_ms": float(found.group(4)), "output": result.stdout.strip()}}
        return measurement(workload, implementation, threads, report,
                           time.monotonic() - start, command)

    def run(self, workload, implementation, threads, warmup, repeats, data_folder):
        if implementation.program == "rewrite_bench":
            return self._run_rewrite_bench(workload, implementation, threads)
        command = self._command(implementation) + [
            "--workload", workload.program_workload, "--threads", str(threads),
            "--warmup", str(warmup), "--repeats", str(repeats), "--lr", str(LEARNING_RATE)]
        if data_folder:
            command += ["--data", data_folder]
        for key, value in workload.options.items():
            command += [f"--{key}", str(value)]

        # Each program's own process gets the thread count of the row, for every pool it
        # may start: Damo's, OpenMP's and OpenBLAS's.
        environment = dict(os.environ)
        for variable in ("DAMO_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                         "MKL_NUM_THREADS"):
            environment[variable] = str(threads)

        start = time.monotonic()
        try:
            result = subprocess.run(command, capture_output=True, text=True, env=environment,
                                    timeout=PROGRAM_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise BenchError(f"{' '.join(command)} ran longer than {PROGRAM_TIMEOUT_S} s") \
                from error
        if result.returncode != 0:
            raise BenchError(f"{' '.join(command)} failed with exit status "
                             f"{result.returncode}:\n{result.stderr.strip()}")
        lines = result.stdout.strip().splitlines()
        try:
            report = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError) as error:
            raise BenchError(f"{' '.join(command)} printed no JSON report; its output was:\n"
                             f"{result.stdout}{result.stderr}") from error
        return measurement(workload, implementation, threads, report,
                           time.monotonic() - start, command)


def measurement(workload, implementation, threads, report, wall_s, command):
    times = report["times_s"]
    median = statistics.median(times) if times else None
    # The interquartile range over the median: robust to the odd run that the scheduler
    # of a shared machine delays.
    spread = None
    if len(times) >= 2 and median:
        quartiles = statistics.quantiles(times, n=4)
        spread = (quartiles[2] - quartiles[0]) / median
    return {
        "workload": workload.key,
        "implementation": implementation.key,
        "label": implementation.label,
        "threads": threads,
        "median_s": median,
        "min_s": min(times) if times else None,
        "max_s": max(times) if times else None,
        "spread": spread,
        "times_s": times,
        "check": report["check"],
        "info": report["info"],
        "process_wall_s": round(wall_s, 3),
        "command": command,
    }
