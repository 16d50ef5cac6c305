#!/usr/bin/env python3
"""Fit the cpu cost model's cycles per unit of work (codegen/conv_cost.c,
`cycles_per`) to --autotune's measurements.

    DNNC_COST_FIT=/tmp/fit.csv build/tests/test_conv_cost   # the work terms and times
    python3 tools/fit_conv_cost.py /tmp/fit.csv             # the plain kernels' cycles_per
    python3 tools/fit_conv_cost.py /tmp/fit.csv --blocked   # blocked_cycles_per

Each row of the CSV is one (conv shape, algorithm) of the example networks:
the measured milliseconds and the work the kernel does (vector FMAs, elements
gathered, transform ops, outputs written, bytes streamed from beyond L2). The
model is ms = work . theta with theta >= 0; the fit minimises the squared
*relative* error (a 1 ms layer counts as much as a 100 ms one), by
non-negative least squares. theta is printed in cycles, scaled so that a
vector FMA costs 0.625 cycles (two FMA ports at 80%): only the ratios between
the terms decide which algorithm is cheapest, and the scale makes them
readable. It also prints how often the fitted model picks the fastest
measured algorithm of a shape. Needs numpy only.
"""
import csv
import sys

import numpy as np

TERMS = ["fmas", "gathered", "transformed", "written", "accumulated", "streamed", "units"]
FMA_CYCLES = 0.625
# The kernels on blocked activations count four kinds of work (conv_cost.c's
# blocked_cycles_per), their FMAs at about 90% of two a cycle.
BLOCKED_TERMS = ["fmas", "transformed", "accumulated", "streamed"]
BLOCKED_FMA_CYCLES = 0.56


def nnls(a, b, iterations=20000):
    """min |a x - b|^2, x >= 0, by projected gradient (a handful of terms)."""
    x = np.maximum(np.linalg.lstsq(a, b, rcond=None)[0], 0)
    step = 1.0 / np.linalg.norm(a, 2) ** 2
    for _ in range(iterations):
        x = np.maximum(x - step * (a.T @ (a @ x - b)), 0)
    return x


def agreement(theta, work, shapes_rows):
    """Shapes whose cheapest by work . theta is the fastest measured."""
    predicted = work @ theta
    hits = 0
    for rows in shapes_rows:
        fastest = min(rows, key=lambda i: MS[i])
        cheapest = min(rows, key=lambda i: predicted[i])
        hits += fastest == cheapest
    return hits


def search(theta, work, shapes_rows, rounds=30):
    """From the least-squares fit, scale one term at a time by factors of
    2^(+-k/4) while that picks the fastest on more shapes: the model is
    judged by its choices, and near-ties that least squares ignores decide
    them."""
    best = agreement(theta, work, shapes_rows)
    for _ in range(rounds):
        improved = False
        for t in range(len(theta)):
            for k in (-8, -4, -2, -1, 1, 2, 4, 8):
                trial = theta.copy()
                trial[t] = trial[t] * 2 ** (k / 4) if trial[t] > 0 else theta[0] * 2 ** k / 64
                hits = agreement(trial, work, shapes_rows)
                if hits > best:
                    theta, best, improved = trial, hits, True
        if not improved:
            break
    return theta, best


MS = None


def main():
    global TERMS, FMA_CYCLES
    blocked = sys.argv[2:] == ["--blocked"]
    if len(sys.argv) != 2 and not blocked:
        sys.exit(__doc__)
    if blocked:
        TERMS, FMA_CYCLES = BLOCKED_TERMS, BLOCKED_FMA_CYCLES
    rows = [r for r in csv.DictReader(open(sys.argv[1])) if (r.get("blocked", "0") == "1") == blocked]
    if not rows:
        sys.exit("no rows in " + sys.argv[1] + (" on blocked activations" if blocked else ""))
    work = np.array([[float(r[t]) for t in TERMS] for r in rows])
    ms = np.array([float(r["ms"]) for r in rows])
    global MS
    MS = ms
    scale = work.max(axis=0)
    scale[scale == 0] = 1
    a = work / scale / ms[:, None]
    theta = nnls(a, np.ones(len(rows))) / scale
    if theta[0] <= 0:
        sys.exit("the fit gives FMAs no cost: too few measurements")
    shapes = {}
    for i, r in enumerate(rows):
        shapes.setdefault(r["shape"], []).append(i)
    shapes_rows = list(shapes.values())
    for label, th in (("least squares", theta), ("then searched", search(theta, work, shapes_rows)[0])):
        cycles = th / th[0] * FMA_CYCLES
        predicted = work @ th
        print(f"{label}: " + ", ".join(f"{t} {c:.4g}" for t, c in zip(TERMS, cycles)) + " cycles")
        print(f"  median relative error {np.median(np.abs(predicted / ms - 1)):.1%}, picks the "
              f"fastest on {agreement(th, work, shapes_rows)} of {len(shapes_rows)} shapes")


if __name__ == "__main__":
    main()
