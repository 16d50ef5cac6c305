#!/usr/bin/env python3
"""The main table of bench/run.sh (docs/performance.md): per model, batch and
thread count, dnnc's and ONNX Runtime's median times, their ratio, and each
one's GFLOPS and share of the peak that `dnnc bench --peak` measured in the same
run. Standard library only.

    python3 bench/table.py OUT --rows resnet50,resnet50-b8,... --threads "1 2"
                               --procs N [--alt] [--int8 ROWS] [--sparse ROWS] [--torch-blas "openblas ..."]
    python3 bench/table.py note OUT/provenance.json KEY VALUE [KEY VALUE ...]

Reads what run.sh wrote into OUT:

    OUT/provenance.json              commit, tree state, load, versions (`note` adds keys)
    OUT/peak-{before,after}-tT.json  `dnnc bench --peak --threads T --json`
    OUT/peak-check-tT.json           bench/peak_check T --json (a second opinion)
    OUT/bandwidth-tT.json            bench/bandwidth T --json (read bandwidth from memory)
    OUT/main/dnnc-ROW-tT-pP.json     `dnnc bench ROW.onnx --json`, round P
    OUT/main/ort-ROW-tT-pP{a,b}.json ort_bench.js before (a) and after (b) dnnc in round P
    OUT/main/alt-ROW-tT-pP.json      --alt's dnnc, right after dnnc
    OUT/main/int8-ROW-tT-pP.json     dnnc on the row's int8 model (OUT/int8), right after dnnc
    OUT/main/sparse-ROW-tT-pP.json   dnnc --per-layer on the row with its fc layers pruned (OUT/sparse)
    OUT/main/sparseq-ROW-tT-pP.json  the same of the pruned model quantised to int8, right after
    OUT/sparse/ROW-stats.json        `dnnc stats ROW.onnx --json` (the dense weights)
    OUT/sparse/ROW-sparse-stats.json the same of the pruned model on the cpu (encodings, stored bytes)
    OUT/sparse/ROW-sparse-int8-stats.json  the same of the pruned model quantised to int8
    OUT/main/torch-BLAS-ROW-tT-pP.json  PyTorch, after the second ORT run

A ROW is a model file's stem: resnet50 (batch 1) or resnet50-b8 (batch 8).
dnnc's time is the median of its P process medians, ORT's the median of its 2P
(both runs of every round); the range of the process medians is given in
brackets when it spans 5% or more. GFLOPS = 2 x MACs / time, with the MACs that
`dnnc bench` counts in the model (8 times batch 1's for a batch-8 model), for
ORT too. The peak is the larger of the two `dnnc bench --peak` measurements
(before and after the runs): noise only ever lowers a peak measurement.
"""

import json
import os
import re
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def note(path, kv):
    """Adds KEY VALUE pairs to a JSON object file (created if missing)."""
    if len(kv) % 2:
        raise SystemExit("table.py note: KEY VALUE pairs expected")
    d = load(path) or {}
    for k, v in zip(kv[::2], kv[1::2]):
        d[k] = v
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(d, f, indent=1)
    os.replace(tmp, path)


def row_model(row):
    """'resnet50-b8' -> ('resnet50', 8); 'resnet50' -> ('resnet50', 1)."""
    m = re.fullmatch(r"(.+)-b(\d+)", row)
    return (m.group(1), int(m.group(2))) if m else (row, 1)


def combine(js):
    """The median of the process medians, their range and the MACs."""
    js = [j for j in js if j and "median_ms" in j]
    if not js:
        return None
    meds = sorted(j["median_ms"] for j in js)
    return {"ms": statistics.median(meds), "lo": meds[0], "hi": meds[-1], "n": len(meds),
            "macs": next((j["macs"] for j in js if j.get("macs")), None)}


def cell(d):
    if not d:
        return "–"
    if d["hi"] - d["lo"] < 0.05 * d["ms"]:
        return f"{d['ms']:.1f}"
    pr = 0 if d["hi"] >= 100 else 1
    return f"{d['ms']:.1f} ({d['lo']:.{pr}f}–{d['hi']:.{pr}f})"


def peak_of(out, t):
    """(the peak used, text saying where it came from) for T threads."""
    vals = []
    for when in ("before", "after"):
        j = load(os.path.join(out, f"peak-{when}-t{t}.json"))
        vals.append(j["peak_gflops"] if j and "peak_gflops" in j else None)
    got = [v for v in vals if v]
    if not got:
        return None, "–"
    txt = " / ".join(f"{v:.1f}" if v else "–" for v in vals)
    return max(got), txt


