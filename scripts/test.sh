#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite with CTest.
# TINYPTQ_SHARED points at the shared data (default: ../shared beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
export TINYPTQ_SHARED=${TINYPTQ_SHARED:-$(cd .. && pwd)/shared}
cd build
ctest --output-on-failure -j2 --timeout 1200
