#!/usr/bin/env bash
# Builds yolo9k and runs the whole test suite (unit tests, then the darknet/OpenCV oracles).
# Shared real data is read from $YOLO9K_DATA, default ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash scripts/setup.sh "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
