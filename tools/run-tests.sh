#!/bin/bash
# The whole test suite, as CI runs it:
#  0. the test data must be installed (CI never skips for want of it);
#  1. gcc build with -Werror, every cmocka test under ctest;
#  2. the README's main job (tools/main-job.sh), held to its accuracy;
#  3. clang build with AddressSanitizer + UndefinedBehaviorSanitizer, the same tests;
#  4. clang libFuzzer build, each fuzz target for a bounded time.
# Ends with one line "summary: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."

JOBS=${JOBS:-2}
# 10 s for each of the 12 targets, two at a time (a minute), keeps the
# whole run under the 20-minute budget on 2 cores; longer campaigns:
# FUZZ_SECONDS=600 tools/run-tests.sh, or a target by hand
# (docs/testing.md).
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
ONNX_DATA=/usr/share/libonnx-testdata/data
FASHION_MNIST=/usr/share/datasets/fashion-mnist
MIN_ACCURACY_PERMILLE=895 # 89.5%: the README states 89.52%
passed=0 failed=0 skipped=0

# Time since the start, shown at each stage: CI must stay well under 20 minutes.
elapsed() { echo "$((SECONDS / 60))m$((SECONDS % 60))s"; }
stage() { echo "=== $1 (at $(elapsed)) ==="; }

# ctest skips the conformance suite without its data and the main job cannot
# run without Fashion-MNIST; on a developer's machine that is a skip, in CI a
# failure (tests/onnx-conformance/README.md).
require_test_data() {
  local dir
  for dir in "$ONNX_DATA" "$FASHION_MNIST"; do
    if [ ! -d "$dir" ]; then
      echo "run-tests: FAILED: no test data at $dir (tools/bootstrap.sh installs it)"
      failed=$((failed + 1))
    fi
  done
}

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
  stage "$name"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; echo "run-tests: $name: configure failed"; failed=$((failed + 1)); return
  fi
  if ! cmake --build "$dir" -j "$JOBS"; then
    echo "run-tests: $name: build failed"; failed=$((failed + 1)); return
  fi
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" -LE sweep) 2>&1 | tee "$dir.ctest.log"
  echo "not run here: spatial_sweep (ctest -L sweep in $dir: the simulator against the model" \
       "on every AlexNet and VGG-16 layer under every dataflow, about 3 minutes of CPU)"
  count_ctest "$dir.ctest.log"
}

# The README's main job, run as a user runs it, must still classify the
# 10,000 Fashion-MNIST test images as well as the README says.
run_main_job() {
  local log=build/main-job.log
  stage "the README's main job (tools/main-job.sh)"
  mkdir -p build
  if ! tools/main-job.sh >"$log" 2>&1; then
    tail -40 "$log"
    echo "run-tests: main job: FAILED (see $log)"
    failed=$((failed + 1))
    return
  fi
  cat "$log"
  if check_accuracy "$log"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# classify prints "accuracy: 89.52% (8952 of 10000 Fashion-MNIST test
# images)". The counts decide, in integers; a missing or different line, or
# fewer than all 10,000 images, is a failure, never a pass.
check_accuracy() {
  local line correct total
  line=$(grep -E '^accuracy: ' "$1" | tail -1)
  # Counts without leading zeros (bash would read them as octal), at most
  # nine digits (no overflow in the comparison).
  local count='(0|[1-9][0-9]{0,8})'
  if ! [[ $line =~ ^accuracy:\ [0-9]+\.[0-9]+%\ \($count\ of\ $count\ Fashion-MNIST\ test\ images\)$ ]]; then
    echo "run-tests: main job: FAILED: no accuracy line in its output (got '${line}')"
    return 1
  fi
  correct=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
  if [ "$total" -ne 10000 ] || [ "$correct" -gt "$total" ]; then
    echo "run-tests: main job: FAILED: $correct of $total images, not of the 10000 of the test set"
    return 1
  fi
  if [ $((correct * 1000)) -lt $((total * MIN_ACCURACY_PERMILLE)) ]; then
    echo "run-tests: main job: FAILED: accuracy $correct/$total is below 89.5%"
    return 1
  fi
  echo "main job: accuracy $correct/$total, at least 89.5%"
}

# The files the patterns match, one a line; fails naming a pattern that
# matches none, so a moved seed directory stops CI instead of leaving a
# target to run unseeded.
files() {
  local pattern
  for pattern in "$@"; do
    compgen -G "$pattern" || { echo "run-tests: no file matches $pattern" >&2; return 1; }
  done
}

# Seed inputs for each fuzz target: real files of its format from the tree.
# A target without a rule here gets no seeds, and that fails.
seeds_for() {
  case $1 in
    fuzz_parser) files 'examples/*.dnn' ;;
    # All but the three largest example networks: under the fuzzer's
    # instrumentation select-algo's error measurements take 2-7 s on each
    # (the plain direct sums, some 20 times slower), near the 10 s timeout on a
    # loaded host and the target's whole budget before its first mutation.
    # Their kinds of layer are in the other examples and the pass tests.
    fuzz_passes) files 'examples/*.dnn' 'tests/passes/*.dnn' |
                   grep -v -e '/vgg16\.dnn$' -e '/resnet50\.dnn$' -e '/googlenet\.dnn$' ;;
    fuzz_npy) files 'tests/golden/*/*.npy' | head -20 ;;
    fuzz_safetensors) files 'tests/golden/*/*.safetensors' | head -20 ;;
    fuzz_idx) files 'tests/data/*.idx' ;;
    fuzz_arch) files 'targets/spatial/arch/*.arch' ;;
    fuzz_choices) files 'tests/data/autotune/*.choices' ;;
    # Program files and a DRAM image (the target loads both), and assembly.
    fuzz_isa_decode) files 'tests/data/isa/*.isa' 'tests/data/isa/*.dram' ;;
    fuzz_isa_asm) files 'tests/data/isa/*.s' ;;
    fuzz_sim) files 'tests/data/isa/*.s' ;;
    # The weights of the network it binds to, and single layers' weights
    # (other names and shapes).
    fuzz_weights)
      files 'tests/golden/net_mlp/weights.safetensors' 'tests/golden/[!n]*/weights.safetensors' ;;
    fuzz_onnx)
      # A few in-scope ONNX backend tests (the conformance suite needs them too).
      local t
      for t in node/test_relu node/test_conv_with_strides_padding node/test_gemm_all_attributes \
               node/test_maxpool_2d_precomputed_same_upper node/test_split_variable_parts_2d \
               node/test_constant_pad node/test_qlinearconv node/test_batchnorm_example \
               node/test_dropout_default node/test_clip_splitbounds \
               pytorch-converted/test_Conv2d pytorch-converted/test_Linear \
               pytorch-converted/test_BatchNorm2d_eval pytorch-converted/test_PReLU_1d \
               pytorch-converted/test_AvgPool1d pytorch-converted/test_PixelShuffle \
               pytorch-operator/test_operator_addmm; do
        files "$ONNX_DATA/$t/model.onnx" || return 1
      done ;;
    *) echo "run-tests: $1 has no seed rule in seeds_for" >&2 ;;
  esac
}

