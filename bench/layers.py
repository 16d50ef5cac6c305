#!/usr/bin/env python3
"""The slowest layers of dnnc and the slowest nodes of ONNX Runtime, side by side,
for each model and thread count of `bench/run.sh --per-layer`. Standard library
only.

    python3 bench/layers.py OUT --models resnet50,mobilenet_v2 --threads "1 2"
                            --procs N [--top 15] [--dnnc DNNC]

Reads, for model M, thread count T and round P:

    OUT/layers/dnnc-M-tT-pP.json       `dnnc bench M.onnx --per-layer --json`
    OUT/bandwidth-tT.json              bench/bandwidth T --json (the fc layers' floor)
    OUT/layers/ort-M-tT-pP{a,b}.json   `ort_bench.js M.onnx --profile --json`, before
                                       (a) and after (b) that dnnc process

A layer's (node's) time is the median over the processes of each process's median
over its timed runs. dnnc's layers are the layers of the graph it runs (conv with
its fused batch norm, bias, residual add and activation is one layer), with
shapes and attributes from `dnnc dump --target cpu -O3` (bench/top_layers.py);
ONNX Runtime's nodes are those of its optimised graph as its profiler names them
(a fused Conv node is named after the output of the last node it absorbed, e.g.
`layer1.0/relu/Relu_nchwc`), with the shapes the profiler records (input → output,
and the weight's for Conv; GFLOPS from the MACs dnnc counts, or for an ORT Conv
node from its shapes). Both profiles add a clock read (dnnc) or more
(ORT's profiler) per layer, so the whole-network times quoted above each table
come from the same processes but are not the headline figures of the main table.
"""

import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import top_layers  # noqa: E402
from table import load  # noqa: E402




short_dnnc = top_layers.short_name


def short_ort(name):
    """/layer4/layer4.0/conv2/Conv_output_0_nchwc -> layer4.0/conv2/Conv_nchwc."""
    n = name.lstrip("/")
    n = re.sub(r"^([^/]+)/\1", r"\1", n)
    n = re.sub(r"_output_\d+", "", n)
    return n


def fmt_shape(s):
    return "[" + ", ".join(str(x) for x in s) + "]"


def ort_shape(node):
    ins, outs = node.get("input_shapes") or [], node.get("output_shapes") or []
    s = (fmt_shape(ins[0]) if ins else "?") + " → " + (fmt_shape(outs[0]) if outs else "?")
    if node.get("op") in ("Conv", "FusedConv") and len(ins) > 1:
        s += f", w {fmt_shape(ins[1])}"
    return s


def ort_macs(node):
    """Multiply-accumulates of a Conv node from its shapes (output elements x
    the weight's C/groups x KH x KW); None for other nodes."""
    ins, outs = node.get("input_shapes") or [], node.get("output_shapes") or []
    if node.get("op") not in ("Conv", "FusedConv") or len(ins) < 2 or not outs:
        return None
    n = 1
    for x in outs[0]:
        n *= x
    for x in ins[1][1:]:
        n *= x
    return n


def gflops(macs, ms):
    return f"{2 * macs / (ms * 1e6):.1f}" if macs and ms else "–"


def median_of(values):
    return statistics.median(values) if values else None


def dnnc_layers(js):
    """[(name, op, ms, macs)] in the order of the first process; ms the median
    over processes."""
    js = [j for j in js if j and j.get("layers")]
    if not js:
        return [], None
    per = {}
    for j in js:
        for l in j["layers"]:
            per.setdefault(l["name"], []).append(l["ms"])
    first = js[0]["layers"]
    whole = median_of([j["median_ms"] for j in js])
    return [(l["name"], l["op"], median_of(per[l["name"]]), l["macs"]) for l in first], whole


def ort_nodes(js):
    js = [j for j in js if j and j.get("nodes")]
    if not js:
        return [], None
    per = {}
    for j in js:
        for n in j["nodes"]:
            per.setdefault(n["name"], []).append(n["ms"])
    first = js[0]["nodes"]
    whole = median_of([j["median_ms"] for j in js])
    return [dict(n, ms=median_of(per[n["name"]])) for n in first], whole


def by_op(items):
    """[(op, count, ms)] by time."""
    d = {}
    for op, ms in items:
        c = d.setdefault(op, [0, 0.0])
        c[0] += 1
        c[1] += ms
    return sorted(((op, n, ms) for op, (n, ms) in d.items()), key=lambda x: -x[2])


