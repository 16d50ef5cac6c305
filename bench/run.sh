#!/usr/bin/env bash
# The benchmark command: builds dnnc from this tree, then times ONNX Runtime, dnnc
# and ONNX Runtime again on each model in that process order, and writes the
# tables of docs/performance.md. `bench/run.sh --help` for the options;
# bench/README.md for what each column means.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODELS_DIR="${MODELS_DIR:-/tmp/dnnc-models}"
PYTHON="${PYTHON:-/usr/bin/python3}"
NODE="${NODE:-node}"
OUT=/tmp/dnnc-bench
BUILD_DIR="$ROOT/build-bench"
JOBS=2
DNNC_GIVEN="${DNNC:-}"
MODELS="resnet50,resnet18,vgg16,googlenet,squeezenet1_0,alexnet,mobilenet_v2"
BATCH8="resnet50,vgg16"
INT8="resnet50,vgg16"
SPARSE="alexnet"
SPARSE_DENSITY=0.1
THREADS="1 2"
RUNS=10
WARMUP=2
PROCS=3
PER_LAYER=0
PER_LAYER_MODELS="resnet50,mobilenet_v2"
TOP=15
ALGOS=0
ALGO_MODELS="vgg16,googlenet,alexnet"
ALGO_VARIANTS="selected,im2col,direct,winograd2,winograd4,winograd6,fft8,fft16,fft32"
MAIN=1
ALT=""
TORCH_BLAS=""
DO_ORT=1
ALLOW_DIRTY=0
TABLE_ONLY=0
PAIRED=0

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]

Step 0 builds dnnc from this tree (cmake -S . -B build-bench -G Ninja
-DCMAKE_BUILD_TYPE=Release; cmake --build build-bench --target dnnc), records the
commit and whether the tree is dirty, and refuses a dirty tree unless
--allow-dirty (the tables then say DIRTY TREE). Then, with each thread count:
`dnnc bench --peak`; for every model and round (--procs rounds): ONNX Runtime,
dnnc, ONNX Runtime, each in its own process; `dnnc bench --peak` again. Tables go
to stdout and OUT/report.md (OUT/table.md, OUT/compile.md, OUT/layers.md, OUT/algos.md), raw
JSON to OUT/main, OUT/layers, OUT/algos.

models and runs:
  --models LIST          batch-1 models (default resnet50,resnet18,vgg16,googlenet,
                         squeezenet1_0,alexnet,mobilenet_v2); MODELS_DIR/M.onnx,
                         exported by tools/onnx/export_torchvision.py if missing
  --batch8 LIST          models also timed at batch 8, MODELS_DIR/M-b8.onnx
                         (default resnet50,vgg16; 'none' for none)
  --int8 LIST            rows (model stems, M or M-b8) also timed quantised to int8,
                         right after dnnc in every round: `dnnc quantize M.onnx --mode
                         int8 --calibrate M.input.npy` once, then `dnnc bench` of its
                         output (default resnet50,vgg16; 'none' for none)
  --sparse LIST          rows also timed with their fc layers pruned by magnitude to
                         --sparse-density each (`dnnc prune M.onnx --per-layer --layers
                         FC,..` once; the sparse kernels are what select-sparsity
                         chooses), and that model quantised to int8 (`dnnc quantize
                         --mode int8`), right after dnnc in every round; the table adds the
                         dense model's float32 weight-streaming floor (its weight bytes
                         / the read bandwidth bench/bandwidth measures in the same run)
                         (default alexnet; 'none' for none)
  --sparse-density D     (default 0.1)
  --threads "1 2"        thread counts (default "1 2")
  --runs N               timed runs per process (default 10)
  --warmup N             untimed runs before them (default 2)
  --procs N              rounds ORT, dnnc, ORT per model and thread count (default 3)
  --no-main              skip the main table (only --per-layer and/or --algos)

per-layer profiles (OUT/layers.md):
  --per-layer            `dnnc bench --per-layer` beside ONNX Runtime's own per-node
                         profile, the slowest --top layers of each, side by side
  --per-layer-models L   (default resnet50,mobilenet_v2)
  --top N                layers listed (default 15)

