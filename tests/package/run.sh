#!/usr/bin/env bash
# The installed-package test (ctest: PackageInstall.TrainsAndDetects): installs this build
# into a scratch prefix, builds tests/package against it with find_package(yolo9k), draws
# a small synthetic dataset with the installed tool, and runs the program.
# Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$src/tests/package" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/build" > /dev/null
# Only the installed libraries: nothing from the build tree on the loader path.
"$work/prefix/bin/yolo9k" dataset synth --out "$work/synth" --images 60 --valid-fraction .2 \
    --test-fraction 0 --seed 3 --quiet
image=$(ls "$work/synth/JPEGImages" | head -1)
"$work/build/train_and_detect" "$src/cfg/synth-yolov2-tiny.cfg" "$work/synth" "$work/synth/synth.names" \
    "$work/backup" "$work/synth/JPEGImages/$image"