def report(out, model, t, procs, top, dnnc):
    d = os.path.join(out, "layers")
    P = range(1, procs + 1)
    dl, dwhole = dnnc_layers([load(os.path.join(d, f"dnnc-{model}-t{t}-p{p}.json")) for p in P])
    on, owhole = ort_nodes([load(os.path.join(d, f"ort-{model}-t{t}-p{p}{x}.json"))
                            for p in P for x in "ab"])
    print(f"### {model}, {t} thread{'s' if t != '1' else ''}: the {top} slowest layers")
    print()
    if not dl and not on:
        print("No per-layer results (see the .err files in OUT/layers).")
        print()
        return
    shapes = {}
    if dl:
        path = next((j["model"] for j in (load(os.path.join(d, f"dnnc-{model}-t{t}-p{p}.json"))
                                          for p in P) if j), None)
        if path:
            shapes = top_layers.dump_shapes(dnnc, path)
    dtot = sum(l[2] for l in dl)
    otot = sum(n["ms"] for n in on)
    if dl:
        print(f"- dnnc (`dnnc bench --per-layer`): whole network {dwhole:.1f} ms in these "
              f"processes; {len(dl)} layers whose medians add up to {dtot:.1f} ms")
    else:
        print("- dnnc: no result")
    if on:
        print(f"- ONNX Runtime (its profiler): whole network {owhole:.1f} ms in these profiled "
              f"processes; {len(on)} nodes whose medians add up to {otot:.1f} ms")
    else:
        print("- ONNX Runtime: no result")
    print()
    dtop = sorted(dl, key=lambda l: -l[2])[:top]
    otop = sorted(on, key=lambda n: -n["ms"])[:top]
    print("| # | dnnc layer | op | shape (input → output, attributes) | ms | share | GFLOPS "
          "| ORT node | op | shape (input → output, weight) | ms | share | GFLOPS |")
    print("|---:|---|---|---|---:|---:|---:|---|---|---|---:|---:|---:|")
    for i in range(max(len(dtop), len(otop))):
        row = [str(i + 1)]
        if i < len(dtop):
            name, op, ms, macs = dtop[i]
            row += [f"`{short_dnnc(name)}`", op, top_layers.describe(name, shapes), f"{ms:.2f}",
                    f"{100 * ms / dtot:.1f}%", gflops(macs, ms)]
        else:
            row += [""] * 6
        if i < len(otop):
            n = otop[i]
            row += [f"`{short_ort(n['name'])}`", n["op"], ort_shape(n), f"{n['ms']:.2f}",
                    f"{100 * n['ms'] / otot:.1f}%", gflops(ort_macs(n), n["ms"])]
        else:
            row += [""] * 6
        print("| " + " | ".join(row) + " |")
    print()
    ds = sum(l[2] for l in dtop)
    os_ = sum(n["ms"] for n in otop)
    if dtop and otop:
        print(f"Top {len(dtop)}: dnnc {ds:.1f} ms ({100 * ds / dtot:.0f}% of its per-layer total), "
              f"ORT {os_:.1f} ms ({100 * os_ / otot:.0f}%).")
        print()
    dops = by_op((l[1], l[2]) for l in dl)
    oops = by_op((n["op"], n["ms"]) for n in on)
    print("| dnnc op | layers | ms | share | ORT op | nodes | ms | share |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for i in range(max(len(dops), len(oops))):
        row = []
        row += ([dops[i][0], str(dops[i][1]), f"{dops[i][2]:.1f}", f"{100 * dops[i][2] / dtot:.1f}%"]
                if i < len(dops) else [""] * 4)
        row += ([oops[i][0], str(oops[i][1]), f"{oops[i][2]:.1f}", f"{100 * oops[i][2] / otot:.1f}%"]
                if i < len(oops) else [""] * 4)
        print("| " + " | ".join(row) + " |")
    print()


def fc_floor(out, model, t, dl):
    """The fc layers of a batch-1 model against the read-bandwidth floor:
    each reads its U x K weights once (4 bytes each, as many as its MACs) and
    can go no faster than bench/bandwidth's figure for the thread count."""
    bw = load(os.path.join(out, f"bandwidth-t{t}.json"))
    fcs = [l for l in dl if l[1] == "fc" and l[3]]
    if not fcs or not bw or "read_gb_per_s" not in bw or "-b8" in model:
        return
    gbs = bw["read_gb_per_s"]
    print(f"#### {model}: fully connected layers against the read-bandwidth floor")
    print()
    print(f"bench/bandwidth: {gbs:.1f} GB/s read on {t} thread{'s' if t != '1' else ''} in this run. "
          "Floor: the layer's weights (4 bytes per MAC at batch 1) at that rate.")
    print()
    print("| layer | weights MB | ms | floor ms | floor / ms |")
    print("|---|---:|---:|---:|---:|")
    total_ms = total_floor = 0.0
    for name, op, ms, macs in fcs:
        mb = 4 * macs / 1e6
        floor = mb / gbs  # MB / (GB/s) = ms
        total_ms += ms
        total_floor += floor
        print(f"| `{short_dnnc(name)}` | {mb:.1f} | {ms:.2f} | {floor:.2f} | {100 * floor / ms:.0f}% |")
    print(f"| all | | {total_ms:.2f} | {total_floor:.2f} | {100 * total_floor / total_ms:.0f}% |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--models", required=True)
    ap.add_argument("--threads", required=True)
    ap.add_argument("--procs", type=int, required=True)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--dnnc", default="build-bench/dnnc", help="for `dnnc dump` (shapes)")
    a = ap.parse_args()
    print("## The slowest layers: dnnc and ONNX Runtime's own profile")
    print()
    print(f"Each time: the median over {a.procs} dnnc processes (ORT: {2 * a.procs}, one "
          "before and one after each dnnc process) of each process's median over its timed "
          "runs. Layer names shortened (`layer4_0_conv2_Conv` is "
          "`_layer4_layer4_0_conv2_Conv_output_0`).")
    print()
    for m in a.models.split(","):
        for t in a.threads.split():
            report(a.out, m, t, a.procs, a.top, a.dnnc)
            d = os.path.join(a.out, "layers")
            dl, _ = dnnc_layers([load(os.path.join(d, f"dnnc-{m}-t{t}-p{p}.json"))
                                 for p in range(1, a.procs + 1)])
            fc_floor(a.out, m, t, dl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
