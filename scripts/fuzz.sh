#!/usr/bin/env bash
# libFuzzer campaign for yolo9k's input readers (targets: fuzz/fuzz_*.cpp, see fuzz/README.md).
#
# Usage: bash scripts/fuzz.sh [--seconds N] [--target NAME]... [--merge] [--replay]
#                             [--keep-going] [--shared-seeds] [--no-build]
#   --seconds N     fuzz each target N seconds (default 60)
#   --target NAME   only this target (cfg, network, image, ... or fuzz_cfg); repeatable
#   --merge         after fuzzing (--seconds 0: without), minimise committed corpus + what the
#                   runs found back into fuzz/corpus/<target> (libFuzzer -merge=1)
#   --replay        only replay fuzz/corpus/*/ and fuzz/crashes/*/ through the targets
#   --keep-going    do not stop a target at its first crash/timeout/OOM (libFuzzer -fork=1)
#   --shared-seeds  also seed from ../shared/data (BCCD/raccoon VOC XML, VOC COCO JSON); those
#                   runs are never merged back (../shared must not be copied into the repo)
#   --no-build      use build-fuzz as it is
#   FUZZ_SEED=N     libFuzzer's -seed (CI fixes it, so a red run can be replayed exactly;
#                   unset: a new random seed each run, for longer campaigns)
# Exit status: non-zero when a target found a crash, timeout or OOM (reproducers are copied
# to fuzz/crashes/<target>/), or when a replayed input fails.
#
# One build (build-fuzz: clang-14, ASan + UBSan, coverage for libFuzzer) serves fuzzing and a
# sanitizer run of the unit tests (ctest --test-dir build-fuzz). Fuzzing runs one process at
# a time; JOBS (default 2) sets the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
BUILD_DIR=${YOLO9K_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}

SECONDS_PER_TARGET=60
TARGETS=()
MERGE=0 REPLAY=0 KEEP_GOING=0 SHARED=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) SECONDS_PER_TARGET=${1#*=}; shift ;;
    --target) TARGETS+=("${2:?--target needs a name}"); shift 2 ;;
    --target=*) TARGETS+=("${1#*=}"); shift ;;
    --merge) MERGE=1; shift ;;
    --replay) REPLAY=1; shift ;;
    --keep-going) KEEP_GOING=1; shift ;;
    --shared-seeds) SHARED=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds expects a whole number" >&2; exit 2; }

# Per-target input size bound (bytes): large enough for the seeds, small enough to stay fast.
declare -A MAX_LEN=([cfg]=12288 [network]=8192 [weights]=2048 [checkpoint]=4096
                    [darknet_labels]=2048 [darknet_list]=1024 [data_file]=1024
                    [voc_xml]=8192 [coco_json]=8192 [word_tree]=8192 [image]=16384
                    [calibration]=2048)