# One fuzz target for FUZZ_SECONDS; its verdict goes to $2/NAME.verdict,
# first word "ok" or "failed".
fuzz_one() {
  local target=$1 dir=$2 name corpus seeds
  name=$(basename "$target")
  if ! seeds=$(seeds_for "$name") || [ -z "$seeds" ]; then
    echo "failed $name: FAILED: no seeds (a fuzz target never runs unseeded)" >"$dir/$name.verdict"
    return
  fi
  corpus=$(mktemp -d)
  # Named by their whole path: most seeds share a file name (model.onnx,
  # weights.safetensors) and would otherwise overwrite each other.
  for seed in $seeds; do cp "$seed" "$corpus/${seed//\//_}"; done
  if "$target" "$corpus" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=0 >"$dir/$name.log" 2>&1; then
    echo "ok $name: no findings in ${FUZZ_SECONDS}s ($(grep -c . "$dir/$name.log") log lines)" \
      >"$dir/$name.verdict"
  else
    { echo "failed"; tail -40 "$dir/$name.log"
      echo "$name: FAILED (see $dir/$name.log; the crashing input is in the working directory)"
    } >"$dir/$name.verdict"
  fi
  rm -rf "$corpus"
}

# The targets run $JOBS at a time: each is single-threaded and bounded by
# time, so running them side by side keeps their coverage and halves CI's
# wait.
run_fuzzers() {
  local dir=build-fuzz
  stage "libFuzzer, ${FUZZ_SECONDS}s per target, $JOBS at a time"
  if ! CC=clang cmake -S . -B "$dir" -G Ninja -DDNNC_FUZZ=ON -DDNNC_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "${KERNELS_FROM[@]}" >"$dir.configure.log" 2>&1 ||
     ! cmake --build "$dir" -j "$JOBS" --target fuzzers; then
    cat "$dir.configure.log"; echo "run-tests: fuzz build failed"; failed=$((failed + 1)); return
  fi
  rm -f "$dir"/*.verdict
  for target in "$dir"/tests/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    fuzz_one "$target" "$dir" &
  done
  wait
  for verdict in "$dir"/*.verdict; do
    if [ "$(head -c 2 "$verdict")" = "ok" ]; then
      sed 's/^ok //' "$verdict"
      passed=$((passed + 1))
    else
      sed '1s/^failed *//' "$verdict"
      failed=$((failed + 1))
    fi
  done
}

require_test_data
# DNNC_TESTS=ON: the main job configures build without the tests.
run_suite "gcc, -Werror" build -DCMAKE_C_COMPILER=gcc -DDNNC_TESTS=ON
run_main_job
# The kernel library's bitcode is the same in every build of the tree: the
# sanitizer and fuzz builds copy the plain build's (codegen/CMakeLists.txt)
# when it has been built.
KERNELS_FROM=()
if [ "$(compgen -G 'build/codegen/kernels/kernels-*.bc' | wc -l)" -eq 3 ]; then
  KERNELS_FROM=(-DDNNC_KERNEL_BITCODE_FROM="$PWD/build")
fi
CC=clang run_suite "clang, ASan + UBSan" build-asan -DCMAKE_C_COMPILER=clang -DDNNC_SANITIZE=ON \
  "${KERNELS_FROM[@]}"
echo "run in part under the sanitizers (CI time; the gcc suite above runs them whole):" \
     "test_map_survey, test_weight_codes_fashion and test_prune_energy_fashion not at all, test_golden at -O0 and -O3, test_roundtrip's spatial pipeline" \
     "on the smaller examples, onnx_conformance without the object and cpu backends, test_fashion_mnist" \
     "and test_cpu_qgemm on fewer images and kernel libraries, test_cpu_coded each golden case in one weight code"
run_fuzzers

# optional.txt (ConvTranspose, 3-D conv and pooling, ...) is reported, not
# required: see tests/onnx-conformance/README.md.
stage "ONNX conformance, optional tests (reported, not required)"
build/onnx-conformance --list tests/onnx-conformance/optional.txt | sed 's/^\([0-9]\)/optional: \1/'

echo "run-tests: took $(elapsed)"
echo "summary: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
