#!/usr/bin/env python3
"""The table of bench/run.sh --paired: dnnc against ONNX Runtime run by run.

Reads OUT/paired/M-tT.json (bench/peers/paired.js: [ort_ms, dnnc_ms] per round)
and prints, per model and thread count, the median of each and the median of
the rounds' own ratios, over all rounds and by how loaded the host was in the
round. A round's load is the mean of its two times, each divided by that
runner's quiet time (the median of its fastest tenth of rounds): 1.0 on a quiet
host, 1.3 when both ran 30% slower than they can.

usage: bench/paired.py OUT --rows M1,M2 --threads "1 2"
"""
import argparse
import json
import os
import statistics
import sys

LEVELS = [("quiet (< 1.1)", 0.0, 1.1), ("loaded 1.1-1.3", 1.1, 1.3), ("loaded >= 1.3", 1.3, float("inf"))]


def quiet_time(times):
    fastest = sorted(times)[: max(1, len(times) // 10)]
    return statistics.median(fastest)


def summary(rounds):
    """Per level: (rounds, ORT ms, dnnc ms, median dnnc/ORT); None where empty."""
    q_ort = quiet_time([r[0] for r in rounds])
    q_dnnc = quiet_time([r[1] for r in rounds])
    rows = {"all": rounds}
    for name, lo, hi in LEVELS:
        rows[name] = [r for r in rounds if lo <= (r[0] / q_ort + r[1] / q_dnnc) / 2 < hi]
    out = {}
    for name, sel in rows.items():
        if not sel:
            out[name] = None
            continue
        out[name] = (len(sel), statistics.median(r[0] for r in sel), statistics.median(r[1] for r in sel),
                     statistics.median(r[1] / r[0] for r in sel))
    return out


def cell(s):
    return "–" if s is None else "%.3f (%d)" % (s[3], s[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", required=True)
    ap.add_argument("--threads", required=True)
    a = ap.parse_args()
    print("## dnnc against ONNX Runtime, run by run (`--paired`)\n")
    print("| model | threads | rounds | ORT ms | dnnc ms | dnnc/ORT | "
          + " | ".join("dnnc/ORT, %s" % n for n, _, _ in LEVELS) + " |")
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(LEVELS))
    failed = 0
    for m in [x for x in a.rows.split(",") if x]:
        for t in a.threads.split():
            path = os.path.join(a.out, "paired", "%s-t%s.json" % (m, t))
            try:
                with open(path) as f:
                    rounds = json.load(f)["rounds"]
            except (OSError, ValueError, KeyError):
                print("| %s | %s | – | – | – | – |%s" % (m, t, " – |" * len(LEVELS)))
                failed += 1
                continue
            s = summary(rounds)
            al = s["all"]
            print("| %s | %s | %d | %.1f | %.1f | %.3f | %s |" % (
                m, t, al[0], al[1], al[2], al[3], " | ".join(cell(s[n]) for n, _, _ in LEVELS)))
    print("\nEach round runs ONNX Runtime and dnnc's bundle once each, one after the other in one "
          "process (bench/peers/paired.js; ORT first in even rounds, dnnc first in odd ones). "
          "ORT ms, dnnc ms: medians over the rounds; dnnc/ORT: the median of the rounds' own "
          "ratios, over all rounds and (with the number of rounds in brackets) by the round's "
          "load: the mean of its two times, each over that runner's quiet time (the median of "
          "its fastest tenth of rounds). – : no result (see OUT/paired/*.err).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
