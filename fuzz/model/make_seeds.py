#!/usr/bin/env python3
"""Writes the seed corpus of the model-reader fuzzer (fuzz/model/corpus).

The model format is documented in demo/include/segment/model.h. The first byte of each
seed selects the harness mode: 0x01 passes the rest as a whole file, 0x00 wraps the rest
(a bare payload) in a valid version 1 header, and 0x02 in a valid version 2 header.
"""
import os
import struct
import sys
import zlib


def string(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def tensor(shape, start):
    count = 1
    for d in shape:
        count *= d
    out = struct.pack("<Q", len(shape)) + b"".join(struct.pack("<q", d) for d in shape)
    return out + b"".join(struct.pack("<f", start + 0.25 * i) for i in range(count))


def column(name, kind, categories=(), log1p=False, mode=""):
    out = string(name) + struct.pack("<B", kind) + struct.pack("<d", 2.0)
    out += struct.pack("<B", 1 if log1p else 0) + struct.pack("<dd", 1.5, 0.75)
    out += struct.pack("<Q", len(categories)) + b"".join(string(c) for c in categories)
    return out + string(mode)


def payload(hidden, activation):
    """Two features in (amount, numeric; city, 3 categories) -> 4 inputs; 2 segments."""
    out = string("Channel") + struct.pack("<Q", 2) + string("1") + string("2")
    out += string("CustomerID")
    out += struct.pack("<Q", 2) + column("amount", 0, log1p=True)
    out += column("city, town", 2, ("Porto", "Lisbon", "Faro"), mode="Porto")
    out += struct.pack("<B", activation)
    out += struct.pack("<Q", len(hidden)) + b"".join(struct.pack("<q", h) for h in hidden)
    sizes = [4] + list(hidden) + [2]
    weights = b""
    for i in range(len(sizes) - 1):
        weights += tensor([sizes[i], sizes[i + 1]], -1.0) + tensor([sizes[i + 1]], 0.5)
    return out + struct.pack("<Q", 2 * (len(sizes) - 1)) + weights


def markers(texts):
    """The version 2 tail: the missing-value markers."""
    return struct.pack("<Q", len(texts)) + b"".join(string(t) for t in texts)


def model_file(body, version=1):
    header = b"DAMOSEGM" + struct.pack("<IQI", version, len(body), zlib.crc32(body))
    return header + body


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    seeds = {
        "file_one_hidden_layer": b"\x01" + model_file(payload([5], 1)),
        "file_two_hidden_layers": b"\x01" + model_file(payload([3, 2], 2)),
        "file_other_version": b"\x01" + model_file(payload([5], 0), version=3),
        "file_missing_markers": b"\x01" + model_file(payload([5], 1) + markers(["NA", "?"]), version=2),
        "file_truncated": b"\x01" + model_file(payload([5], 1))[:40],
        "payload_one_hidden_layer": b"\x00" + payload([5], 0),
        "payload_no_hidden_layer": b"\x00" + payload([], 2),
        "payload_missing_markers": b"\x02" + payload([3], 0) + markers(["n/a"]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus"))
