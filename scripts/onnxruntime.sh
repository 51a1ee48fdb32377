#!/usr/bin/env bash
# Installs ONNX Runtime for the tests and `yolo9k bench --baselines onnxruntime`: the npm
# package onnxruntime-node (its CPU build bundles libonnxruntime), into a cache outside the
# repository. Installs Debian's nodejs and npm first when there is no node/npm.
# Prints the folder to put in NODE_PATH.   Usage: scripts/onnxruntime.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.31.1
DIR=${YOLO9K_ONNXRUNTIME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yolo9k/onnxruntime-node-$VERSION}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  source scripts/lib/packages.sh
  ensure_packages onnxruntime nodejs npm >&2
fi
if [ ! -f "$DIR/node_modules/onnxruntime-node/package.json" ]; then
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{"private": true}' > "$DIR/package.json"
  # --ignore-scripts: the package's install script only fetches the CUDA/TensorRT providers
  # (from nuget.org, unreachable here); the CPU runtime is inside the npm tarball itself.
  (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "onnxruntime-node@$VERSION" >&2)
fi
node -e "require('$DIR/node_modules/onnxruntime-node')" >&2
echo "$DIR/node_modules"
