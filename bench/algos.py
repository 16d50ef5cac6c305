#!/usr/bin/env python3
"""Fast convolution on the cpu target, layer by layer: bench/run.sh --algos.
Standard library only.

    python3 bench/algos.py prepare --dnnc DNNC --onnx M.onnx --work DIR [--variants LIST]
    python3 bench/algos.py best    --dnnc DNNC --work DIR --model M --threads T --procs N
    python3 bench/algos.py table   OUT --models LIST --threads "1 2" --procs N

prepare imports M.onnx (`dnnc import M.onnx -o DIR/M.dnn`, weights in
DIR/M.safetensors) and writes one copy of the network per variant, each with an
@algo annotation before every conv layer the variant applies to:

    selected    no annotation: what select-algo chooses (the model as it is)
    im2col      @algo(im2col) on every conv
    direct      @algo(direct) on every conv (the blocked direct kernel where
                select-layout blocks the conv, the plain one elsewhere)
    winogradM   @algo(winograd, tile=M), M = 2, 4, 6, on every 3x3 conv of stride 1
                and dilation 1 (Winograd F(MxM, 3x3))
    fftT        @algo(fft, tile=T), T = 8, 16, 32, on every conv of stride 1 and
                dilation 1 with a kernel larger than 1x1 and smaller than TxT (an FFT
                of size T; 1x1 convolutions are plain matrix products, no transform
                makes them cheaper)

and checks each with `dnnc dump --target cpu -O3`: a variant that dnnc refuses
(an algorithm or tile the cpu target has no kernel for) is not run, and the table
says "n/a" with dnnc's reason. It also records, for every conv, the algorithm
that `dnnc dump --target cpu -O3` of the unannotated network prints (select-algo's
choice, "selector's choice"). It writes DIR/M.plan.json and prints the variants
to run, one "NAME<TAB>FILE" per line.

best writes DIR/M.best-tT.dnn: every conv annotated with the algorithm that was
fastest for it in the variants' per-layer times at T threads (the median over
the N rounds), and prints its path.

table prints, per model and thread count, the per-layer table (every conv layer,
its time under each algorithm, the selector's choice and the fastest) and the
whole-network table (ONNX Runtime, the selector's choice, im2col everywhere,
every variant, the fastest per layer), from

    OUT/algos/dnnc-M-VARIANT-tT-pP.json  `dnnc bench DIR/M.VARIANT.dnn --per-layer --json`
    OUT/algos/dnnc-M-best-tT-pP.json     the same for DIR/M.best-tT.dnn
    OUT/algos/ort-M-tT-pP{a,b}.json      ort_bench.js M.onnx before and after each round
    OUT/algos/ort-M-tT-best-pP{a,b}.json the same around the "best" round
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import top_layers  # noqa: E402
from table import load  # noqa: E402

DEFAULT_VARIANTS = "selected,im2col,direct,winograd2,winograd4,winograd6,fft8,fft16,fft32"
CONV_LINE = re.compile(r"^(\S+)\s*=\s*conv\((.*)\);")
DUMP_ARGS = ("--target", "cpu", "-O3")




def pair(v, default):
    """'3' -> (3, 3); '[1, 7]' -> (1, 7)."""
    if v is None:
        return (default, default)
    v = v.strip()
    if v.startswith("["):
        xs = [int(x) for x in v.strip("[]").split(",")]
        return (xs[0], xs[1] if len(xs) > 1 else xs[0])
    return (int(v), int(v))


def conv_attrs(args):
    parts = top_layers.split_args(args)
    kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return {"kernel": pair(kv.get("kernel"), 1), "stride": pair(kv.get("stride"), 1),
            "dilation": pair(kv.get("dilation"), 1), "groups": int(kv.get("groups", "1")),
            "filters": int(kv.get("filters", "0"))}


def parse_variant(v):
    """'winograd4' -> ('winograd', 4); 'im2col' -> ('im2col', None)."""
    m = re.fullmatch(r"(selected|im2col|direct|winograd|fft)(\d*)", v)
    if not m or (m.group(1) in ("winograd", "fft")) != bool(m.group(2)):
        raise SystemExit(f"algos.py: unknown variant '{v}' (selected, im2col, direct, winogradM, fftT)")
    return m.group(1), int(m.group(2)) if m.group(2) else None


def applies(algo, tile, a):
    kh, kw = a["kernel"]
    s1 = a["stride"] == (1, 1) and a["dilation"] == (1, 1)
    if algo in ("im2col", "direct"):
        return True
    if algo == "winograd":
        return s1 and (kh, kw) == (3, 3)
    if algo == "fft":
        return s1 and max(kh, kw) > 1 and max(kh, kw) < tile
    return False


def annotation(algo, tile):
    return f"@algo({algo}, tile={tile})" if tile else f"@algo({algo})"


def annotate(lines, choice):
    """The network text with @algo before each conv in choice (name -> annotation)."""
    out = []
    for line in lines:
        notes, rest = top_layers.split_annotations(line)
        m = CONV_LINE.match(rest)
        if m and m.group(1) in choice:
            others = " ".join(f"@{k}({v})" for k, v in notes.items() if k != "algo")
            line = " ".join(x for x in (choice[m.group(1)], others, rest) if x)
        out.append(line)
    return "\n".join(out) + "\n"


def dnnc_error(stderr):
    """dnnc's first error, without the file:line:col and layer prefix."""
    for line in stderr.splitlines():
        if "error:" in line:
            msg = line.split("error:", 1)[1].strip()
            return re.sub(r"^layer '[^']*': ", "", msg)
    return stderr.strip().splitlines()[0] if stderr.strip() else "failed"


