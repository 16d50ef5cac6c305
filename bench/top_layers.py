#!/usr/bin/env python3
"""The most costly layers of a `dnnc bench --per-layer --json` run, as a markdown
table with each layer's shape (from `dnnc dump`), so that slow conv shapes show.

    python3 bench/top_layers.py LAYERS.json [--dnnc build/dnnc] [--top 10]

LAYERS.json is the output of `dnnc bench MODEL --per-layer --json`; the model is
read from its "model" field and dumped with --dnnc (`dnnc dump --target cpu -O3`,
the pipeline `dnnc bench` runs, so that fused epilogues and the algorithm chosen
show) to find every layer's input and output shapes and attributes. Standard
library only; bench/layers.py and bench/algos.py import dump_shapes and describe.
"""

import argparse
import json
import re
import subprocess
import sys

# A layer line of `dnnc dump`, after any annotations (@algo(...) and the like).
LINE = re.compile(r"^(\S+)\s*=\s*(\w+)\((.*)\);\s*#\s*f32(\[[^\]]*\])")
ANNOTATION = re.compile(r"^@(\w+)\(([^()]*)\)\s*")
DUMP_ARGS = ("--target", "cpu", "-O3")


def split_annotations(line):
    """({kind: text inside the brackets}, the rest of the line)."""
    notes = {}
    while True:
        m = ANNOTATION.match(line)
        if not m:
            return notes, line
        notes[m.group(1)] = m.group(2).strip()
        line = line[m.end():]


def dump_text(dnnc, model, args=DUMP_ARGS, weights=None):
    """`dnnc dump` of model; None (and a note on stderr) if it fails."""
    argv = [dnnc, "dump", model, *args] + (["--weights", weights] if weights else [])
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or ""
        print(f"top_layers: {' '.join(argv)} failed ({e}) {err.strip()[:300]}; shapes left out",
              file=sys.stderr)
        return None


def dump_shapes(dnnc, model, args=DUMP_ARGS, weights=None, annotations=None):
    """name -> (op, args text, output shape) from `dnnc dump`; with a dict as
    annotations, it also receives name -> {kind: text} (e.g. {"algo": "im2col"})."""
    text = dump_text(dnnc, model, args, weights)
    if text is None:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("input "):
            m = re.match(r"input\s+(\S+):\s*f32(\[[^\]]*\])", line)
            if m:
                out[m.group(1)] = ("input", "", m.group(2))
            continue
        notes, rest = split_annotations(line)
        m = LINE.match(rest)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3), m.group(4))
            if annotations is not None:
                annotations[m.group(1)] = notes
    return out


def short_name(name):
    """A dnnc layer name without the exporter's noise:
    _layer4_layer4_0_conv2_Conv_output_0 -> layer4_0_conv2_Conv."""
    n = name.lstrip("_")
    n = re.sub(r"_output_\d+$", "", n)
    return re.sub(r"^([A-Za-z]+\d*)_\1_", r"\1_", n)


def split_args(args):
    """The top-level comma-separated parts of a layer's argument text
    (kernel=[1, 7] stays one part)."""
    parts, depth, cur = [], 0, ""
    for ch in args:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def describe(name, shapes):
    if name not in shapes:
        return ""
    op, args, oshape = shapes[name]
    parts = split_args(args)
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