fast convolution (OUT/algos.md):
  --algos                every conv layer's time under each algorithm forced with
                         @algo, the selector's choice, and whole-network times with
                         and without fast algorithms beside ONNX Runtime
  --algo-models L        (default vgg16,googlenet,alexnet)
  --algo-variants L      (default selected,im2col,direct,winograd2,winograd4,winograd6,
                         fft8,fft16,fft32); one dnnc refuses is shown as n/a

dnnc and peers:
  --paired ROUNDS        also run ONNX Runtime and dnnc's bundle of each --models row
                         one after the other in one process, ROUNDS rounds per thread
                         count (bench/peers/paired.js): the ratio of every round, grouped
                         by the host's load in that round (OUT/paired.md; 0: off, the
                         default); needs Node's headers (Debian's nodejs has them) and
                         a C compiler
  --dnnc PATH            time this dnnc binary instead of building one (also DNNC=PATH);
                         the tables say it was not built by this run
  --build-dir DIR        where step 0 builds (default build-bench)
  --jobs N               build jobs (default 2)
  --allow-dirty          measure a tree with uncommitted changes (marked DIRTY TREE)
  --alt PATH             a second dnnc binary, timed right after dnnc in every round
  --torch-blas B         also time PyTorch after the second ORT run: system,
                         reference, openblas or both (default: no PyTorch)
  --no-ort               do not run ONNX Runtime
  --out DIR              results (default /tmp/dnnc-bench)
  --table-only           no build, no runs: the tables again from the JSON in --out
                         (give the same models, threads and --procs)
  -h, --help             this help

Environment: MODELS_DIR (default /tmp/dnnc-models), PYTHON (default
/usr/bin/python3, with torch, torchvision and onnx for the exports), NODE (node).
Measure on a quiet machine: `uptime` is recorded before and after.
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }
log() { echo "run.sh: $*" >&2; }
need_arg() { [ "$2" -ge 2 ] || die "$1 needs a value (see --help)"; }
need_int() { # NAME VALUE MIN
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then die "$1 needs an integer >= $3, not '$2'"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --models) need_arg "$1" $#; MODELS="$2"; shift 2 ;;
    --batch8) need_arg "$1" $#; BATCH8="$2"; shift 2 ;;
    --int8) need_arg "$1" $#; INT8="$2"; shift 2 ;;
    --sparse) need_arg "$1" $#; SPARSE="$2"; shift 2 ;;
    --sparse-density) need_arg "$1" $#; SPARSE_DENSITY="$2"; shift 2 ;;
    --threads) need_arg "$1" $#; THREADS="$2"; shift 2 ;;
    --runs) need_arg "$1" $#; RUNS="$2"; shift 2 ;;
    --warmup) need_arg "$1" $#; WARMUP="$2"; shift 2 ;;
    --procs) need_arg "$1" $#; PROCS="$2"; shift 2 ;;
    --no-main) MAIN=0; shift ;;
    --per-layer) PER_LAYER=1; shift ;;
    --per-layer-models) need_arg "$1" $#; PER_LAYER_MODELS="$2"; shift 2 ;;
    --top) need_arg "$1" $#; TOP="$2"; shift 2 ;;
    --algos) ALGOS=1; shift ;;
    --algo-models) need_arg "$1" $#; ALGO_MODELS="$2"; shift 2 ;;
    --algo-variants) need_arg "$1" $#; ALGO_VARIANTS="$2"; shift 2 ;;
    --dnnc) need_arg "$1" $#; DNNC_GIVEN="$2"; shift 2 ;;
    --build-dir) need_arg "$1" $#; BUILD_DIR="$2"; shift 2 ;;
    --jobs) need_arg "$1" $#; JOBS="$2"; shift 2 ;;
    --allow-dirty) ALLOW_DIRTY=1; shift ;;
    --alt) need_arg "$1" $#; ALT="$2"; shift 2 ;;
    --torch-blas) need_arg "$1" $#; TORCH_BLAS="$2"; shift 2 ;;
    --no-torch) TORCH_BLAS=""; shift ;;
    --no-ort) DO_ORT=0; shift ;;
    --out) need_arg "$1" $#; OUT="$2"; shift 2 ;;
    --table-only) TABLE_ONLY=1; shift ;;
    --paired) need_arg "$1" $#; PAIRED="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

