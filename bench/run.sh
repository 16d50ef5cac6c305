#!/usr/bin/env bash
# dnnc against ONNX Runtime and PyTorch on the same torchvision models, batch 1,
# same thread counts; prints a markdown table (docs/performance.md).
#
#   bench/run.sh [--models a,b,...] [--threads "1 2"] [--runs N] [--warmup N]
#                [--procs N] [--torch-blas system|reference|openblas|both]
#                [--per-layer] [--alt PATH] [--out DIR] [--no-torch] [--no-ort]
#                [--table-only]
#
# Environment: DNNC (default build/dnnc), MODELS_DIR (default /tmp/dnnc-models),
# PYTHON (default /usr/bin/python3, which has torch, torchvision and onnx).
# Every tool runs in --procs separate processes (default 3; dnnc's speed has
# depended on where a process's stack lands, docs/performance.md): the table
# gives the median of their medians and their range. --alt PATH adds columns
# for a second dnnc binary (an experiment), timed the same way. --per-layer
# adds `dnnc bench --per-layer` runs and the ten most costly layers of each
# model (bench/top_layers.py, OUT/layers.md). Raw JSON goes to --out (default
# /tmp/dnnc-bench), the table to stdout and OUT/table.md. Models missing from
# MODELS_DIR are exported first. --table-only measures nothing and prints the
# table (and layers) from the JSON already in --out, e.g. after re-running some
# models. Measure on a quiet machine: `uptime` is printed before and after.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DNNC="${DNNC:-$ROOT/build/dnnc}"
MODELS_DIR="${MODELS_DIR:-/tmp/dnnc-models}"
PYTHON="${PYTHON:-/usr/bin/python3}"
OUT=/tmp/dnnc-bench
MODELS="resnet50,vgg16,googlenet,mobilenet_v2,squeezenet1_1"
THREADS="1 2"
RUNS=10
WARMUP=2
PROCS=3
TORCH_BLAS=openblas
PER_LAYER=0
ALT=""
DO_TORCH=1
DO_ORT=1
TABLE_ONLY=0

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models) MODELS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --procs) PROCS="$2"; shift 2 ;;
    --torch-blas) TORCH_BLAS="$2"; shift 2 ;;
    --per-layer) PER_LAYER=1; shift ;;
    --alt) ALT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-torch) DO_TORCH=0; shift ;;
    --no-ort) DO_ORT=0; shift ;;
    --table-only) TABLE_ONLY=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage 2 >&2 ;;
  esac
done
case "$TORCH_BLAS" in
  system|reference|openblas) BLAS_LIST="$TORCH_BLAS" ;;
  both) BLAS_LIST="reference openblas" ;;
  *) echo "run.sh: --torch-blas is system, reference, openblas or both" >&2; exit 2 ;;
esac
if [ "$DO_TORCH" = 1 ] && [ "$BLAS_LIST" != system ] && [ "$BLAS_LIST" != reference ] &&
   [ ! -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]; then
  echo "run.sh: OpenBLAS (apt-get install libopenblas0-openmp) is missing; PyTorch runs" \
       "on the libblas.so.3 alternative instead (--torch-blas system)" >&2
  BLAS_LIST=system
fi
IFS=, read -r -a MODEL_ARR <<< "$MODELS"
mkdir -p "$OUT" "$MODELS_DIR"
log() { echo "$*" >&2; }

[ -x "$DNNC" ] || { echo "run.sh: $DNNC not found: ninja -C $ROOT/build" >&2; exit 1; }
[ -z "$ALT" ] || [ -x "$ALT" ] || { echo "run.sh: --alt $ALT is not an executable" >&2; exit 1; }
if [ "$DO_ORT" = 1 ] && [ ! -d "$ROOT/bench/peers/node_modules/onnxruntime-node" ]; then
  log "installing onnxruntime-node into bench/peers (CPU binaries only)"
  (cd "$ROOT/bench/peers" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2)
fi

