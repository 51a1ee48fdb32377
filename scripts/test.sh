#!/usr/bin/env bash
# Builds yolo9k and runs the whole test suite (unit tests, then the darknet/OpenCV oracles).
# Shared real data is read from $YOLO9K_DATA, default ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash scripts/setup.sh "$BUILD_DIR"
# ONNX Runtime for the ONNX export's oracle tests (npm onnxruntime-node, into ~/.cache/yolo9k;
# Debian's nodejs and npm first if there is no node). Without it those tests skip, or fail
# under CI=true.
bash scripts/onnxruntime.sh > /dev/null || echo "test.sh: warning: onnxruntime-node could not be installed" >&2
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