def label(variant):
    algo, tile = parse_variant(variant)
    if algo == "winograd":
        return f"Winograd F({tile}x{tile},3x3)"
    if algo == "fft":
        return f"FFT {tile}"
    return {"selected": "selector's choice", "im2col": "im2col", "direct": "direct"}[algo]


def short_algo(text):
    """The inside of a dump's @algo(...) -> 'winograd 4', 'im2col'."""
    if not text:
        return "–"
    parts = [p.strip() for p in text.split(",")]
    tile = next((p.split("=", 1)[1] for p in parts[1:] if p.startswith("tile=")), None)
    return parts[0] + (f" {tile}" if tile else "")


def prepare(a):
    os.makedirs(a.work, exist_ok=True)
    stem = os.path.basename(a.onnx)[:-len(".onnx")]
    dnn = os.path.join(a.work, stem + ".dnn")
    weights = os.path.join(a.work, stem + ".safetensors")
    r = subprocess.run([a.dnnc, "import", a.onnx, "-o", dnn], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"algos.py: dnnc import {a.onnx} failed: {r.stderr.strip()}")
    with open(dnn) as f:
        lines = f.read().splitlines()
    # The conv layers, with the shapes and the selector's choice from the
    # pipeline dnnc bench runs (--target cpu -O3).
    notes = {}
    shapes = top_layers.dump_shapes(a.dnnc, dnn, DUMP_ARGS, annotations=notes)
    convs = []
    for line in lines:
        _, rest = top_layers.split_annotations(line)
        m = CONV_LINE.match(rest)
        if not m:
            continue
        name = m.group(1)
        at = conv_attrs(m.group(2))
        convs.append({"name": name, **at, "shape": top_layers.describe(name, shapes),
                      "selected": short_algo(notes.get(name, {}).get("algo"))})
    variants = []
    for v in a.variants.split(","):
        algo, tile = parse_variant(v)
        rec = {"name": v, "label": label(v), "file": None, "layers": [], "status": "ok",
               "reason": ""}
        if algo == "selected":
            rec["file"] = dnn
            rec["layers"] = [c["name"] for c in convs]
        else:
            choice = {c["name"]: annotation(algo, tile) for c in convs if applies(algo, tile, c)}
            rec["layers"] = list(choice)
            if not choice:
                rec["status"], rec["reason"] = "none", "applies to no conv layer of the model"
            else:
                rec["file"] = os.path.join(a.work, f"{stem}.{v}.dnn")
                with open(rec["file"], "w") as f:
                    f.write(annotate(lines, choice))
                r = subprocess.run([a.dnnc, "dump", rec["file"], *DUMP_ARGS], capture_output=True,
                                   text=True)
                if r.returncode:
                    rec["status"], rec["reason"] = "refused", dnnc_error(r.stderr)
        variants.append(rec)
        print(f"algos.py: {stem} {v}: {rec['status']}"
              + (f" ({len(rec['layers'])} conv layers)" if rec["status"] == "ok" else "")
              + (f": {rec['reason']}" if rec["reason"] else ""), file=sys.stderr)
    plan = {"model": stem, "onnx": os.path.abspath(a.onnx), "dnn": dnn, "weights": weights,
            "convs": convs, "variants": variants}
    with open(os.path.join(a.work, stem + ".plan.json"), "w") as f:
        json.dump(plan, f, indent=1)
    for rec in variants:
        if rec["status"] == "ok":
            print(f"{rec['name']}\t{rec['file']}")
    return 0


