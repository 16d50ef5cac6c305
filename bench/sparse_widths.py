#!/usr/bin/env python3
"""The bytes a pruned network's conv and fc weights take stored as the cpu's
sparse kernels read them (docs/pruning.md, "Encodings and kernels"), with
relative indices of 4, 5 and 8 bits (each entry's gap from the one before
it, the first's from the run's first place; a filler entry whenever a gap
exceeds 2^b - 1, as in Deep Compression) against the 16-bit
absolute indices used before: fc weights by column in slices of 1,024
rows, conv weights by filter. Each layer is pruned by magnitude to each
density on its own (as `dnnc ... --prune D --prune-per-layer`).

    /usr/bin/python3 bench/sparse_widths.py /tmp/dnnc-models/alexnet.onnx

A dev-time tool (python3-onnx and numpy); no test needs it.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

SLICE = 1024


def gaps_of(mask):
    """The gaps of every non-zero of a boolean matrix walked row by row
    (each row a run that starts at its first place)."""
    rows, cols = np.nonzero(mask)
    prev = np.concatenate(([0], cols[:-1]))
    first = np.concatenate(([True], rows[1:] != rows[:-1]))
    prev[first] = 0
    return cols - prev


def stored_bytes(mask, fc, bits):
    """(fillers, bytes) of one layer's mask (filters or outputs x the rest)."""
    if fc:  # columns of each slice of SLICE rows are the runs
        runs = [mask[s:s + SLICE, :].T for s in range(0, mask.shape[0], SLICE)]
        pointers = len(runs) * (mask.shape[1] + 1) * 4
    else:
        runs = [mask]
        pointers = (mask.shape[0] + 1) * 4
    nnz = int(mask.sum())
    if bits == 16:
        return 0, pointers + nnz * 6
    fillers = sum(int((np.maximum(gaps_of(r) - 1, 0) // ((1 << bits) - 1)).sum()) for r in runs)
    entries = nnz + fillers
    return fillers, pointers + entries * 4 + (entries * bits + 7) // 8


def main():
    model = onnx.load(sys.argv[1])
    weights = [(i.name, numpy_helper.to_array(i)) for i in model.graph.initializer]
    weights = [(n, w) for n, w in weights if w.ndim in (2, 4)]
    print(f"{'density':>7} {'layer':28} {'shape':>18} {'non-zero':>10} {'abs16 MB':>9} "
          f"{'4-bit fill':>10} {'MB':>7} {'5-bit fill':>10} {'MB':>7} {'8-bit fill':>10} {'MB':>7}")
    for d in [0.5, 0.3, 0.2, 0.1, 0.05]:
        for name, w in weights:
            m = np.abs(w.reshape(w.shape[0], -1))
            keep = int(round(d * m.size))
            threshold = np.partition(m.ravel(), m.size - keep)[m.size - keep]
            mask = m >= threshold
            nnz = int(mask.sum())
            cells = [stored_bytes(mask, w.ndim == 2, b) for b in (16, 4, 5, 8)]
            print(f"{d:7} {name:28} {'x'.join(map(str, w.shape)):>18} {nnz:10d} {cells[0][1] / 1e6:9.2f} " +
                  " ".join(f"{f / nnz * 100:9.1f}% {b / 1e6:7.2f}" for f, b in cells[1:]), flush=True)


if __name__ == "__main__":
    main()
