#!/usr/bin/env python3
"""Grid search of the blocked cost model's constants (codegen/conv_cost.c,
`blocked_cycles_per`) for the most layers on which the model picks the
fastest candidate measured by several --autotune runs.

    DNNC_COST_FIT=/tmp/fit.csv build/tests/test_conv_cost     # work terms per layer
    python3 tools/grid_blocked_cost.py /tmp/fit.csv tests/data/autotune/cold-run*.choices

The CSV gives each blocked layer's work terms per candidate (one row per
layer and candidate); each choices file gives measured times per shape. It
prints the agreement (layers, summed over the runs) and the extra time of
the model's picks for the current constants and the grid's best, then how
the grid does on shapes it was not searched on: the shapes dealt into five
folds, each fold judged by the best constants of the other four (against
the current constants on the same folds). No dependencies beyond Python.
"""
import collections
import csv
import itertools
import sys

CURRENT = {"fmas": 0.56, "transformed": 0.5, "accumulated": 0.125, "streamed": 0.09}
GRID = {
    "transformed": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2],
    "accumulated": [0, 0.05, 0.125, 0.25, 0.5, 1],
    "streamed": [0, 0.03, 0.09, 0.2, 0.4],
}


def load_times(path):
    times = {}
    for line in open(path):
        if line.startswith("#") or ": " not in line:
            continue
        key, rest = line.rstrip("\n").rsplit(": ", 1)
        times[key] = {a: float(b) for a, b in (kv.split("=") for kv in rest.split(" | ")[1].split())}
    return times


def score(theta, layers, runs):
    """Per run: (layers agreeing, layers, picks' time over the fastest - 1)."""
    out = []
    for times in runs:
        agree = total = picked = best = 0
        for shape, cands in layers.items():
            t = times[shape]
            names = [a for a in cands if a in t]
            model = min(names, key=lambda a: sum(cands[a][k] * theta[k] for k in theta))
            fastest = min(names, key=t.get)
            n = cands[names[0]]["layers"]
            total += n
            agree += n * (model == fastest)
            picked += n * t[model]
            best += n * t[fastest]
        out.append((agree, total, picked / best - 1))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    layers = collections.defaultdict(dict)
    for row in csv.DictReader(open(sys.argv[1])):
        if row["blocked"] != "1":
            continue
        c = layers[row["shape"]].setdefault(row["algo"], {k: float(row[k]) for k in CURRENT})
        c["layers"] = c.get("layers", 0) + 1
    runs = [load_times(p) for p in sys.argv[2:]]
    print("current", CURRENT, score(CURRENT, layers, runs))
    best = grid_best(layers, runs)
    print("best   ", best, score(best, layers, runs))
    held_out(layers, runs)


def grid_best(layers, runs):
    """The grid's constants with the most layers agreeing over the runs
    (ties: the least extra time)."""
    best = None
    for values in itertools.product(*GRID.values()):
        theta = dict(CURRENT, **dict(zip(GRID, values)))
        s = score(theta, layers, runs)
        key = (sum(a for a, _, _ in s), -sum(x for _, _, x in s))
        if best is None or key > best[0]:
            best = (key, theta)
    return best[1]


def held_out(layers, runs, folds=5):
    """The shapes dealt into folds, each judged by the grid's best on the
    others and by the current constants: layers agreeing per run."""
    shapes = sorted(layers)
    searched = [0] * len(runs)
    current = [0] * len(runs)
    total = 0
    for f in range(folds):
        test = {k: layers[k] for k in shapes[f::folds]}
        train = {k: v for k, v in layers.items() if k not in test}
        theta = grid_best(train, runs)
        for i, (a, _, _) in enumerate(score(theta, test, runs)):
            searched[i] += a
        for i, (a, _, _) in enumerate(score(CURRENT, test, runs)):
            current[i] += a
        total += sum(v[next(iter(v))]["layers"] for v in test.values())
    print(f"held out, {folds} folds of shapes: searched {searched}, current {current}, of {total} layers per run")


if __name__ == "__main__":
    main()