def layer_times(js):
    """name -> median over processes of the layer's ms."""
    per = {}
    for j in js:
        if j and j.get("layers"):
            for l in j["layers"]:
                per.setdefault(l["name"], []).append(l["ms"])
    return {k: statistics.median(v) for k, v in per.items()}


def whole(js):
    meds = sorted(j["median_ms"] for j in js if j and "median_ms" in j)
    if not meds:
        return None
    return {"ms": statistics.median(meds), "lo": meds[0], "hi": meds[-1]}


def variant_results(out, model, variant, t, procs):
    return [load(os.path.join(out, f"dnnc-{model}-{variant}-t{t}-p{p}.json"))
            for p in range(1, procs + 1)]


def fastest(plan, out, t, procs):
    """name -> (variant, ms) of the fastest forced algorithm for each conv."""
    best = {}
    for v in plan["variants"]:
        if v["status"] != "ok" or v["name"] == "selected":
            continue
        times = layer_times(variant_results(out, plan["model"], v["name"], t, procs))
        for name in v["layers"]:
            if name in times and (name not in best or times[name] < best[name][1]):
                best[name] = (v["name"], times[name])
    return best


def best(a):
    plan = load(os.path.join(a.work, a.model + ".plan.json"))
    if not plan:
        raise SystemExit(f"algos.py: no {a.model}.plan.json in {a.work} (run prepare first)")
    fb = fastest(plan, a.work, a.threads, a.procs)
    if not fb:
        raise SystemExit(f"algos.py: no per-layer times for {a.model} at {a.threads} threads")
    choice = {}
    for name, (v, _) in fb.items():
        algo, tile = parse_variant(v)
        choice[name] = annotation(algo, tile)
    with open(plan["dnn"]) as f:
        lines = f.read().splitlines()
    path = os.path.join(a.work, f"{a.model}.best-t{a.threads}.dnn")
    with open(path, "w") as f:
        f.write(annotate(lines, choice))
    print(path)
    return 0


def cell_whole(d):
    if not d:
        return "–"
    if d["hi"] - d["lo"] < 0.05 * d["ms"]:
        return f"{d['ms']:.1f}"
    pr = 0 if d["hi"] >= 100 else 1
    return f"{d['ms']:.1f} ({d['lo']:.{pr}f}–{d['hi']:.{pr}f})"


def kernel_text(c):
    k, s = list(c["kernel"]), list(c["stride"])
    txt = f"{k[0]}x{k[1]}"
    if s != [1, 1]:
        txt += f" /{s[0]}" if s[0] == s[1] else f" /{s[0]}x{s[1]}"
    if c["groups"] != 1:
        txt += f" g{c['groups']}"
    return txt


