#!/usr/bin/env python3
"""What compiling a model costs (issue 11 item 4): `dnnc compile ROW.onnx -o
OUT/compile/ROW/model` (an object, its header and weights file, at the cpu
target's default -O3) timed by bench/run.sh --procs times per row, with the
CPU time (user + system) and the peak resident memory of that process, against
the model's float32 weights (`dnnc stats --json`). Standard library only.

    python3 bench/compile_cost.py run -- CMD [ARG ...] > OUT.json
    python3 bench/compile_cost.py table OUT --rows resnet50,vgg16,... --procs N

`run` starts CMD, waits for it with os.wait4 (the rusage of that one process:
ru_utime, ru_stime, ru_maxrss), prints {"user_s", "sys_s", "cpu_s", "wall_s",
"max_rss_bytes"} and exits non-zero if CMD failed (CMD's output goes to
stderr). `table` prints the Markdown table of OUT/compile/ROW-pP.json and
OUT/compile/ROW-stats.json: the median over the rounds of each figure.
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import load  # noqa: E402


def run(cmd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=sys.stderr)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        print(f"compile_cost.py: {' '.join(cmd)} exited with {proc.returncode}", file=sys.stderr)
        return 1
    result = {"user_s": usage.ru_utime, "sys_s": usage.ru_stime, "cpu_s": usage.ru_utime + usage.ru_stime,
              "wall_s": wall, "max_rss_bytes": usage.ru_maxrss * 1024}  # ru_maxrss is in KiB on Linux
    json.dump(result, sys.stdout)
    print()
    return 0


def median_of(runs, key):
    values = [r[key] for r in runs if r and key in r]
    return statistics.median(values) if values else None


def table(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="compile_cost.py table")
    ap.add_argument("out")
    ap.add_argument("--rows", required=True)
    ap.add_argument("--procs", type=int, required=True)
    a = ap.parse_args(argv)
    d = os.path.join(a.out, "compile")
    print("## Compile cost")
    print()
    print("| model | batch | CPU s (user + sys) | user s | sys s | wall s | peak memory MB | "
          "float32 weights MB | peak / weights |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in a.rows.split(","):
        runs = [load(os.path.join(d, f"{r}-p{p}.json")) for p in range(1, a.procs + 1)]
        stats = load(os.path.join(d, f"{r}-stats.json"))
        weights = 4 * stats["total"]["weights"] if stats else None
        model, batch = (r[:-3], 8) if r.endswith("-b8") else (r, 1)
        num = lambda x, fmt: format(x, fmt) if x is not None else "–"
        rss = median_of(runs, "max_rss_bytes")
        print(f"| {model} | {batch} | {num(median_of(runs, 'cpu_s'), '.2f')} | "
              f"{num(median_of(runs, 'user_s'), '.2f')} | {num(median_of(runs, 'sys_s'), '.2f')} | "
              f"{num(median_of(runs, 'wall_s'), '.2f')} | {num(rss and rss / 1e6, '.0f')} | "
              f"{num(weights and weights / 1e6, '.0f')} | "
              f"{num(rss / weights if rss and weights else None, '.2f')} |")
    print()
    print(f"`dnnc compile ROW.onnx -o DIR/model` (object, header and weights file, cpu target at -O3, "
          f"this machine's CPU), {a.procs} processes per row, the median of each column. CPU s: the "
          "process's user and system time (os.wait4); peak memory: its largest resident set "
          "(ru_maxrss); float32 weights: 4 bytes × the weights `dnnc stats` counts. – : no result "
          "(see the .err files in OUT/compile).")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        args = sys.argv[2:]
        if len(args) < 2 or args[0] != "--":
            raise SystemExit("usage: compile_cost.py run -- CMD [ARG ...]")
        return run(args[1:])
    if len(sys.argv) > 1 and sys.argv[1] == "table":
        return table(sys.argv[2:])
    print(__doc__)
    return 0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