need_int --runs "$RUNS" 1
need_int --warmup "$WARMUP" 0
need_int --procs "$PROCS" 1
need_int --jobs "$JOBS" 1
need_int --top "$TOP" 1
need_int --paired "$PAIRED" 0
[ "$PAIRED" = 0 ] || [ "$MAIN" = 1 ] || die "--paired runs the --models rows: not with --no-main"
[ "$PAIRED" = 0 ] || [ "$DO_ORT" = 1 ] || die "--paired pairs dnnc with ONNX Runtime: not with --no-ort"
[ -n "${THREADS// /}" ] || die "--threads needs at least one thread count"
for t in $THREADS; do need_int --threads "$t" 1; done
case "$TORCH_BLAS" in
  "") BLAS_LIST="" ;;
  system|reference|openblas) BLAS_LIST="$TORCH_BLAS" ;;
  both) BLAS_LIST="reference openblas" ;;
  *) die "--torch-blas is system, reference, openblas or both, not '$TORCH_BLAS'" ;;
esac
[ "$BATCH8" = none ] && BATCH8=""
[ "$INT8" = none ] && INT8=""
[ "$SPARSE" = none ] && SPARSE=""
[[ "$SPARSE_DENSITY" =~ ^(0?\.[0-9]*[1-9][0-9]*|1(\.0*)?)$ ]] ||
  die "--sparse-density needs a density in (0, 1], not '$SPARSE_DENSITY'"
