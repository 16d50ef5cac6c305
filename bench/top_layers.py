#!/usr/bin/env python3
"""The most costly layers of a `dnnc bench --per-layer --json` run, as a markdown
table with each layer's shape (from `dnnc dump`), so that slow conv shapes show.

    python3 bench/top_layers.py LAYERS.json [--dnnc build/dnnc] [--top 10]

LAYERS.json is the output of `dnnc bench MODEL --per-layer --json`; the model is
read from its "model" field and dumped with --dnnc to find every layer's input
and output shapes and attributes. Standard library only.
"""

import argparse
import json
import re
import subprocess
import sys

LINE = re.compile(r"^(\S+)\s*=\s*(\w+)\((.*)\);\s*#\s*f32(\[[^\]]*\])")


def dump_shapes(dnnc, model):
    """name -> (op, args text, output shape) from `dnnc dump`."""
    try:
        text = subprocess.run([dnnc, "dump", model], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"top_layers: dnnc dump failed ({e}); shapes left out", file=sys.stderr)
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("input "):
            m = re.match(r"input\s+(\S+):\s*f32(\[[^\]]*\])", line)
            if m:
                out[m.group(1)] = ("input", "", m.group(2))
            continue
        m = LINE.match(line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return out


def describe(name, shapes):
    if name not in shapes:
        return ""
    op, args, oshape = shapes[name]
    parts = [a.strip() for a in args.split(",")]
    src = parts[0] if parts else ""
    ishape = shapes.get(src, ("", "", "?"))[2]
    attrs = [p for p in parts[1:] if "=" in p and not p.startswith(("eps", "bias"))]
    return f"{ishape} → {oshape}" + (f", {', '.join(attrs)}" if attrs else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers_json")
    ap.add_argument("--dnnc", default="build/dnnc")
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    with open(a.layers_json) as f:
        j = json.load(f)
    layers = j["layers"]
    total = sum(l["ms"] for l in layers)
    shapes = dump_shapes(a.dnnc, j["model"])
    print(f"{j['model']}, {j['threads']} thread(s): whole network {j['median_ms']:.1f} ms "
          f"(median); the per-layer medians add up to {total:.1f} ms over {len(layers)} layers")
    print()
    print("| # | layer | op | shape (input → output, attributes) | ms | share | GMACs | GFLOPS |")
    print("|---:|---|---|---|---:|---:|---:|---:|")
    top = sorted(layers, key=lambda l: l["ms"], reverse=True)[:a.top]
    for i, l in enumerate(top, 1):
        print(f"| {i} | `{l['name']}` | {l['op']} | {describe(l['name'], shapes)} | "
              f"{l['ms']:.2f} | {100 * l['ms'] / total:.1f}% | {l['macs'] / 1e9:.3f} | "
              f"{l['gflops']:.1f} |")
    s = sum(l["ms"] for l in top)
    print()
    print(f"Top {len(top)}: {s:.1f} ms, {100 * s / total:.0f}% of the per-layer total.")
    by_op = {}
    for l in layers:
        t = by_op.setdefault(l["op"], [0, 0.0, 0])
        t[0] += 1
        t[1] += l["ms"]
        t[2] += l["macs"]
    print()
    print("| op | layers | ms | share | GFLOPS |")
    print("|---|---:|---:|---:|---:|")
    for op, (n, ms, macs) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        gf = f"{2 * macs / (ms * 1e6):.1f}" if macs and ms else "–"
        print(f"| {op} | {n} | {ms:.1f} | {100 * ms / total:.1f}% | {gf} |")


if __name__ == "__main__":
    main()
