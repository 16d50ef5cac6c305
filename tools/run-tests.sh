#!/bin/bash
# The whole test suite, as CI runs it:
#  1. gcc build with -Werror, every cmocka test under ctest;
#  2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer, the same tests;
#  3. clang libFuzzer build, each fuzz target for a bounded time.
# Ends with one line "summary: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."

JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
passed=0 failed=0 skipped=0

# Adds the counts of one ctest run (its output in $1) to the totals.
count_ctest() {
  local log=$1 line total fails skips
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "run-tests: ctest printed no summary" >&2
    failed=$((failed + 1))
    return
  fi
  fails=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  skips=$(grep -c -- '\*\*\*Skipped\|Not Run' "$log" || true)
  passed=$((passed + total - fails - skips))
  failed=$((failed + fails))
  skipped=$((skipped + skips))
}

run_suite() {
  local name=$1 dir=$2; shift 2
  echo "=== $name ==="
  if ! cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; echo "run-tests: $name: configure failed"; failed=$((failed + 1)); return
  fi
  if ! cmake --build "$dir" -j "$JOBS"; then
    echo "run-tests: $name: build failed"; failed=$((failed + 1)); return
  fi
  (cd "$dir" && ctest --output-on-failure -j "$JOBS") 2>&1 | tee "$dir.ctest.log"
  count_ctest "$dir.ctest.log"
}

# Seed inputs for each fuzz target: real files of its format from the tree.
seeds_for() {
  case $1 in
    fuzz_parser) ls examples/*.dnn ;;
    fuzz_passes) ls examples/*.dnn tests/passes/*.dnn ;;
    fuzz_npy) ls tests/golden/*/*.npy 2>/dev/null | head -20 ;;
    fuzz_safetensors) ls tests/golden/*/*.safetensors 2>/dev/null | head -20 ;;
    fuzz_idx) ls tests/data/*.idx 2>/dev/null ;;
    fuzz_arch) ls targets/spatial/arch/*.arch ;;
    fuzz_onnx)
      # A few in-scope ONNX backend tests. Every one is called model.onnx,
      # so they are copied under distinct names first.
      local data=/usr/share/libonnx-testdata/data dest=build-fuzz/onnx-seeds t
      [ -d "$data" ] || return 0
      mkdir -p "$dest"
      for t in node/test_relu node/test_conv_with_strides_padding node/test_gemm_all_attributes \
               node/test_maxpool_2d_precomputed_same_upper node/test_split_variable_parts_2d \
               node/test_constant_pad node/test_qlinearconv node/test_batchnorm_example \
               node/test_dropout_default node/test_clip_splitbounds \
               pytorch-converted/test_Conv2d pytorch-converted/test_Linear \
               pytorch-converted/test_BatchNorm2d_eval pytorch-converted/test_PReLU_1d \
               pytorch-converted/test_AvgPool1d pytorch-converted/test_PixelShuffle \
               pytorch-operator/test_operator_addmm; do
        [ -f "$data/$t/model.onnx" ] && cp "$data/$t/model.onnx" "$dest/${t//\//_}.onnx"
      done
      ls "$dest"/*.onnx 2>/dev/null ;;
  esac
}

run_fuzzers() {
  local dir=build-fuzz
  echo "=== libFuzzer, ${FUZZ_SECONDS}s per target ==="
  if ! CC=clang cmake -S . -B "$dir" -G Ninja -DDNNC_FUZZ=ON -DDNNC_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir.configure.log" 2>&1 ||
     ! cmake --build "$dir" -j "$JOBS"; then
    cat "$dir.configure.log"; echo "run-tests: fuzz build failed"; failed=$((failed + 1)); return
  fi
  for target in "$dir"/tests/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    local name corpus
    name=$(basename "$target")
    corpus=$(mktemp -d)
    for seed in $(seeds_for "$name"); do cp "$seed" "$corpus/"; done
    if "$target" "$corpus" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=0 >"$dir/$name.log" 2>&1; then
      echo "$name: no findings in ${FUZZ_SECONDS}s ($(grep -c . "$dir/$name.log") log lines)"
      passed=$((passed + 1))
    else
      tail -40 "$dir/$name.log"
      echo "$name: FAILED (see $dir/$name.log; the crashing input is in the working directory)"
      failed=$((failed + 1))
    fi
    rm -rf "$corpus"
  done
}

run_suite "gcc, -Werror" build -DCMAKE_C_COMPILER=gcc
CC=clang run_suite "clang, ASan + UBSan" build-asan -DCMAKE_C_COMPILER=clang -DDNNC_SANITIZE=ON
run_fuzzers

# optional.txt (ConvTranspose, 3-D conv and pooling, ...) is reported, not
# required: see tests/onnx-conformance/README.md.
echo "=== ONNX conformance, optional tests (reported, not required) ==="
build/onnx-conformance --list tests/onnx-conformance/optional.txt | sed 's/^\([0-9]\)/optional: \1/'

echo "summary: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
