#!/usr/bin/env bash
# Builds tinyptq with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, RelWithDebInfo) in BUILD_DIR and
# runs the whole test suite there — every test, including the real-data ones. Any sanitizer report fails
# the run: UBSan halts on the first error, ASan aborts on memory errors and at exit on leaks.
# Usage: scripts/sanitize.sh [BUILD_DIR]   (default: build-asan)
# Env: TINYPTQ_SHARED (default ../shared), TINYPTQ_JOBS (2). ccache is used when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-asan}
JOBS=${TINYPTQ_JOBS:-2}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -DTINYPTQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
built=$(date +%s)

export TINYPTQ_SHARED=${TINYPTQ_SHARED:-$(cd .. && pwd)/shared}
export ASAN_OPTIONS=detect_leaks=1
# libhdf5 1.10 leaks small blocks on error paths for damaged files (hostile-input tests); nothing else is
# suppressed.
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" --timeout 2400
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s" >&2
