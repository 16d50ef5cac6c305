#!/usr/bin/env python3
"""Sparse against dense weights on the cpu target, layer by layer, and the
crossover density of each sparse kernel (the crossover column of
codegen/kernels.def's KERNEL_ROW_SPARSE rows). Standard library only.

    python3 bench/sparse.py --dnnc build/dnnc [--work DIR] [--runs N] [--densities LIST]

For each layer below (AlexNet's three fc layers at batch 1 and at batch 8,
in float32 and in int8, four 1x1 and four 3x3 convs of ResNet-50, AlexNet's
5x5 conv2) it writes a one-layer network, then times
it with `dnnc bench NET --random-weights 1 --prune D --target cpu --json`
twice per density D: with --sparse dense and with --sparse any (the sparse
kernel for the layer: for an fc at batch 1 the one by rows, CSR, kind
"fc"; at batch 8 the CSC one, kind "fc batches"; CSR for a conv). Kind
"fc int8" (dnnk_qsparse_fc) is the fc pruned by `dnnc prune --density D`
and quantised by `dnnc quantize --mode int8 --quantize-first-last`,
calibrated on 4 random inputs, then timed the same way. Inputs
are random, with no zeros, so the CSC kernel's skipping of zero inputs
never helps: the times are its worst case. It prints one table row per layer and density
(dense ms, sparse ms, dense / sparse) and, per kernel, the crossover: the
largest density measured at which the sparse kernel was at least MARGIN
(1.1) times as fast as dense on every layer of its kind, the value the
registry row records. The margin keeps a choice out of this shared
machine's noise: a layer 1.01 times as fast in one run is as likely to be
slower in the next.

The machine is shared: medians of --runs runs, and still noisy.
"""

import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys

MARGIN = 1.1

LAYERS = [
    # name, kind, input declaration, layer
    ("alexnet fc6", "fc", "f32[1, 9216]", "fc(x, units=4096)"),
    ("alexnet fc7", "fc", "f32[1, 4096]", "fc(x, units=4096)"),
    ("alexnet fc8", "fc", "f32[1, 4096]", "fc(x, units=1000)"),
    ("alexnet fc6 batch 8", "fc batches", "f32[8, 9216]", "fc(x, units=4096)"),
    ("alexnet fc6 int8", "fc int8", "f32[1, 9216]", "fc(x, units=4096)"),
    ("alexnet fc7 int8", "fc int8", "f32[1, 4096]", "fc(x, units=4096)"),
    ("alexnet fc8 int8", "fc int8", "f32[1, 4096]", "fc(x, units=1000)"),
    ("resnet50 1x1 256>64 56x56", "conv 1x1", "f32[1, 256, 56, 56]", "conv(x, filters=64, kernel=1)"),
    ("resnet50 1x1 64>256 56x56", "conv 1x1", "f32[1, 64, 56, 56]", "conv(x, filters=256, kernel=1)"),
    ("resnet50 1x1 1024>256 14x14", "conv 1x1", "f32[1, 1024, 14, 14]", "conv(x, filters=256, kernel=1)"),
    ("resnet50 1x1 2048>512 7x7", "conv 1x1", "f32[1, 2048, 7, 7]", "conv(x, filters=512, kernel=1)"),
    ("resnet50 3x3 64 56x56", "conv kxk", "f32[1, 64, 56, 56]", "conv(x, filters=64, kernel=3, pad=1)"),
    ("resnet50 3x3 128 28x28", "conv kxk", "f32[1, 128, 28, 28]", "conv(x, filters=128, kernel=3, pad=1)"),
    ("resnet50 3x3 256 14x14", "conv kxk", "f32[1, 256, 14, 14]", "conv(x, filters=256, kernel=3, pad=1)"),
    ("resnet50 3x3 512 7x7", "conv kxk", "f32[1, 512, 7, 7]", "conv(x, filters=512, kernel=3, pad=1)"),
    ("alexnet conv2 5x5", "conv kxk", "f32[1, 64, 27, 27]", "conv(x, filters=192, kernel=5, pad=2)"),
]


def bench(dnnc, net, density, sparse, runs, weights=None):
    given = ["--weights", weights] if weights else ["--random-weights", "1", "--prune", str(density)]
    cmd = [dnnc, "bench", net, *given, "--sparse", sparse, "--target", "cpu", "--runs", str(runs), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


def write_npy(path, shape, values):
    """A float32 .npy of `shape` holding `values` (the format's version 1.0)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{len(values)}f", *values))


def quantised(dnnc, net, decl, density):
    """The one-layer network pruned to `density` and quantised to int8:
    (network, weights)."""
    base = f"{net[:-4]}-{density}"
    subprocess.run([dnnc, "prune", net, "--random-weights", "1", "--density", str(density), "-o",
                    base + ".dnn"], check=True, capture_output=True)
    dims = [int(d) for d in decl[decl.index("[") + 1:-1].split(",")]
    count = 4 * math.prod(dims[1:])
    rng = random.Random(1)
    write_npy(base + "-calib.npy", [4, *dims[1:]], [rng.uniform(0, 1) for _ in range(count)])
    subprocess.run([dnnc, "quantize", base + ".dnn", "--weights", base + ".safetensors", "--mode", "int8",
                    "--quantize-first-last", "--calibrate", base + "-calib.npy", "-o", base + "-int8.dnn"],
                   check=True, capture_output=True)
    return base + "-int8.dnn", base + "-int8.safetensors"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dnnc", default="build/dnnc")
    ap.add_argument("--work", default="/tmp/dnnc-sparse-bench")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--densities", default="0.5,0.3,0.2,0.1,0.05")
    ap.add_argument("--kinds", default="fc,fc batches,fc int8,conv 1x1,conv kxk", help="the kinds of layer to time")
    a = ap.parse_args()
    densities = [float(d) for d in a.densities.split(",")]
    os.makedirs(a.work, exist_ok=True)
    faster = {}  # kind -> density -> all layers faster so far
    print("| layer | density | dense ms | sparse ms | dense / sparse |")
    print("|---|---|---|---|---|")
    for name, kind, decl, layer in LAYERS:
        if kind not in a.kinds.split(","):
            continue
        net = os.path.join(a.work, name.replace(" ", "_").replace(">", "-") + ".dnn")
        with open(net, "w") as f:
            f.write(f"input x: {decl};\ny = {layer};\noutput y;\n")
        for d in densities:
            run, weights = quantised(a.dnnc, net, decl, d) if kind == "fc int8" else (net, None)
            dense = bench(a.dnnc, run, d, "dense", a.runs, weights)
            sparse = bench(a.dnnc, run, d, "any", a.runs, weights)
            print(f"| {name} | {d} | {dense:.3f} | {sparse:.3f} | {dense / sparse:.2f} |", flush=True)
            faster.setdefault(kind, {}).setdefault(d, True)
            faster[kind][d] = faster[kind][d] and dense >= MARGIN * sparse
    for kind, by_density in faster.items():
        won = [d for d, ok in by_density.items() if ok]
        print(f"crossover {kind}: {max(won) if won else 0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