ALL=()
for src in fuzz/fuzz_*.cpp; do t=$(basename "$src" .cpp); ALL+=("${t#fuzz_}"); done
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=("${ALL[@]}")
else
  for i in "${!TARGETS[@]}"; do
    TARGETS[$i]=${TARGETS[$i]#fuzz_}
    [ -f "fuzz/fuzz_${TARGETS[$i]}.cpp" ] || { echo "fuzz.sh: no target '${TARGETS[$i]}' (have: ${ALL[*]})" >&2; exit 2; }
  done
fi

# --- toolchain: clang-14 + libFuzzer runtime + libomp (OpenMP for clang), as setup.sh does --
if [ "$BUILD" = 1 ]; then
  source "$ROOT/scripts/lib/packages.sh"
  ensure_packages fuzz.sh clang-14 libclang-rt-14-dev libomp-14-dev cmake ninja-build
  LAUNCHER=()
  if command -v ccache >/dev/null; then
    export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
    LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYOLO9K_FUZZ=ON -DYOLO9K_BUILD_BENCH=OFF -DYOLO9K_DARKNET_ORACLE=OFF -DYOLO9K_PYTHON=OFF \
        -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
        "${LAUNCHER[@]}" >/dev/null
  mkdir -p "$BUILD_DIR/fuzz-work"
  if ! ninja -C "$BUILD_DIR" -j "$JOBS" $(printf 'fuzz/fuzz_%s ' "${TARGETS[@]}") >"$BUILD_DIR/fuzz-work/build.log" 2>&1; then
    tail -n 40 "$BUILD_DIR/fuzz-work/build.log" >&2
    echo "fuzz.sh: build failed (log: $BUILD_DIR/fuzz-work/build.log)" >&2
    exit 1
  fi
fi
echo "fuzz.sh: build ready after $(( $(date +%s) - START ))s"

if [ "$REPLAY" = 1 ]; then
  status=0
  bash fuzz/regress/replay.sh "$BUILD_DIR" "${TARGETS[@]}" || status=$?
  echo "fuzz.sh: total wall time $(( $(date +%s) - START ))s"
  exit $status
fi

# Extra seeds read from ../shared (never committed: its README forbids copying it here).
shared_seeds() {  # $1 target, $2 destination folder
  local data=${YOLO9K_DATA:-$ROOT/../shared/data}
  [ -d "$data" ] || return 0
  mkdir -p "$2"
  case "$1" in
    voc_xml)
      { ls "$data"/bccd/Annotations/*.xml | head -n 20 | xargs -r cp -t "$2"; } 2>/dev/null || true
      { ls "$data"/raccoon/annotations/*.xml | head -n 20 | xargs -r cp -t "$2"; } 2>/dev/null || true ;;
    coco_json)  # a few images of each set with their boxes: the whole files are megabytes
      command -v python3 >/dev/null || return 0
      python3 - "$data/voc-annotations" "$2" <<'EOF' || true
import json, pathlib, sys
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.json")):
    d = json.loads(f.read_text())
    imgs = d["images"][:3]
    ids = {i["id"] for i in imgs}
    out = {"images": imgs, "annotations": [a for a in d["annotations"] if a["image_id"] in ids],
           "categories": d["categories"]}
    (dst / f.name).write_text(json.dumps(out))
EOF
      ;;
  esac
}

# Stack traces for UBSan reports too (ASan prints them anyway).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# What a reproducer trips over: the sanitizer's first line and the first frame in src/,
# without addresses, so that --keep-going keeps one reproducer per bug.
signature() {  # $1 executable, $2 input
  local out
  out=$(TMPDIR="$3" timeout 60 "$1" -rss_limit_mb=2048 -timeout=10 "$2" 2>&1 || true)
  { grep -m1 -oE 'runtime error: [a-z -]+|ERROR: [A-Za-z]+: [a-z-]+|ERROR: libFuzzer: [a-z-]+' <<<"$out" || echo "no report"
    grep -m1 -oE '/src/[^ :]+:[0-9]+' <<<"$out" || echo "no src frame"; } | tr '\n' ' '
}

WORK="$BUILD_DIR/fuzz-work"
SUMMARY=()
FOUND=0
for t in "${TARGETS[@]}"; do
  exe="$BUILD_DIR/fuzz/fuzz_$t"
  max_len=${MAX_LEN[$t]:-4096}
  dir="$WORK/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts" "fuzz/corpus/$t"
  [ "$SECONDS_PER_TARGET" -eq 0 ] && { [ "$MERGE" = 1 ] || continue; }
  if [ "$SECONDS_PER_TARGET" -gt 0 ]; then
    rm -rf "$dir/artifacts" "$dir/tmp" "$dir/shared"
    mkdir -p "$dir/artifacts" "$dir/tmp"
    # The run's corpus: what earlier runs found plus the committed seeds.
    cp -n fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
    extra=()
    if [ "$SHARED" = 1 ]; then
      shared_seeds "$t" "$dir/shared"
      [ -d "$dir/shared" ] && { extra=("$dir/shared"); touch "$dir/used-shared-seeds"; }
    fi
    dict=()
    [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
    mode=()
    [ -n "${FUZZ_SEED:-}" ] && mode+=(-seed="$FUZZ_SEED")
    [ "$KEEP_GOING" = 1 ] && mode+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    echo "fuzz.sh: $t for ${SECONDS_PER_TARGET}s (log: $dir/log.txt)"
    # TMPDIR: the targets' scratch files (a crashed process cannot remove its own).
    TMPDIR="$dir/tmp" "$exe" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
      -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 "${dict[@]}" "${mode[@]}" \
      -artifact_prefix="$dir/artifacts/" "$dir/corpus" "${extra[@]}" >"$dir/log.txt" 2>&1 || true
    rm -rf "$dir/tmp"

    log="$dir/log.txt"
    last=$(grep -E '(^#[0-9]+|^INFO: fuzzed|^#[0-9]+:).*cov:' "$log" | tail -n 1 || true)
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$last")
    execs=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p' <<<"$last")
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
    # Reproducers: crash-*, timeout-*, oom-*, leak-* (slow-unit-* are only slow); with
    # --keep-going one per distinct signature (the first 100 artifacts are looked at).
    found=()
    declare -A seen_sig=()
    mkdir -p "$dir/tmp"
    n=0
    for f in "$dir"/artifacts/{crash,timeout,oom,leak}-*; do
      [ -f "$f" ] || continue
      if [ "$KEEP_GOING" = 1 ]; then
        n=$((n + 1)); [ $n -le 100 ] || break
        sig=$(signature "$exe" "$f" "$dir/tmp")
        [ -z "${seen_sig[$sig]:-}" ] || continue
        seen_sig[$sig]=1
        echo "    $(basename "$f"): $sig"
      fi
      mkdir -p "fuzz/crashes/$t"
      cp "$f" "fuzz/crashes/$t/"
      found+=("fuzz/crashes/$t/$(basename "$f")")
    done
    unset seen_sig
    rm -rf "$dir/tmp"
    if [ ${#found[@]} -eq 0 ] && grep -qE '^==[0-9]+==ERROR|^SUMMARY: |runtime error:' "$log"; then
      found+=("(a report in $log without a saved input)")
    fi
    [ ${#found[@]} -gt 0 ] && FOUND=1
    line=$(printf '%-15s %4ss  execs/s %-6s cov %-6s ft %-6s corpus %-5s runs %-9s crashes %d' \
           "$t" "$SECONDS_PER_TARGET" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${runs:-?}" "${#found[@]}")
    [ ${#found[@]} -gt 0 ] && line+="  ${found[*]}"
    SUMMARY+=("$line")
    echo "$line"
    if [ ${#found[@]} -gt 0 ]; then
      grep -m1 -A12 -E '^==[0-9]+==ERROR|runtime error:|ALARM|out-of-memory' "$log" | sed 's/^/    /' | head -n 14 || true
    fi
  fi

  if [ "$MERGE" = 1 ]; then
    if [ -f "$dir/used-shared-seeds" ]; then
      echo "fuzz.sh: $t: not merging: $dir/corpus grew from ../shared seeds (delete $dir to start clean)" >&2
      continue
    fi
    merged="$dir/merged"
    rm -rf "$merged" && mkdir -p "$merged" "$dir/tmp"
    # Committed seeds first, so an equivalent seed keeps its descriptive name.
    TMPDIR="$dir/tmp" "$exe" -merge=1 -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
      "$merged" "fuzz/corpus/$t" "$dir/corpus" >"$dir/merge.log" 2>&1 \
      || { echo "fuzz.sh: $t: merge failed (see $dir/merge.log)" >&2; FOUND=1; continue; }
    rm -rf "$dir/tmp"
    declare -A named=()
    for f in fuzz/corpus/"$t"/*; do [ -f "$f" ] && named[$(sha1sum "$f" | cut -c1-40)]=$(basename "$f"); done
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    find "fuzz/corpus/$t" -type f -delete
    for f in "$merged"/*; do
      [ -f "$f" ] || continue
      h=$(basename "$f")
      cp "$f" "fuzz/corpus/$t/${named[$h]:-$h}"
    done
    unset named
    after=$(find "fuzz/corpus/$t" -type f | wc -l)
    echo "fuzz.sh: merged $t: $before -> $after files, $(du -sk "fuzz/corpus/$t" | cut -f1) KiB"
  fi
done

if [ ${#SUMMARY[@]} -gt 0 ]; then
  echo
  echo "fuzz.sh: summary (target, seconds, execs/s, cov, ft, corpus, runs, crashes)"
  printf '  %s\n' "${SUMMARY[@]}"
fi
echo "fuzz.sh: total wall time $(( $(date +%s) - START ))s"
if [ "$FOUND" = 1 ]; then
  echo "fuzz.sh: FAILED: reproducers are in fuzz/crashes/ (see fuzz/README.md to turn them into regression cases)" >&2
  exit 1
fi
