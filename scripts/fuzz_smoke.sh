#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, see fuzz/CMakeLists.txt) and runs each one for a
# bounded time from generated seeds (plus seeds derived from ../shared when it exists; they stay in the
# build directory). Fails when any target crashes, leaks, times out (>10 s on one input) or runs out of
# memory; the reproducer is kept in BUILD/fuzz-artifacts/<target>/ and the log in BUILD/fuzz-logs/.
# Usage: scripts/fuzz_smoke.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 20 s, all targets)
# Env: TINYPTQ_FUZZ_BUILD (default build-fuzz), TINYPTQ_SHARED (default ../shared), TINYPTQ_JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-20}
[ $# -gt 0 ] && shift
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_onnx fuzz_keras fuzz_keras_config fuzz_cifar fuzz_pickle fuzz_lockfile fuzz_npy fuzz_image fuzz_tensor_pb)
BUILD=${TINYPTQ_FUZZ_BUILD:-build-fuzz}
SHARED=${TINYPTQ_SHARED:-$(cd .. && pwd)/shared}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DTINYPTQ_FUZZ=ON \
  -DTINYPTQ_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$BUILD" --target tinyptq_fuzzers -j"${TINYPTQ_JOBS:-2}"

SEEDS=$BUILD/fuzz-seeds CORPUS=$BUILD/fuzz-corpus ARTIFACTS=$BUILD/fuzz-artifacts LOGS=$BUILD/fuzz-logs
rm -rf "$SEEDS"
shared_arg=()
[ -d "$SHARED" ] && shared_arg=("$SHARED")
ASAN_OPTIONS=detect_leaks=0 "$BUILD/fuzz/tinyptq_fuzz_seeds" "$SEEDS" "${shared_arg[@]}" >/dev/null

dict_for() {
  case $1 in
    fuzz_onnx) echo fuzz/onnx.dict ;;
    fuzz_keras_config) echo fuzz/keras_config.dict ;;
    fuzz_pickle) echo fuzz/pickle.dict ;;
    fuzz_image) echo fuzz/image.dict ;;
  esac
}

failed=()
printf '%-20s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${TARGETS[@]}"; do
  mkdir -p "$CORPUS/$t" "$ARTIFACTS/$t" "$LOGS"
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$ARTIFACTS/$t/")
  dict=$(dict_for "$t")
  [ -n "$dict" ] && args+=(-dict="$dict")
  status=ok
  # An absurd malloc size fails (as glibc's would) instead of aborting: libhdf5 asks for sizes read from
  # the file and handles the failure. Our code would get std::bad_alloc, which still ends the run.
  ASAN_OPTIONS=allocator_may_return_null=1 LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BUILD/fuzz/$t" "${args[@]}" "$CORPUS/$t" "$SEEDS/$t" >"$LOGS/$t.log" 2>&1 || status=CRASH
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' || echo 0)
  printf '%-20s %12s %10s %8s  %s\n' "$t" "$execs" "$rate" "$(ls "$CORPUS/$t" | wc -l)" "$status"
  if [ "$status" != ok ]; then
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|property violated|Test unit written' "$LOGS/$t.log" | head -5 >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz_smoke: crashes in ${failed[*]}; reproducers in $ARTIFACTS, logs in $LOGS" >&2
  exit 1
fi