def provenance_lines(out, threads):
    p = load(os.path.join(out, "provenance.json")) or {}
    lines = []
    dirty = p.get("dirty")
    src = p.get("dnnc_source", "")
    if src == "built":
        state = ("**DIRTY TREE: uncommitted changes, these figures are not from a commit**"
                 if dirty == "yes" else "clean tree")
        branch = p.get("branch", "?")
        onmain = "" if branch == "main" else f" — **branch {branch}, not main**"
        lines.append(f"- dnnc: commit `{p.get('commit', '?')}` ({state}, branch {branch}{onmain}), "
                     f"built by this run in `{p.get('build_dir', '?')}` (Release); a copy in OUT/bin was timed")
        if dirty == "yes" and p.get("dirty_files"):
            lines.append(f"- uncommitted: {p['dirty_files']}")
    elif src:
        lines.append(f"- dnnc: **`{p.get('dnnc', '?')}`, given with --dnnc/DNNC, not built by this "
                     f"run** (the tree is at `{p.get('commit', '?')}`, "
                     f"{'dirty' if dirty == 'yes' else 'clean'}; the binary may be from elsewhere)")
    if p.get("alt"):
        lines.append(f"- alt: `{p['alt']}` (--alt), run right after dnnc in every round")
    if p.get("ort_version"):
        lines.append(f"- ONNX Runtime: onnxruntime-node {p['ort_version']} on node {p.get('node_version', '?')}, "
                     "CPU execution provider (bench/peers/ort_bench.js)")
    peaks = []
    for t in threads:
        v, txt = peak_of(out, t)
        pc = load(os.path.join(out, f"peak-check-t{t}.json"))
        pcs = f"; peak_check {pc['peak_gflops']:.1f}" if pc and "peak_gflops" in pc else ""
        peaks.append(f"{t} thread{'s' if t != '1' else ''}: {txt} GFLOPS{pcs}")
    if peaks:
        lines.append("- peak (`dnnc bench --peak`, before / after the runs; the larger is used): "
                     + "; ".join(peaks))
    bws = []
    for t in threads:
        bw = load(os.path.join(out, f"bandwidth-t{t}.json"))
        if bw and "read_gb_per_s" in bw:
            bws.append(f"{t} thread{'s' if t != '1' else ''}: {bw['read_gb_per_s']:.1f} GB/s")
    if bws:
        lines.append("- read bandwidth from memory (bench/bandwidth, best of 5 passes over 1 GiB): "
                     + "; ".join(bws))
    for k, label in (("machine", "machine"), ("date", "started"), ("uptime_before", "load before"),
                     ("uptime_after", "load after"), ("settings", "settings")):
        if p.get(k):
            lines.append(f"- {label}: {p[k]}")
    return lines


def provenance_int8_sizes(out, rows):
    """The weights-file sizes run.sh noted for the int8 rows."""
    p = load(os.path.join(out, "provenance.json")) or {}
    return [f"- int8 weights of {r}: {p['int8_weights_' + r]}" for r in rows if p.get("int8_weights_" + r)]


def weight_floor_ms(out, row, t):
    """The dense model's float32 weight-streaming floor at T threads: its
    weight bytes (`dnnc stats`) / the read bandwidth measured in the run."""
    st = load(os.path.join(out, "sparse", f"{row}-stats.json"))
    bw = load(os.path.join(out, f"bandwidth-t{t}.json"))
    if not st or not bw or not bw.get("read_gb_per_s"):
        return None
    return st["total"]["weights"] * 4 / (bw["read_gb_per_s"] * 1e9) * 1e3


def sparse_notes(out, rows, threads, procs):
    """Per pruned row, in float32 and in int8: its weights dense and as
    stored, and the median time of each sparse-encoded layer over the
    rounds."""
    lines = []
    for r in rows:
        dense = load(os.path.join(out, "sparse", f"{r}-stats.json"))
        if not dense:
            continue
        for label, stats, tool in (("fc layers pruned", "sparse", "sparse"),
                                   ("fc layers pruned, int8", "sparse-int8", "sparseq")):
            pruned = load(os.path.join(out, "sparse", f"{r}-{stats}-stats.json"))
            if not pruned:
                continue
            enc = {l["name"]: l for l in pruned["layers"] if l.get("encoding") not in (None, "dense")}
            stored = sum(l["stored_weight_bytes"] or 0 for l in pruned["layers"])
            lines.append(f"- {r}, {label}: {len(enc)} layers sparse ("
                         + ", ".join(f"{n} {l['encoding']}" for n, l in enc.items())
                         + f"); weights {dense['total']['weights'] * 4 / 1e6:.1f} MB dense float32, "
                         f"{stored / 1e6:.1f} MB as stored")
            for t in threads:
                times = {}
                for p in range(1, procs + 1):
                    j = load(os.path.join(out, "main", f"{tool}-{r}-t{t}-p{p}.json")) or {}
                    for l in j.get("layers", []):
                        if l["name"] in enc:
                            times.setdefault(l["name"], []).append(l["ms"])
                if times:
                    lines.append(f"  - {t} thread{'s' if t != '1' else ''}, sparse layers (median ms over "
                                 "rounds): " + ", ".join(f"{n} {statistics.median(v):.3f}" for n, v in times.items()))
    return lines


