"""The NumPy peer of bench/run: each workload written in plain, idiomatic NumPy, float32
throughout, with the network's gradients derived by hand."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402

OPTIONS = peer_common.parse_options(sys.argv[1:])
THREADS = int(OPTIONS.get("threads", "1"))
peer_common.set_thread_count(THREADS)

import numpy as np  # noqa: E402


def sums(values):
    """Sum of absolute values and sum of squares in float64, as damo_bench reports them."""
    wide = values.astype(np.float64)
    return [float(np.abs(wide).sum()), float((wide * wide).sum())]


def forward(weights, x):
    w1, b1, w2, b2 = weights
    hidden = 1 / (1 + np.exp(-(x @ w1 + b1)))
    return hidden, hidden @ w2 + b2


def train_step(weights, x, y, lr):
    """One gradient-descent step in place on weights; returns the mean loss."""
    w1, b1, w2, b2 = weights
    rows = x.shape[0]
    hidden, scores = forward(weights, x)
    scores -= scores.max(axis=1, keepdims=True)
    exponentials = np.exp(scores)
    totals = exponentials.sum(axis=1, keepdims=True)
    picked = np.arange(rows)
    loss = float(np.mean(np.log(totals[:, 0]) - scores[picked, y]))

    gradient = exponentials / totals
    gradient[picked, y] -= 1
    gradient /= rows
    d_w2 = hidden.T @ gradient
    d_b2 = gradient.sum(axis=0)
    d_hidden = (gradient @ w2.T) * hidden * (1 - hidden)
    d_w1 = x.T @ d_hidden
    d_b1 = d_hidden.sum(axis=0)
    for weight, derivative in zip(weights, (d_w1, d_b1, d_w2, d_b2)):
        weight -= lr * derivative
    return loss


def run_train(options):
    files = peer_common.mlp_files(options["data"])
    x, y = np.load(files["x"]), np.load(files["y"])
    initial = [np.load(files[name]) for name in ("w1", "b1", "w2", "b2")]
    rows, batch = x.shape[0], min(int(options["batch"]), x.shape[0])
    starts = list(peer_common.batch_starts(rows, batch))
    lr = np.float32(options["lr"])
    weights = [w.copy() for w in initial]

    def step(start):
        return train_step(weights, x[start:start + batch], y[start:start + batch], lr)

    check = [step(starts[s % len(starts)]) for s in range(int(options.get("check-steps", 11)))]

    def reset():
        for weight, value in zip(weights, initial):
            weight[...] = value

    def epoch():
        for start in starts:
            step(start)

    return peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]), reset,
                                    epoch), check


def run_infer(options):
    files = peer_common.mlp_files(options["data"])
    x = np.load(files["x"])
    weights = [np.load(files[name]) for name in ("w1", "b1", "w2", "b2")]
    result = {}

    def predict():
        result["classes"] = forward(weights, x)[1].argmax(axis=1)

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: None, predict)
    counts = np.bincount(result["classes"], minlength=weights[3].shape[0])
    return times, [float(c) for c in counts]


def run_chain(options):
    x = np.load(os.path.join(options["data"], "x.npy"))
    result = {}

    def chain():
        result["y"] = np.maximum(np.minimum(np.abs((x * 1.5 + 0.5) * x - 0.25) + 1.0, 4.0), 0.75)

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), chain)
    return times, sums(result["y"])


def run_softmax_crossentropy(options):
    logits = np.load(os.path.join(options["data"], "logits.npy"))
    y = np.load(os.path.join(options["data"], "y.npy"))
    rows = logits.shape[0]
    picked = np.arange(rows)
    result = {}

    def both():
        shifted = logits - logits.max(axis=1, keepdims=True)
        exponentials = np.exp(shifted)
        totals = exponentials.sum(axis=1, keepdims=True)
        result["loss"] = float(np.mean(np.log(totals[:, 0]) - shifted[picked, y]))
        gradient = exponentials / totals
        gradient[picked, y] -= 1
        gradient /= rows
        result["gradient"] = gradient

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), both)
    return times, [result["loss"]] + sums(result["gradient"])


def run_matmul(options):
    a = np.load(os.path.join(options["data"], "a.npy"))
    b = np.load(os.path.join(options["data"], "b.npy"))
    result = {}

    def product():
        result["c"] = a @ b

    times = peer_common.time_repeats(int(options["warmup"]), int(options["repeats"]),
                                     lambda: result.clear(), product)
    return times, sums(result["c"])


def integer_sums(values):
    """Sum of the values and sum of position * value, exactly, as damo_bench reports them."""
    wide = values.astype(np.int64)
    return [int(wide.sum()), int(np.dot(np.arange(wide.size, dtype=np.int64), wide))]


def softmax_axis0(x):
    exponentials = np.exp(x - x.max(axis=0, keepdims=True))
    return exponentials / exponentials.sum(axis=0, keepdims=True)


def logsumexp_axis0(x):
    largest = x.max(axis=0)
    return largest + np.log(np.exp(x - largest).sum(axis=0))


def zero_counts(values):
    """Counts of zero and nonzero values, as damo_bench reports them for dropout."""
    zeroed = int(np.count_nonzero(values == 0))
    return [zeroed, values.size - zeroed]


GENERATOR = np.random.default_rng(0)


def dropout(x):
    """Inverted dropout at rate 0.5 with a new float32 mask per call."""
    return np.where(GENERATOR.random(x.shape, dtype=np.float32) >= 0.5, x * 2, np.float32(0))


# The single-op workloads: (input files, the op, the check values of its output).
SINGLE_OPS = {
    "argmax_rows": (("square",), lambda x: x.argmax(axis=1), integer_sums),
    "softmax_axis0": (("square",), softmax_axis0, sums),
    "logsumexp_axis0": (("square",), logsumexp_axis0, sums),
    "matvec": (("matrix", "vector"), lambda a, v: a @ v, sums),
    "affine_new": (("x",), lambda x: x * 2.5 + 1, sums),
    "row_max": (("wide",), lambda x: x.max(axis=1), sums),
    "short_row_max": (("wide",), lambda x: x.reshape(-1, 32).max(axis=1), sums),
    "diff": (("x",), lambda x: x[1:] - x[:-1], sums),
    "cast_i32": (("x",), lambda x: x.astype(np.int32), integer_sums),
    "dropout": (("x",), dropout, zero_counts),
}


def load(folder, name):
    return np.load(os.path.join(folder, name + ".npy"))


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
    peer_common.print_report(times, check, {"threads": THREADS, "numpy": np.__version__})
