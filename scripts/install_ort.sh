#!/usr/bin/env bash
# Installs onnxruntime-node (pinned in tools/ort/package.json) into tools/ort/node_modules and checks that
# it loads. Idempotent: does nothing when the package is already there and loads. --ignore-scripts skips
# the package's post-install download step; its CPU library ships inside the npm package itself.
set -euo pipefail
cd "$(dirname "$0")/../tools/ort"

command -v node >/dev/null || { echo "install_ort: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install_ort: npm is not installed (apt-get install npm)" >&2; exit 1; }

if [ ! -d node_modules/onnxruntime-node ]; then
  echo "install_ort: installing onnxruntime-node into tools/ort/node_modules" >&2
  # --prefer-offline: a CI machine reinstalls from npm's cache (~/.npm) without the network.
  npm install --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
fi

ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/*.node >/dev/null 2>&1 ||
  { echo "install_ort: the CPU binding (bin/napi-v*/linux/x64) is missing from onnxruntime-node" >&2; exit 1; }
node -e "require('onnxruntime-node')" ||
  { echo "install_ort: require('onnxruntime-node') failed; remove tools/ort/node_modules and retry" >&2; exit 1; }
echo "install_ort: onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version") ready" >&2