def table_model(out, model, t, procs):
    plan = load(os.path.join(out, model + ".plan.json"))
    ts = "s" if t != "1" else ""
    print(f"### {model}, {t} thread{ts}")
    print()
    if not plan:
        print(f"No plan ({model}.plan.json missing: `algos.py prepare` failed or did not run).")
        print()
        return
    vs = plan["variants"]
    forced = [v for v in vs if v["name"] != "selected"]
    times = {v["name"]: layer_times(variant_results(out, model, v["name"], t, procs))
             for v in vs if v["status"] == "ok"}
    fb = fastest(plan, out, t, procs)
    has_sel = any(v["name"] == "selected" for v in vs)

    cols = ["layer", "kernel", "input → output, attributes", "selector's choice"]
    if has_sel:
        cols.append("as selected ms")
    cols += [v["label"] + " ms" for v in forced] + ["fastest"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---:" if c.endswith(" ms") else "---" for c in cols) + "|")
    tot = {v["name"]: 0.0 for v in vs}
    complete = {v["name"]: True for v in vs}

    def cell(v, name):
        if name not in v["layers"]:
            return "–"
        if v["status"] == "refused":
            return "n/a"
        if v["status"] != "ok":
            return "–"
        ms = times[v["name"]].get(name)
        if ms is None:
            complete[v["name"]] = False
            return "fail"
        tot[v["name"]] += ms
        bold = name in fb and fb[name][0] == v["name"]
        return f"**{ms:.2f}**" if bold else f"{ms:.2f}"

    for c in plan["convs"]:
        n = c["name"]
        row = [f"`{top_layers.short_name(n)}`", kernel_text(c), c["shape"], c["selected"]]
        if has_sel:
            row.append(cell(next(v for v in vs if v["name"] == "selected"), n))
        row += [cell(v, n) for v in forced]
        row.append(label(fb[n][0]) if n in fb else "–")
        print("| " + " | ".join(row) + " |")
    # The conv layers' total under each variant (only layers it changed).
    row = ["all conv layers", "", "", ""]
    if has_sel:
        v = next(v for v in vs if v["name"] == "selected")
        row.append(f"{tot['selected']:.1f}" if v["status"] == "ok" and complete["selected"] else "")
    for v in forced:
        ok = v["status"] == "ok" and complete[v["name"]]
        row.append(f"{tot[v['name']]:.1f} ({len(v['layers'])})" if ok else "")
    row.append(f"{sum(x[1] for x in fb.values()):.1f}" if fb else "")
    print("| " + " | ".join(row) + " |")
    print()
    print("Per-layer medians (ms) from `dnnc bench --per-layer`, each the median over "
          f"{procs} processes; bold: the fastest algorithm for the layer. – : the algorithm "
          "does not apply to the layer (Winograd: 3x3, stride 1; FFT: stride 1, kernel "
          "above 1x1 and below the FFT size); n/a: dnnc refuses it (below); fail: no "
          "result. Last row: the sum over the conv layers each column covers (their "
          "number in brackets). Layer names shortened as in the per-layer tables.")
    refused = [v for v in vs if v["status"] in ("refused", "none")]
    if refused:
        print()
        for v in refused:
            what = "dnnc refuses it" if v["status"] == "refused" else "not run"
            print(f"- {v['label']}: {what}: {v['reason']}")
    print()

    # Whole network.
    ort = whole([load(os.path.join(out, f"ort-{model}-t{t}-p{p}{x}.json"))
                 for p in range(1, procs + 1) for x in "ab"] +
                [load(os.path.join(out, f"ort-{model}-t{t}-best-p{p}{x}.json"))
                 for p in range(1, procs + 1) for x in "ab"])
    wh = {v["name"]: whole(variant_results(out, model, v["name"], t, procs)) for v in vs}
    wh["best"] = whole(variant_results(out, model, "best", t, procs))
    base = wh.get("im2col")
    print("| configuration | conv layers annotated | ms | vs im2col | vs ORT |")
    print("|---|---:|---:|---:|---:|")

    def line(what, n, d):
        vs_b = f"{d['ms'] / base['ms']:.2f}" if d and base else "–"
        vs_o = f"{d['ms'] / ort['ms']:.2f}" if d and ort else "–"
        print(f"| {what} | {n} | {cell_whole(d)} | {vs_b} | {vs_o} |")

    line("ONNX Runtime", "", ort)
    for v in vs:
        if v["name"] == "selected":
            line("dnnc, selector's choice (no annotation): " +
                 ", ".join(sorted({c['selected'] for c in plan['convs']})), 0, wh["selected"])
        elif v["status"] == "ok":
            extra = " (without fast algorithms)" if v["name"] in ("im2col", "direct") else " where it applies"
            line(f"dnnc, {v['label']}{extra}", len(v["layers"]), wh[v["name"]])
        else:
            print(f"| dnnc, {v['label']} | {len(v['layers'])} | n/a | | |")
    changed = sum(1 for n, (v, _) in fb.items() if v != "im2col")
    line(f"dnnc, the fastest algorithm of each layer ({changed} not im2col)", len(fb), wh["best"])
    print()
    print("Whole-network medians (ms) of the same `dnnc bench --per-layer` processes (the "
          "per-layer marks cost one clock read per layer); the last row is a further round "
          "with every conv annotated with its fastest algorithm from the table above. ONNX "
          "Runtime: the median over all its processes for this model and thread count (one "
          "before and one after each round of dnnc processes).")
    print()


def table(a):
    print("## Fast convolution: every algorithm on every conv layer")
    print()
    print(f"Each round (repeated {a.procs} times per model and thread count): ONNX Runtime, "
          "then one `dnnc bench --per-layer` process per variant, then ONNX Runtime again; "
          "then, per round, ONNX Runtime, dnnc with the fastest algorithm of each layer, ONNX "
          "Runtime. The selector's choice is what `dnnc dump --target cpu -O3` of the "
          "unannotated network prints as each conv's `@algo`.")
    print()
    for m in a.models.split(","):
        for t in a.threads.split():
            table_model(os.path.join(a.out, "algos"), m, t, a.procs)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--dnnc", required=True)
    p.add_argument("--onnx", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--variants", default=DEFAULT_VARIANTS)
    p = sub.add_parser("best")
    p.add_argument("--dnnc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", required=True)
    p.add_argument("--procs", type=int, required=True)
    p = sub.add_parser("table")
    p.add_argument("out")
    p.add_argument("--models", required=True)
    p.add_argument("--threads", required=True)
    p.add_argument("--procs", type=int, required=True)
    a = ap.parse_args()
    return {"prepare": prepare, "best": best, "table": table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