def main_table(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="table.py")
    ap.add_argument("out")
    ap.add_argument("--rows", required=True, help="model file stems, comma-separated")
    ap.add_argument("--threads", required=True)
    ap.add_argument("--procs", type=int, required=True)
    ap.add_argument("--alt", action="store_true")
    ap.add_argument("--int8", default="", help="rows also timed in int8, comma-separated")
    ap.add_argument("--sparse", default="", help="rows also timed with fc layers pruned, comma-separated")
    ap.add_argument("--torch-blas", default="")
    a = ap.parse_args(argv)
    rows, threads, blas = a.rows.split(","), a.threads.split(), a.torch_blas.split()
    int8 = [r for r in a.int8.split(",") if r]
    sparse = [r for r in a.sparse.split(",") if r]
    d = os.path.join(a.out, "main")
    P = range(1, a.procs + 1)

    print("## dnnc and ONNX Runtime, same process order")
    print()
    for line in provenance_lines(a.out, threads):
        print(line)
    print()
    label = {"system": "PyTorch ms", "reference": "PyTorch ms (ref. BLAS)",
             "openblas": "PyTorch ms (OpenBLAS)"}
    cols = ["model", "batch", "threads", "dnnc ms", "ORT ms", "dnnc/ORT", "dnnc GFLOPS",
            "% of peak (dnnc)", "ORT GFLOPS", "% of peak (ORT)"]
    if a.alt:
        cols += ["alt ms", "alt/ORT"]
    if int8:
        cols += ["int8 ms", "int8/ORT"]
    if sparse:
        cols += ["sparse fc ms", "sparse/ORT", "sparse fc int8 ms", "sparse int8/ORT", "dense weight floor ms"]
    cols += [label[b] for b in blas]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
    for r in rows:
        model, batch = row_model(r)
        for t in threads:
            f = lambda tool, p: os.path.join(d, f"{tool}-{r}-t{t}-p{p}.json")
            dn = combine(load(f("dnnc", p)) for p in P)
            ort = combine([load(f("ort", f"{p}a")) for p in P] + [load(f("ort", f"{p}b")) for p in P])
            peak, _ = peak_of(a.out, t)
            macs = dn["macs"] if dn else None
            gf = lambda x: 2 * macs / (x["ms"] * 1e6) if x and macs else None
            pct = lambda g: f"{100 * g / peak:.0f}%" if g and peak else "–"
            num = lambda g: f"{g:.1f}" if g else "–"
            row = [model, str(batch), t, cell(dn), cell(ort),
                   f"{dn['ms'] / ort['ms']:.2f}" if dn and ort else "–",
                   num(gf(dn)), pct(gf(dn)), num(gf(ort)), pct(gf(ort))]
            if a.alt:
                al = combine(load(f("alt", p)) for p in P)
                row += [cell(al), f"{al['ms'] / ort['ms']:.2f}" if al and ort else "–"]
            if int8:
                q = combine(load(f("int8", p)) for p in P) if r in int8 else None
                row += [cell(q) if r in int8 else "", f"{q['ms'] / ort['ms']:.2f}" if q and ort else ""]
            if sparse:
                s = combine(load(f("sparse", p)) for p in P) if r in sparse else None
                sq = combine(load(f("sparseq", p)) for p in P) if r in sparse else None
                floor = weight_floor_ms(a.out, r, t) if r in sparse else None
                row += [cell(s) if r in sparse else "", f"{s['ms'] / ort['ms']:.2f}" if s and ort else "",
                        cell(sq) if r in sparse else "", f"{sq['ms'] / ort['ms']:.2f}" if sq and ort else "",
                        f"{floor:.2f}" if floor else ""]
            row += [cell(combine(load(f(f"torch-{b}", p)) for p in P)) for b in blas]
            print("| " + " | ".join(row) + " |")
    print()
    print(f"dnnc ms: the median of {a.procs} dnnc processes' medians; ORT ms: the median of "
          f"{2 * a.procs} ORT processes' medians (one before and one after every dnnc process); "
          "each process's median is over its timed runs; the range of the process medians in "
          "brackets where it spans 5% or more. GFLOPS = 2 × the MACs `dnnc bench` counts in "
          "the model / the time (for ORT too); % of peak: of the `dnnc bench --peak` figure "
          "above for that thread count. – : no result (see the .err files in OUT/main)."
          + (" int8: the model quantised by `dnnc quantize --mode int8` (per-filter i8 weights, u8 "
             "activations, first and last conv/fc float), timed right after dnnc in every round, "
             "against ONNX Runtime in float32." if int8 else ""))
    if sparse:
        print()
        print("sparse fc: the model with every fc layer pruned by magnitude to the density run.sh "
              "was given (`dnnc prune --per-layer --layers`), the encodings and kernels chosen by "
              "select-sparsity, timed right after dnnc in every round (with --per-layer); sparse fc int8: "
              "that model quantised by `dnnc quantize --mode int8` (first and last conv/fc float), "
              "timed right after it. Dense weight "
              "floor: the unpruned model's float32 weight bytes / the read bandwidth above, the time "
              "streaming its weights once from memory takes at batch 1.")
        for line in sparse_notes(a.out, sparse, threads, a.procs):
            print(line)
    sizes = provenance_int8_sizes(a.out, int8)
    if sizes:
        print()
        for line in sizes:
            print(line)
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "note":
        if len(sys.argv) < 3:
            raise SystemExit("usage: table.py note FILE KEY VALUE [KEY VALUE ...]")
        note(sys.argv[2], sys.argv[3:])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    return main_table(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
