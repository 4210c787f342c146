#!/usr/bin/env bash
# Installs everything tinyptq needs on a fresh Debian 12 machine (idempotent, non-interactive) and
# builds it. Usage: scripts/setup.sh [BUILD_DIR]   (default: build). Set TINYPTQ_SKIP_APT=1 to skip apt.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}

PACKAGES=(build-essential cmake pkg-config libonnx-dev libprotobuf-dev protobuf-compiler libhdf5-dev
  nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libarchive-dev libssl-dev libgtest-dev
  libbenchmark-dev nodejs npm clang libclang-rt-14-dev chromium ccache
  libjpeg62-turbo-dev libpng-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)

if [ "${TINYPTQ_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # node/npm may come from outside Debian (e.g. a preinstalled Node.js); accept them if present.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
  fi
  read -r -a missing <<<"${missing[*]}"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# ONNX Runtime (the oracle and the speed baseline) from npm, without its download script.
bash scripts/install_ort.sh

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
