"""Writes the results of a bench/run as a Markdown page (BENCHMARKS.md) and as JSON
(results.json) with the same figures, and prints the tables on standard output."""

import json

from targets import Medians, format_seconds
from workloads import SINGLE_OPS, WORKLOADS

# Column order of the time table; an implementation a workload lacks shows "-".
COLUMNS = (("damo", "Damo"), ("cpp_loops", "C++ loops"), ("cpp_blas", "C++ OpenBLAS"),
           ("cpp_blas_fastmath", "C++ OpenBLAS -ffast-math"), ("memcpy", "memcpy"),
           ("numpy", "NumPy"), ("torch", "PyTorch eager"))
TIMED_WORKLOADS = ("A", "B", "C", "Cinf", "chain", "softmax_crossentropy", "matmul") + tuple(
    key for key, *_ in SINGLE_OPS)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio_text(numerator, denominator):
    if numerator is None or denominator is None:
        return "-"
    return f"{numerator / denominator:.2f}x"


def time_table(results):
    medians = Medians(results["measurements"])
    header = ["workload", "threads"] + [label for _, label in COLUMNS] + [
        "Damo / C++ OpenBLAS", "NumPy / Damo", "PyTorch / Damo"]
    rows = []
    for workload in TIMED_WORKLOADS:
        for threads in (1, 2):
            cells = [medians.get(workload, key, threads) for key, _ in COLUMNS]
            if all(cell is None for cell in cells):
                continue
            damo = medians.get(workload, "damo", threads)
            rows.append([workload, threads] + [format_seconds(c) for c in cells] + [
                _ratio_text(damo, medians.get(workload, "cpp_blas", threads)),
                _ratio_text(medians.get(workload, "numpy", threads), damo),
                _ratio_text(medians.get(workload, "torch", threads), damo)])
    return _table(header, rows)


def targets_table(results):
    rows = [[t["target"], t["measured"], t["goal"], f"**{t['status']}**"
             if t["status"] == "missed" else t["status"]] for t in results["targets"]]
    return _table(["target (1 thread unless stated)", "measured", "goal", "status"], rows)


def compile_and_memory_lines(results):
    medians = Medians(results["measurements"])
    lines = []
    cold = medians.info("compile_cold", "damo")
    if cold:
        lines.append(
            f"- Compile of the A step into an empty cache folder: "
            f"{format_seconds(medians.get('compile_cold', 'damo'))} median "
            f"(LLVM optimization {cold.get('llvm_optimize_ms', 0):.1f} ms, machine code "
            f"{cold.get('machine_code_ms', 0):.1f} ms, rewrites {cold.get('rewrite_ms', 0):.2f}"
            f" ms, lowering {cold.get('lowering_ms', 0):.1f} ms in the last run); the first "
            f"compile in a process, which also starts LLVM, took "
            f"{format_seconds(cold.get('first_compile_in_process_s'))}.")

    cached = medians.info("compile_cached", "damo")
    if cached:
        lines.append(f"- Compile of the A step from the on-disk cache, in a fresh Graph: "
                     f"{format_seconds(medians.get('compile_cached', 'damo'))} median.")

    rewrite = medians.info("rewrite", "damo")
    if rewrite:
        state = ("the optimizer ran" if rewrite.get("optimizer_ran")
                 else "compile() ran no optimizer")
        lines.append(f"- Rewrites through compile(): a {int(rewrite['layers'])}-layer network "
                     f"with gradient and updates, {int(rewrite['nodes']):,} nodes; {state}; "
                     f"CompileStats::rewrite_ms "
                     f"{format_seconds(medians.get('rewrite', 'damo'))} median.")
    own = medians.info("rewrite", "rewrite_bench")
    if own:
        lines.append(f"- The optimizer's rewrite_bench: `{own['output']}`")

    memory = medians.info("C", "damo")
    if memory:
        mib = 2**20
        lines.append(
            f"- Memory of the Damo process for C: {memory['data_bytes'] / mib:.0f} MiB of "
            f"data and weights; resident {memory['rss_after_load_bytes'] / mib:.0f} MiB "
            f"after loading; peak {memory['peak_rss_before_epochs_bytes'] / mib:.0f} MiB "
            f"before the timed epochs (loading included) and "
            f"{memory.get('peak_rss_in_epochs_bytes', float('nan')) / mib:.0f} MiB during "
            f"them, of which {memory.get('rss_file_bytes_after_epochs', float('nan')) / mib:.0f}"
            f" MiB were pages mapped from files (the LLVM shared library, mostly).")
    return "\n".join(lines)


def checks_table(results):
    rows = [[c["workload"], c["threads"], ", ".join(c["implementations"]),
             f"{c['largest_difference']:.1e}", c["kind"]] for c in results["checks"]]
    return _table(["workload", "threads", "compared with Damo", "largest difference",
                   "measure"], rows)


def noise_line(results):
    spreads = sorted(m["spread"] for m in results["measurements"] if m["spread"] is not None)
    start, end = results["load_average"]["start"], results["load_average"]["end"]
    text = (f"The machine was shared: the 1-minute load average was {start:.2f} at the start "
            f"and {end:.2f} at the end, on {results['machine']['cores']} cores.")
    if spreads:
        text += (f" The interquartile range of a row's timed runs was {spreads[len(spreads) // 2]:.0%}"
                 f" of its median for the median row and at most {spreads[-1]:.0%}; "
                 f"results.json holds every run.")
    return text


def machine_table(results):
    machine = results["machine"]
    rows = [["CPU", f"{machine['cpu']}, {machine['cores']} cores, "
                    f"{machine['vector_extensions']}"],
            ["memory", f"{machine['memory_gib']} GiB"],
            ["Linux", machine["kernel"]]]
    rows += [[key.replace("_", " "), value] for key, value in results["versions"].items()
             if value]
    return _table(["", ""], rows)


def workload_lines():
    return "\n".join(f"- {w.key}: {w.description}; {w.full[0]} warm-up and {w.full[1]} "
                     f"timed runs ({w.quick[0]} and {w.quick[1]} with --quick)."
                     for w in WORKLOADS)


def markdown(results):
    return f"""# Benchmarks

Damo against hand-written C++, NumPy and PyTorch on the same workloads, from one run of
`{results['command']}` ({results['mode']} mode, {results['date']}, \
{results['duration_s'] / 60:.1f} minutes). Times are medians of repeated runs after warm-up
runs. Each implementation ran each workload in its own process, and every implementation
ran one workload before the next workload started. bench/README.md describes the method.

## Machine and versions

{machine_table(results)}

{noise_line(results)}

## Targets

{targets_table(results)}

## Times

The ratio columns divide medians: Damo / C++ OpenBLAS below 1.0x, and NumPy / Damo or
PyTorch / Damo above 1.0x, mean that Damo was faster. The single-op rows, from argmax_rows
to dropout, have no targets.

{time_table(results)}

## Compile time and memory

{compile_and_memory_lines(results)}

## Agreement

Every implementation started from the same initial weights and inputs. The training
workloads compare the losses of the first 11 steps (the last one after 10 updates), the
others sums over their outputs, and Cinf how many rows fall in each class. The integer
outputs of argmax_rows and cast_i32 must match exactly: their sum and the sum of
position times value. Dropout draws different masks in each implementation, so its check
is the count of zeroed elements, which must agree within 1e-3 of the total.

{checks_table(results)}

## Workloads

{workload_lines()}
"""


def write(results, markdown_path, json_path):
    with open(markdown_path, "w", encoding="utf-8") as file:
        file.write(markdown(results))
    with open(json_path, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
        file.write("\n")
