"""The PyTorch peer of bench/run: each workload as an eager PyTorch program, float32, with
autograd for the gradients and torch.set_num_threads for the thread count."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402

OPTIONS = peer_common.parse_options(sys.argv[1:])
THREADS = int(OPTIONS.get("threads", "1"))
peer_common.set_thread_count(THREADS)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(THREADS)


def load(folder, name):
    return torch.from_numpy(np.load(os.path.join(folder, name + ".npy")))


def sums(values):
    """Sum of absolute values and sum of squares in float64, as damo_bench reports them."""
    wide = values.double()
    return [float(wide.abs().sum()), float((wide * wide).sum())]


def scores(weights, x):
    w1, b1, w2, b2 = weights
    return torch.sigmoid(x @ w1 + b1) @ w2 + b2


def run_train(options):
    folder = options["data"]
    x = load(folder, "x")
    y = load(folder, "y").long()
    initial = [load(folder, name) for name in ("w1", "b1", "w2", "b2")]
    rows, batch = x.shape[0], min(int(options["batch"]), x.shape[0])
    starts = list(peer_common.batch_starts(rows, batch))
    lr = float(options["lr"])
    weights = [w.clone().requires_grad_() for w in initial]

    def step(start):
        loss = F.cross_entropy(scores(weights, x[start:start + batch]), y[start:start + batch])
        loss.backward()
        with torch.no_grad():
            for weight in weights:
                weight -= lr * weight.grad
                weight.grad = None
        return loss.item()

    check = [step(starts[s % len(starts)]) for s in range(int(options.get("check-steps", 11)))]

    def reset():
        with torch.no_grad():
            for weight, value in zip(weights, initial):
                weight.copy_(value)

    def epoch():
        for start in starts:
            step(start)

    return peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]), reset,
                                    epoch), check


def run_infer(options):
    folder = options["data"]
    x = load(folder, "x")
    weights = [load(folder, name) for name in ("w1", "b1", "w2", "b2")]
    result = {}

    def predict():
        with torch.no_grad():
            result["classes"] = scores(weights, x).argmax(dim=1)

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), predict)
    counts = torch.bincount(result["classes"], minlength=weights[3].shape[0])
    return times, [float(c) for c in counts]


def run_chain(options):
    x = load(options["data"], "x")
    result = {}

    def chain():
        result["y"] = (torch.abs((x * 1.5 + 0.5) * x - 0.25) + 1.0).clamp_max(4.0).clamp_min(0.75)

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), chain)
    return times, sums(result["y"])


def run_softmax_crossentropy(options):
    logits = load(options["data"], "logits")
    y = load(options["data"], "y").long()
    result = {}

    def both():
        variable = logits.detach().requires_grad_()
        loss = F.cross_entropy(variable, y)
        (gradient,) = torch.autograd.grad(loss, variable)
        result["loss"] = loss.item()
        result["gradient"] = gradient

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), both)
    return times, [result["loss"]] + sums(result["gradient"])


def run_matmul(options):
    a = load(options["data"], "a")
    b = load(options["data"], "b")
    result = {}

    def product():
        result["c"] = a @ b

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), product)
    return times, sums(result["c"])


def integer_sums(values):
    """Sum of the values and sum of position * value, exactly, as damo_bench reports them."""
    wide = values.long()
    return [int(wide.sum()), int((torch.arange(wide.numel()) * wide).sum())]


def zero_counts(values):
    """Counts of zero and nonzero values, as damo_bench reports them for dropout."""
    zeroed = int((values == 0).sum())
    return [zeroed, values.numel() - zeroed]


# The single-op workloads: (input files, the op, the check values of its output).
SINGLE_OPS = {
    "argmax_rows": (("square",), lambda x: x.argmax(dim=1), integer_sums),
    "softmax_axis0": (("square",), lambda x: torch.softmax(x, dim=0), sums),
    "logsumexp_axis0": (("square",), lambda x: torch.logsumexp(x, dim=0), sums),
    "matvec": (("matrix", "vector"), lambda a, v: a @ v, sums),
    "affine_new": (("x",), lambda x: x * 2.5 + 1, sums),
    "row_max": (("wide",), lambda x: x.amax(dim=1), sums),
    "short_row_max": (("wide",), lambda x: x.reshape(-1, 32).amax(dim=1), sums),
    "diff": (("x",), lambda x: x[1:] - x[:-1], sums),
    "cast_i32": (("x",), lambda x: x.to(torch.int32), integer_sums),
    "dropout": (("x",), lambda x: F.dropout(x, 0.5, training=True), zero_counts),
}


def run_single_op(options):
    return peer_common.time_single_op(options, SINGLE_OPS, load)


WORKLOADS = {
    "train": run_train,
    "infer": run_infer,
    "chain": run_chain,
    "softmax_crossentropy": run_softmax_crossentropy,
    "matmul": run_matmul,
    **{name: run_single_op for name in SINGLE_OPS},
}

if __name__ == "__main__":
    times, check = WORKLOADS[OPTIONS["workload"]](OPTIONS)
    info = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    peer_common.print_report(times, check, info)