if [ "$TABLE_ONLY" = 0 ]; then
# 1. The models: exported once, kept in MODELS_DIR (hundreds of MB, never committed).
missing=()
for m in "${MODEL_ARR[@]}"; do [ -f "$MODELS_DIR/$m.onnx" ] || missing+=("$m"); done
if [ ${#missing[@]} -gt 0 ]; then
  list="$(IFS=,; echo "${missing[*]}")"
  if [ -f "$ROOT/tools/onnx/export_torchvision.py" ]; then
    log "exporting $list to $MODELS_DIR (tools/onnx/export_torchvision.py)"
    "$PYTHON" "$ROOT/tools/onnx/export_torchvision.py" "$MODELS_DIR" --models "$list" --no-folded >&2
  else
    log "exporting $list to $MODELS_DIR (bench/export_models.py)"
    "$PYTHON" "$ROOT/bench/export_models.py" "$MODELS_DIR" --models "$list" >&2
  fi
fi

# 2. The machine's peak, by dnnc and by bench/peak_check.c.
log "before: $(uptime)"
cc -O2 -pthread "$ROOT/bench/peak_check.c" -o "$OUT/peak_check"
for t in $THREADS; do
  "$DNNC" bench --peak --threads "$t" --json > "$OUT/peak-dnnc-t$t.json"
  "$OUT/peak_check" "$t" --json > "$OUT/peak-check-t$t.json"
done

# 3. The runs.
for m in "${MODEL_ARR[@]}"; do
  onnx="$MODELS_DIR/$m.onnx"
  for t in $THREADS; do
    log "== $m, $t thread(s)"
    for p in $(seq 1 "$PROCS"); do
      "$DNNC" bench "$onnx" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --json \
        > "$OUT/dnnc-$m-t$t-p$p.json"
      if [ -n "$ALT" ]; then
        "$ALT" bench "$onnx" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --json \
          > "$OUT/alt-$m-t$t-p$p.json"
      fi
    done
    if [ "$PER_LAYER" = 1 ]; then
      "$DNNC" bench "$onnx" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --per-layer --json \
        > "$OUT/dnnc-layers-$m-t$t.json"
      if [ -n "$ALT" ]; then
        "$ALT" bench "$onnx" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --per-layer --json \
          > "$OUT/alt-layers-$m-t$t.json"
      fi
    fi
    for p in $(seq 1 "$PROCS"); do
      if [ "$DO_ORT" = 1 ]; then
        node "$ROOT/bench/peers/ort_bench.js" "$onnx" --threads "$t" --runs "$RUNS" \
          --warmup "$WARMUP" --json > "$OUT/ort-$m-t$t-p$p.json"
      fi
      if [ "$DO_TORCH" = 1 ]; then
        for b in $BLAS_LIST; do
          "$PYTHON" "$ROOT/bench/peers/torch_bench.py" "$m" --threads "$t" --runs "$RUNS" \
            --warmup "$WARMUP" --blas "$b" --json > "$OUT/torch-$b-$m-t$t-p$p.json"
        done
      fi
    done
  done
done
log "after: $(uptime)"
fi

# 4. The table.
"$PYTHON" - "$OUT" "$MODELS" "$THREADS" "$BLAS_LIST" "$PROCS" "${ALT:+alt}" <<'EOF' | tee "$OUT/table.md"
import json, os, statistics, sys
out, models, threads, blas, procs, alt = sys.argv[1], sys.argv[2].split(","), \
    sys.argv[3].split(), sys.argv[4].split(), int(sys.argv[5]), sys.argv[6] == "alt"
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def procs_of(tool, m, t):
    js = [j for j in (load(f"{tool}-{m}-t{t}-p{p}.json") for p in range(1, procs + 1)) if j]
    if not js:
        return None
    meds = sorted(j["median_ms"] for j in js)
    return {"ms": statistics.median(meds), "lo": meds[0], "hi": meds[-1], "macs": js[0].get("macs")}
def cell(d):
    if not d:
        return "–"
    if d["hi"] - d["lo"] < 0.05 * d["ms"]:
        return f"{d['ms']:.1f}"
    pr = 0 if d["hi"] >= 100 else 1
    return f"{d['ms']:.1f} ({d['lo']:.{pr}f}–{d['hi']:.{pr}f})"
label = {"system": "PyTorch ms", "reference": "PyTorch ms (ref. BLAS)",
         "openblas": "PyTorch ms (OpenBLAS)"}
cols = ["model", "threads", "dnnc ms"] + (["dnnc+fix ms"] if alt else []) + ["ORT ms"] + \
       [label[b] for b in blas] + ["dnnc/ORT"] + (["dnnc+fix/ORT"] if alt else []) + \
       ["dnnc GFLOPS", "% of peak: dnnc --peak", "% of peak: peak_check"]
print("| " + " | ".join(cols) + " |")
print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
for m in models:
    for t in threads:
        d, a, o = procs_of("dnnc", m, t), procs_of("alt", m, t) if alt else None, procs_of("ort", m, t)
        pd, pc = load(f"peak-dnnc-t{t}.json"), load(f"peak-check-t{t}.json")
        row = [m, t, cell(d)] + ([cell(a)] if alt else []) + [cell(o)]
        row += [cell(procs_of(f"torch-{b}", m, t)) for b in blas]
        row.append(f"{d['ms'] / o['ms']:.2f}" if d and o else "–")
        if alt:
            row.append(f"{a['ms'] / o['ms']:.2f}" if a and o else "–")
        gf = 2 * d["macs"] / (d["ms"] * 1e6) if d else None
        row.append(f"{gf:.1f}" if d else "–")
        row.append(f"{100 * gf / pd['peak_gflops']:.0f}% of {pd['peak_gflops']:.0f}" if d and pd else "–")
        row.append(f"{100 * gf / pc['peak_gflops']:.0f}% of {pc['peak_gflops']:.0f}" if d and pc else "–")
        print("| " + " | ".join(row) + " |")
print()
print(f"Each time: the median of {procs} processes' medians, each of those the median of "
      "the process's timed runs; the range of the process medians in brackets where it "
      "spans 5% or more. dnnc GFLOPS and % of peak: from the dnnc time.")
EOF

# 5. With --per-layer: the ten most costly layers of each model (stdout and OUT/layers.md).
if [ "$PER_LAYER" = 1 ]; then
  for m in "${MODEL_ARR[@]}"; do
    for t in $THREADS; do
      for tool in dnnc ${ALT:+alt}; do
        echo
        [ "$tool" = alt ] && echo "(--alt $ALT)"
        "$PYTHON" "$ROOT/bench/top_layers.py" "$OUT/$tool-layers-$m-t$t.json" --dnnc "$DNNC"
      done
    done
  done | tee "$OUT/layers.md"
fi
