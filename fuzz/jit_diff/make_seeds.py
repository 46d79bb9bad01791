#!/usr/bin/env python3
"""Writes the seed corpus of the JIT differential fuzzer (fuzz/jit_diff/corpus).

The harness decodes any bytes into a graph, so the seeds are pseudo-random bytes of a few
lengths. A fixed random seed makes reruns of this script write the same files. Each
family of ops is the first step of one seed.
"""
import os
import random
import sys


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(20240601)
    for family in range(16):
        # Bytes: opt level O2, symbol sizes 3 and 2, one f32 input of shape (2, 3) and its
        # six values, then the first step choosing `family`, then random bytes.
        head = bytes([2, 3, 2, 0, 3, 2, 3, 4]) + bytes(rng.randrange(256) for _ in range(6))
        body = bytes([family]) + bytes(rng.randrange(256) for _ in range(rng.choice([32, 96, 200])))
        with open(os.path.join(out_dir, f"family_{family:02d}"), "wb") as f:
            f.write(head + body)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus"))
