#!/usr/bin/env bash
# Installs what yolo9k needs on Debian 12 (as root, or with sudo) and configures + builds.
# Usage: scripts/setup.sh [build-dir]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}

PACKAGES=(build-essential cmake ninja-build ccache pkg-config
          libdnnl-dev libopencv-dev libcli11-dev nlohmann-json3-dev
          libgtest-dev libgmock-dev libbenchmark-dev darknet
          libpugixml-dev libcurl4-openssl-dev libcpp-httplib-dev
          libonnx-dev libprotobuf-dev
          pybind11-dev python3-dev python3-numpy python3-pytest  # the Python module and its tests
          prometheus-cpp-dev wrk  # yolo9k serve: /metrics, and the load test
          chromium chromium-driver python3-selenium  # the serve page in a real browser (test)
          libopenmpi-dev openmpi-bin  # data-parallel training (mpirun)
          ocl-icd-opencl-dev)  # libdnnl-dev's CMake config requires OpenCL (only a Recommends)
source scripts/lib/packages.sh
ensure_packages setup "${PACKAGES[@]}"

# ccache keeps rebuilds (and CI on the same machine) fast.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}  # clones at other paths share the cache
# YOLO9K_WERROR=ON (CI sets it) turns compiler warnings into errors.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DYOLO9K_WERROR="${YOLO9K_WERROR:-OFF}" \
      -DPython_EXECUTABLE=/usr/bin/python3 >/dev/null  # Debian's, whose numpy the module is built for
ninja -C "$BUILD_DIR"