split() { local IFS=,; local -a a; read -r -a a <<< "$1"; [ ${#a[@]} -eq 0 ] || printf '%s\n' "${a[@]}"; }
KNOWN=" resnet50 resnet18 vgg16 googlenet squeezenet1_0 squeezenet1_1 alexnet mobilenet_v2 "
check_models() { # OPTION LIST
  local m
  for m in $(split "$2"); do
    [[ "$KNOWN" == *" $m "* ]] || [ -f "$MODELS_DIR/$m.onnx" ] ||
      die "$1: unknown model '$m' (known:$KNOWN; or put $m.onnx in $MODELS_DIR)"
  done
}
mapfile -t MODEL_ARR < <( [ "$MAIN" = 1 ] && split "$MODELS" )
mapfile -t B8_ARR < <( [ "$MAIN" = 1 ] && [ -n "$BATCH8" ] && split "$BATCH8" )
mapfile -t PL_ARR < <( [ "$PER_LAYER" = 1 ] && split "$PER_LAYER_MODELS" )
mapfile -t AL_ARR < <( [ "$ALGOS" = 1 ] && split "$ALGO_MODELS" )
[ "$MAIN" = 0 ] || check_models --models "$MODELS"
[ "$MAIN" = 0 ] || [ -z "$BATCH8" ] || check_models --batch8 "$BATCH8"
[ "$PER_LAYER" = 0 ] || check_models --per-layer-models "$PER_LAYER_MODELS"
[ "$ALGOS" = 0 ] || check_models --algo-models "$ALGO_MODELS"
[ "$MAIN" = 1 ] || [ "$PER_LAYER" = 1 ] || [ "$ALGOS" = 1 ] ||
  die "--no-main without --per-layer or --algos leaves nothing to do"
[ -z "$ALT" ] || [ -x "$ALT" ] || die "--alt $ALT is not an executable"
# The rows of the main table: model file stems.
ROWS=("${MODEL_ARR[@]}")
for m in "${B8_ARR[@]}"; do ROWS+=("$m-b8"); done
ROWS_CSV="$(IFS=,; echo "${ROWS[*]}")"
# is_int8 ROW: the row is also timed in int8.
is_int8() { [[ ",$INT8," == *",$1,"* ]]; }
for m in $(split "$INT8"); do
  [[ " ${ROWS[*]} " == *" $m "* ]] || [ "$MAIN" = 0 ] || die "--int8: '$m' is not a row of the main table (${ROWS_CSV})"
done
# is_sparse ROW: the row is also timed with its fc layers pruned.
is_sparse() { [[ ",$SPARSE," == *",$1,"* ]]; }
for m in $(split "$SPARSE"); do
  [[ " ${ROWS[*]} " == *" $m "* ]] || [ "$MAIN" = 0 ] ||
    die "--sparse: '$m' is not a row of the main table (${ROWS_CSV})"
done

mkdir -p "$OUT/main" "$OUT/layers" "$OUT/algos" "$OUT/int8" "$OUT/sparse" "$MODELS_DIR"
PROV="$OUT/provenance.json"
note() { "$PYTHON" "$ROOT/bench/table.py" note "$PROV" "$@"; }
FAILS=0
# runp OUT.json CMD...: CMD's stdout to OUT.json, its stderr to OUT.json.err (kept
# only if not empty); a failure is counted and logged, and the run goes on.
runp() {
  local out="$1"; shift
  rm -f "$out" "$out.err" "$out.tmp"
  if "$@" > "$out.tmp" 2> "$out.err"; then
    mv "$out.tmp" "$out"
    [ -s "$out.err" ] || rm -f "$out.err"
  else
    local rc=$?
    rm -f "$out.tmp"
    FAILS=$((FAILS + 1))
    log "FAILED (exit $rc): $* -- see $out.err"
  fi
}

if [ "$TABLE_ONLY" = 0 ]; then
  # 0. dnnc, built from this tree (or given).
  COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  BRANCH="$(git -C "$ROOT" rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)"
  # The uncommitted files, for the tables: how many, and the first eight.
  dirty_files() {
    git -C "$ROOT" status --porcelain 2>/dev/null | awk '{print $NF}' |
      awk '{n++; if (n <= 8) s = s (n > 1 ? " " : "") $0}
           END {if (n) printf "%d files: %s%s", n, s, (n > 8 ? " ..." : "")}'
  }
  DIRTY_FILES="$(dirty_files)"
  if [ -n "$DNNC_GIVEN" ]; then
    [ -x "$DNNC_GIVEN" ] || die "--dnnc/DNNC $DNNC_GIVEN is not an executable"
    SOURCE=given
    log "WARNING: timing $DNNC_GIVEN, not a dnnc built by this run from commit $COMMIT"
  else
    if [ -n "$DIRTY_FILES" ] && [ "$ALLOW_DIRTY" = 0 ]; then
      echo "run.sh: the tree has uncommitted changes ($DIRTY_FILES)" >&2
      echo "run.sh: the figures must come from a commit on main: commit them, or run with" \
           "--allow-dirty (the tables then say DIRTY TREE)" >&2
      exit 1
    fi
    [ -z "$DIRTY_FILES" ] || log "WARNING: DIRTY TREE ($DIRTY_FILES): the tables will say so"
    [ "$BRANCH" = main ] || log "WARNING: branch $BRANCH, not main: the tables will say so"
    command -v cmake >/dev/null || die "cmake is missing"
    log "step 0: building dnnc at $COMMIT in $BUILD_DIR (Release, -j$JOBS)"
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build "$BUILD_DIR" -j "$JOBS" --target dnnc dnnrt >&2
    # The tree may have changed during the build (someone else's edit).
    AFTER="$(dirty_files)"
    if [ "$AFTER" != "$DIRTY_FILES" ] || [ "$(git -C "$ROOT" rev-parse HEAD)" != "$COMMIT" ]; then
      log "WARNING: the tree changed during the build: marked DIRTY TREE"
      DIRTY_FILES="${AFTER:-changed during the build}"
    fi
    SOURCE=built
  fi
  # A copy, so that a rebuild during the runs cannot change the binary mid-run.
  mkdir -p "$OUT/bin"
  [ "${DNNC_GIVEN:-$BUILD_DIR/dnnc}" -ef "$OUT/bin/dnnc" ] || cp "${DNNC_GIVEN:-$BUILD_DIR/dnnc}" "$OUT/bin/dnnc"
  # --paired links each bundle with the runtime library built beside that dnnc.
  if [ "$PAIRED" != 0 ]; then
    lib="$(dirname "${DNNC_GIVEN:-$BUILD_DIR/dnnc}")/runtime/libdnnrt.a"
    [ -f "$lib" ] || die "--paired: no runtime library at $lib (build the dnnrt target beside that dnnc)"
    cp "$lib" "$OUT/bin/libdnnrt.a"
  fi
  DNNC="$OUT/bin/dnnc"
  rm -f "$PROV"
  note commit "$COMMIT" branch "$BRANCH" dirty "$([ -n "$DIRTY_FILES" ] && echo yes || echo no)" \
       dirty_files "$DIRTY_FILES" dnnc_source "$SOURCE" \
       dnnc "${DNNC_GIVEN:-$BUILD_DIR/dnnc}" build_dir "$BUILD_DIR" \
       alt "$ALT" date "$(date '+%Y-%m-%d %H:%M:%S %Z')" \
       machine "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(uname -sr)" \
       settings "--runs $RUNS --warmup $WARMUP --procs $PROCS --threads '$THREADS'"

  # 1. The models: exported once into MODELS_DIR (hundreds of MB, never committed).
  export_missing() { # BATCH MODEL...
    local batch="$1" m list=() suffix=""
    shift
    [ "$batch" = 1 ] || suffix="-b$batch"
    for m in "$@"; do [ -f "$MODELS_DIR/$m$suffix.onnx" ] || list+=("$m"); done
    [ ${#list[@]} -gt 0 ] || return 0
    local csv; csv="$(IFS=,; echo "${list[*]}")"
    if [ -f "$ROOT/tools/onnx/export_torchvision.py" ]; then
      log "exporting $csv (batch $batch) to $MODELS_DIR (tools/onnx/export_torchvision.py)"
      "$PYTHON" "$ROOT/tools/onnx/export_torchvision.py" "$MODELS_DIR" --models "$csv" \
        --batch "$batch" --no-folded >&2
    else
      log "exporting $csv (batch $batch) to $MODELS_DIR (bench/export_models.py)"
      "$PYTHON" "$ROOT/bench/export_models.py" "$MODELS_DIR" --models "$csv" --batch "$batch" >&2
    fi
  }
  mapfile -t B1_ALL < <(printf '%s\n' "${MODEL_ARR[@]}" "${PL_ARR[@]}" "${AL_ARR[@]}" | awk 'NF && !s[$0]++')
  [ ${#B1_ALL[@]} -eq 0 ] || export_missing 1 "${B1_ALL[@]}"
  [ ${#B8_ARR[@]} -eq 0 ] || export_missing 8 "${B8_ARR[@]}"

  # 2. ONNX Runtime.
  if [ "$DO_ORT" = 1 ]; then
    command -v "$NODE" >/dev/null || die "node is missing (NODE=$NODE); or --no-ort"
    if [ ! -d "$ROOT/bench/peers/node_modules/onnxruntime-node" ]; then
      log "installing onnxruntime-node into bench/peers (CPU binaries only)"
      (cd "$ROOT/bench/peers" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2)
    fi
    note ort_version "$("$NODE" -p "require('$ROOT/bench/peers/node_modules/onnxruntime-node/package.json').version")" \
         node_version "$("$NODE" --version)"
  fi
  ORT=("$NODE" "$ROOT/bench/peers/ort_bench.js")
  ort() { # OUT.json MODEL.onnx THREADS [more ort_bench.js options]
    local out="$1" model="$2" t="$3"
    shift 3
    [ "$DO_ORT" = 1 ] || return 0
    runp "$out" "${ORT[@]}" "$model" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --json "$@"
  }
  TIMING=(--runs "$RUNS" --warmup "$WARMUP" --json)

  # 3. The peak, before the runs.
  note uptime_before "$(uptime | sed 's/^ *//')"
  log "before: $(uptime)"
  cc -O2 -pthread "$ROOT/bench/peak_check.c" -o "$OUT/bin/peak_check"
  cc -O2 -pthread "$ROOT/bench/bandwidth.c" -o "$OUT/bin/bandwidth"
  for t in $THREADS; do
    runp "$OUT/peak-before-t$t.json" "$DNNC" bench --peak --threads "$t" --json
    runp "$OUT/peak-check-t$t.json" "$OUT/bin/peak_check" "$t" --json
    runp "$OUT/bandwidth-t$t.json" "$OUT/bin/bandwidth" "$t" --json
  done

  # 3b. The int8 models: quantised once, calibrated on the model's own input
  # file (the time does not depend on the calibration data).
  for r in "${ROWS[@]}"; do
    is_int8 "$r" || continue
    log "== quantising $r to int8"
    runp "$OUT/int8/$r-quantize.txt" "$DNNC" quantize "$MODELS_DIR/$r.onnx" --mode int8 \
      --calibrate "$MODELS_DIR/$r.input.npy" -o "$OUT/int8/$r-int8.dnn"
    [ -f "$OUT/int8/$r-int8.safetensors" ] && note "int8_weights_$r" \
      "$(stat -c %s "$OUT/int8/$r-int8.safetensors") bytes in $r-int8.safetensors; $(stat -c %s "$MODELS_DIR/$r.onnx") bytes in $r.onnx (float32)"
  done

  # 3c. The sparse models: the fc layers of each row pruned once, each to the
  # density on its own; the dense model's weight bytes for the streaming floor.
  for r in "${ROWS[@]}"; do
    is_sparse "$r" || continue
    log "== pruning the fc layers of $r to $SPARSE_DENSITY"
    runp "$OUT/sparse/$r-stats.json" "$DNNC" stats "$MODELS_DIR/$r.onnx" --json
    fcs="$("$PYTHON" -c 'import json, sys
print(",".join(l["name"] for l in json.load(open(sys.argv[1]))["layers"] if l["op"] == "fc"))' \
           "$OUT/sparse/$r-stats.json" 2>/dev/null || true)"
    if [ -z "$fcs" ]; then
      FAILS=$((FAILS + 1))
      log "FAILED: no fc layers found in $r (see $OUT/sparse/$r-stats.json)"
      continue
    fi
    runp "$OUT/sparse/$r-prune.txt" "$DNNC" prune "$MODELS_DIR/$r.onnx" --density "$SPARSE_DENSITY" \
      --per-layer --layers "$fcs" -o "$OUT/sparse/$r-sparse.dnn"
    runp "$OUT/sparse/$r-sparse-stats.json" "$DNNC" stats "$OUT/sparse/$r-sparse.dnn" \
      --weights "$OUT/sparse/$r-sparse.safetensors" --target cpu --json
    # The pruned model quantised to int8 as well (Deep Compression's pruning
    # and quantisation together), calibrated on the model's own input file.
    runp "$OUT/sparse/$r-sparse-int8-quantize.txt" "$DNNC" quantize "$OUT/sparse/$r-sparse.dnn" \
      --weights "$OUT/sparse/$r-sparse.safetensors" --mode int8 --calibrate "$MODELS_DIR/$r.input.npy" \
      -o "$OUT/sparse/$r-sparse-int8.dnn"
    runp "$OUT/sparse/$r-sparse-int8-stats.json" "$DNNC" stats "$OUT/sparse/$r-sparse-int8.dnn" \
      --weights "$OUT/sparse/$r-sparse-int8.safetensors" --target cpu --json
    note "sparse_$r" "fc layers $fcs pruned to $SPARSE_DENSITY each"
  done

  # 4. The main table: per model and thread count, --procs rounds of ORT, dnnc, ORT.
  for r in "${ROWS[@]}"; do
    onnx="$MODELS_DIR/$r.onnx"
    for t in $THREADS; do
      log "== $r, $t thread(s)"
      for p in $(seq 1 "$PROCS"); do
        ort "$OUT/main/ort-$r-t$t-p${p}a.json" "$onnx" "$t"
        runp "$OUT/main/dnnc-$r-t$t-p$p.json" "$DNNC" bench "$onnx" --threads "$t" "${TIMING[@]}"
        [ -z "$ALT" ] || runp "$OUT/main/alt-$r-t$t-p$p.json" "$ALT" bench "$onnx" --threads "$t" "${TIMING[@]}"
        ! is_int8 "$r" || runp "$OUT/main/int8-$r-t$t-p$p.json" "$DNNC" bench "$OUT/int8/$r-int8.dnn" \
          --weights "$OUT/int8/$r-int8.safetensors" --threads "$t" "${TIMING[@]}"
        ! is_sparse "$r" || runp "$OUT/main/sparse-$r-t$t-p$p.json" "$DNNC" bench "$OUT/sparse/$r-sparse.dnn" \
          --weights "$OUT/sparse/$r-sparse.safetensors" --threads "$t" --per-layer "${TIMING[@]}"
        ! is_sparse "$r" || runp "$OUT/main/sparseq-$r-t$t-p$p.json" "$DNNC" bench \
          "$OUT/sparse/$r-sparse-int8.dnn" --weights "$OUT/sparse/$r-sparse-int8.safetensors" --threads "$t" \
          --per-layer "${TIMING[@]}"
        ort "$OUT/main/ort-$r-t$t-p${p}b.json" "$onnx" "$t"
        for b in $BLAS_LIST; do
          runp "$OUT/main/torch-$b-$r-t$t-p$p.json" "$PYTHON" "$ROOT/bench/peers/torch_bench.py" \
            "$onnx" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --blas "$b" --json
        done
      done
    done
  done

  # 4b. What compiling each row costs: `dnnc compile` to an object, --procs times, CPU
  # time and peak memory of that process (bench/compile_cost.py), and its weights.
  if [ "$MAIN" = 1 ]; then
    mkdir -p "$OUT/compile"
    for r in "${ROWS[@]}"; do
      log "== compile cost: $r"
      runp "$OUT/compile/$r-stats.json" "$DNNC" stats "$MODELS_DIR/$r.onnx" --json
      mkdir -p "$OUT/compile/$r"
      for p in $(seq 1 "$PROCS"); do
        runp "$OUT/compile/$r-p$p.json" "$PYTHON" "$ROOT/bench/compile_cost.py" run \
          -- "$DNNC" compile "$MODELS_DIR/$r.onnx" -o "$OUT/compile/$r/model"
      done
      rm -rf "$OUT/compile/$r"
    done
  fi

  # 4c. Paired runs: per row and thread count, one process that runs ORT and the
  # row's bundle (bench/peers/dnnc_addon.c around `dnnc compile`'s object) once
  # each per round (bench/peers/paired.js).
  if [ "$PAIRED" != 0 ]; then
    mkdir -p "$OUT/paired"
    for m in "${MODEL_ARR[@]}"; do
      log "== paired: $m"
      dir="$OUT/paired/$m"
      rm -rf "$dir" && mkdir -p "$dir"
      if ! "$DNNC" compile "$MODELS_DIR/$m.onnx" -o "$dir/model" > "$dir/compile.log" 2>&1 ||
         ! cc -O2 -shared -fPIC -I"$dir" -I"$ROOT/runtime" -I/usr/include/node \
              "$ROOT/bench/peers/dnnc_addon.c" "$dir/model.o" "$OUT/bin/libdnnrt.a" \
              -o "$dir/dnnc.node" -lm -lpthread >> "$dir/compile.log" 2>&1; then
        FAILS=$((FAILS + 1))
        log "FAILED: building the paired module of $m -- see $dir/compile.log"
        continue
      fi
      for t in $THREADS; do
        runp "$OUT/paired/$m-t$t.json" "$NODE" "$ROOT/bench/peers/paired.js" "$MODELS_DIR/$m.onnx" \
          "$dir/dnnc.node" "$dir/model.weights" --threads "$t" --rounds "$PAIRED" --warmup "$WARMUP"
      done
      rm -f "$dir/model.weights"
    done
  fi

  # 5. Per layer: ORT with its profiler, dnnc --per-layer, ORT with its profiler.
  for m in "${PL_ARR[@]}"; do
    onnx="$MODELS_DIR/$m.onnx"
    for t in $THREADS; do
      log "== per layer: $m, $t thread(s)"
      for p in $(seq 1 "$PROCS"); do
        ort "$OUT/layers/ort-$m-t$t-p${p}a.json" "$onnx" "$t" --profile
        runp "$OUT/layers/dnnc-$m-t$t-p$p.json" "$DNNC" bench "$onnx" --threads "$t" --per-layer "${TIMING[@]}"
        ort "$OUT/layers/ort-$m-t$t-p${p}b.json" "$onnx" "$t" --profile
      done
    done
  done

  # 6. Fast convolution: one network per algorithm (bench/algos.py), each round ORT,
  # every variant, ORT; then ORT, the fastest algorithm of each layer, ORT.
  for m in "${AL_ARR[@]}"; do
    onnx="$MODELS_DIR/$m.onnx"
    log "== algorithms: $m (import and variants)"
    if ! plan="$("$PYTHON" "$ROOT/bench/algos.py" prepare --dnnc "$DNNC" --onnx "$onnx" \
                 --work "$OUT/algos" --variants "$ALGO_VARIANTS")"; then
      FAILS=$((FAILS + 1))
      log "FAILED: bench/algos.py prepare for $m"
      continue
    fi
    mapfile -t VARIANTS < <(printf '%s\n' "$plan" | awk -F'\t' 'NF == 2')
    weights="$OUT/algos/$m.safetensors"
    for t in $THREADS; do
      log "== algorithms: $m, $t thread(s): ${#VARIANTS[@]} variants"
      for p in $(seq 1 "$PROCS"); do
        ort "$OUT/algos/ort-$m-t$t-p${p}a.json" "$onnx" "$t"
        for vf in "${VARIANTS[@]}"; do
          v="${vf%%$'\t'*}"
          f="${vf#*$'\t'}"
          runp "$OUT/algos/dnnc-$m-$v-t$t-p$p.json" "$DNNC" bench "$f" --weights "$weights" \
            --threads "$t" --per-layer "${TIMING[@]}"
        done
        ort "$OUT/algos/ort-$m-t$t-p${p}b.json" "$onnx" "$t"
      done
      if best="$("$PYTHON" "$ROOT/bench/algos.py" best --dnnc "$DNNC" --work "$OUT/algos" \
                 --model "$m" --threads "$t" --procs "$PROCS")"; then
        for p in $(seq 1 "$PROCS"); do
          ort "$OUT/algos/ort-$m-t$t-best-p${p}a.json" "$onnx" "$t"
          runp "$OUT/algos/dnnc-$m-best-t$t-p$p.json" "$DNNC" bench "$best" --weights "$weights" \
            --threads "$t" --per-layer "${TIMING[@]}"
          ort "$OUT/algos/ort-$m-t$t-best-p${p}b.json" "$onnx" "$t"
        done
      else
        FAILS=$((FAILS + 1))
        log "FAILED: bench/algos.py best for $m at $t thread(s)"
      fi
    done
  done

  # 7. The peak again, after the runs.
  for t in $THREADS; do
    runp "$OUT/peak-after-t$t.json" "$DNNC" bench --peak --threads "$t" --json
  done
  note uptime_after "$(uptime | sed 's/^ *//')"
  log "after: $(uptime)"
else
  DNNC="$OUT/bin/dnnc"
  [ -x "$DNNC" ] || DNNC="${DNNC_GIVEN:-$BUILD_DIR/dnnc}"
fi

# 8. The tables.
: > "$OUT/report.md"
if [ "$MAIN" = 1 ]; then
  "$PYTHON" "$ROOT/bench/table.py" "$OUT" --rows "$ROWS_CSV" --threads "$THREADS" \
    --procs "$PROCS" ${ALT:+--alt} --int8 "$INT8" --sparse "$SPARSE" --torch-blas "$BLAS_LIST" > "$OUT/table.md"
  "$PYTHON" "$ROOT/bench/compile_cost.py" table "$OUT" --rows "$ROWS_CSV" --procs "$PROCS" > "$OUT/compile.md"
  cat "$OUT/table.md" >> "$OUT/report.md"
  echo >> "$OUT/report.md"
  cat "$OUT/compile.md" >> "$OUT/report.md"
fi
if [ "$PAIRED" != 0 ]; then
  [ ! -s "$OUT/report.md" ] || echo >> "$OUT/report.md"
  "$PYTHON" "$ROOT/bench/paired.py" "$OUT" --rows "$(IFS=,; echo "${MODEL_ARR[*]}")" --threads "$THREADS" \
    > "$OUT/paired.md" || true
  cat "$OUT/paired.md" >> "$OUT/report.md"
fi
if [ "$PER_LAYER" = 1 ]; then
  [ ! -s "$OUT/report.md" ] || echo >> "$OUT/report.md"
  "$PYTHON" "$ROOT/bench/layers.py" "$OUT" --models "$PER_LAYER_MODELS" --threads "$THREADS" \
    --procs "$PROCS" --top "$TOP" --dnnc "$DNNC" > "$OUT/layers.md"
  cat "$OUT/layers.md" >> "$OUT/report.md"
fi
if [ "$ALGOS" = 1 ]; then
  [ ! -s "$OUT/report.md" ] || echo >> "$OUT/report.md"
  "$PYTHON" "$ROOT/bench/algos.py" table "$OUT" --models "$ALGO_MODELS" --threads "$THREADS" \
    --procs "$PROCS" > "$OUT/algos.md"
  cat "$OUT/algos.md" >> "$OUT/report.md"
fi
cat "$OUT/report.md"
if [ "$FAILS" -gt 0 ]; then
  log "$FAILS run(s) failed; their cells are '–' or 'fail' (the .err files beside the JSON say why)"
  exit 1
fi
