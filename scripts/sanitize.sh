#!/usr/bin/env bash
# Builds tinyptq with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, RelWithDebInfo) in BUILD_DIR and
# runs the test suite there. Any sanitizer report fails the run: UBSan halts on the first error, ASan
# aborts on memory errors and at exit on leaks.
# Usage: scripts/sanitize.sh [BUILD_DIR]   (default: build-asan)
# Tests labelled `heavy` (real-data runs too slow under ASan; see docs/hardening.md) are skipped here;
# TINYPTQ_SANITIZE_ALL=1 runs them too. TINYPTQ_SHARED points at the shared data (default: ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-asan}
JOBS=${TINYPTQ_JOBS:-2}

start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -DTINYPTQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
built=$(date +%s)

export TINYPTQ_SHARED=${TINYPTQ_SHARED:-$(cd .. && pwd)/shared}
export ASAN_OPTIONS=detect_leaks=1
# libhdf5 1.10 leaks small blocks on error paths for damaged files (hostile-input tests); nothing else is
# suppressed.
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
label_args=(-LE heavy)
[ "${TINYPTQ_SANITIZE_ALL:-0}" = 1 ] && label_args=()
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" --timeout 1800 "${label_args[@]}"
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s" >&2
