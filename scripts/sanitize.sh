#!/usr/bin/env bash
# The `unit` and `slow` tests (not the learning runs) under AddressSanitizer +
# UndefinedBehaviorSanitizer, then LeakSanitizer on
# `detect`, `train` (20 steps) and `eval` end to end. Uses the clang build that
# scripts/fuzz.sh makes (build-fuzz: ASan + UBSan, -fno-sanitize-recover=undefined), so one
# build serves both; CI runs this after scripts/test.sh.
# Usage: bash scripts/sanitize.sh [ctest arguments, e.g. -R BadInput]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${YOLO9K_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-$(nproc)}
START=$(date +%s)

bash scripts/fuzz.sh --seconds 0  # toolchain, configure, the sanitized library and fuzz targets
ninja -C "$BUILD_DIR" -j "$JOBS" yolo9k_tests yolo9k_op_tests yolo9k_onnx_tests yolo9k_cli >"$BUILD_DIR/sanitize-build.log" 2>&1 ||
  { tail -n 40 "$BUILD_DIR/sanitize-build.log" >&2; echo "sanitize.sh: build failed" >&2; exit 1; }
echo "sanitize.sh: build ready after $(( $(date +%s) - START ))s"

# Leaks of the libraries we call (OpenCV's and oneDNN's process-lifetime caches, the OpenMP
# runtime) are not ours: suppressed by library, never by our own functions.
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# OpenCV's GStreamer and gphoto2 (camera autodetection over libusb) backends leak from
# modules that no suppression can name; the video tests use FFmpeg, as on a machine
# without those backends.
export OPENCV_VIDEOIO_PRIORITY_GSTREAMER=0 OPENCV_VIDEOIO_PRIORITY_GPHOTO2=0
# PackageInstall builds an uninstrumented program against the installed libraries, which an
# ASan build's cannot serve (the ASan runtime must load first); scripts/test.sh runs it.
# ServeLoad checks RSS growth, which ASan's quarantine (freed memory held back) would swamp;
# the server's requests run under ASan in Server.* and ServeCli.*.
ctest --test-dir "$BUILD_DIR" -L "unit|slow" -LE learning -E "PackageInstall|ServeLoad" -j "$JOBS" --output-on-failure "$@"
echo "sanitize.sh: unit tests clean after $(( $(date +%s) - START ))s"
[ $# -eq 0 ] || exit 0

# End to end on a small synthetic set: a leak reported here fails the script.
Y="$BUILD_DIR/yolo9k"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$Y" dataset synth --out "$WORK/synth" --images 40 --seed 3 --quiet >/dev/null
"$Y" train --dataset "$WORK/synth" --split train --names "$WORK/synth/synth.names" --cfg cfg/synth-yolov2-tiny.cfg --backup "$WORK/backup" \
     --max-batches 20 --batch 8 --subdivisions 1 --no-chart -q >/dev/null
W="$WORK/backup/synth-yolov2-tiny_final.weights"
"$Y" detect --cfg cfg/synth-yolov2-tiny.cfg --weights "$W" --names "$WORK/synth/synth.names" --json "$WORK/d.json" -q \
     "$WORK/synth/JPEGImages" >/dev/null
"$Y" eval --dataset "$WORK/synth" --split test --names "$WORK/synth/synth.names" --cfg cfg/synth-yolov2-tiny.cfg \
     --weights "$W" >/dev/null
echo "sanitize.sh: detect, train and eval leak-free; total $(( $(date +%s) - START ))s"
