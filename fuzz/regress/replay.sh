#!/usr/bin/env bash
# Replays every committed fuzz input once through its target: fuzz/corpus/<target>/* (must
# pass: they are the seeds) and fuzz/crashes/<target>/* (regression cases: each must pass
# once its bug is fixed). libFuzzer executables run the files given as arguments once each.
#
# Usage: fuzz/regress/replay.sh BUILD_DIR [TARGET...]     (scripts/fuzz.sh --replay calls it)
# Exit status: 0 when every file ran clean, 1 otherwise (the failing files are listed).
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:?usage: fuzz/regress/replay.sh BUILD_DIR [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in fuzz/fuzz_*.cpp; do t=$(basename "$src" .cpp); targets+=("${t#fuzz_}"); done
fi

OPTS=(-rss_limit_mb=2048 -timeout=10)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
LOG_DIR="$BUILD_DIR/fuzz-work/replay"
mkdir -p "$LOG_DIR"
export TMPDIR
TMPDIR=$(mktemp -d "$LOG_DIR/tmp.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT

failed=()
for t in "${targets[@]}"; do
  exe="$BUILD_DIR/fuzz/fuzz_$t"
  if [ ! -x "$exe" ]; then
    echo "replay: $exe not built" >&2
    failed+=("$t (not built)")
    continue
  fi
  corpus=()
  [ -d "fuzz/corpus/$t" ] && while IFS= read -r -d '' f; do corpus+=("$f"); done < <(find "fuzz/corpus/$t" -type f -print0 | sort -z)
  crashes=()
  [ -d "fuzz/crashes/$t" ] && while IFS= read -r -d '' f; do crashes+=("$f"); done < <(find "fuzz/crashes/$t" -type f ! -name '*.md' ! -name '*.txt.note' -print0 | sort -z)
  ok=0 bad=0
  # The corpus in one process (fast); on a failure, file by file to name the culprits.
  if [ ${#corpus[@]} -gt 0 ]; then
    if "$exe" "${OPTS[@]}" "${corpus[@]}" >"$LOG_DIR/$t-corpus.log" 2>&1; then
      ok=$((ok + ${#corpus[@]}))
    else
      crashes=("${corpus[@]}" "${crashes[@]}")
    fi
  fi
  # Regression cases one process each: a crash ends the process, and each should be named.
  for f in "${crashes[@]}"; do
    log="$LOG_DIR/$t-$(basename "$f").log"
    if "$exe" "${OPTS[@]}" "$f" >"$log" 2>&1; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
      why=$(grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error:|ALARM|out-of-memory' "$log" | sed 's/^[= 0-9]*//' | cut -c1-150)
      failed+=("$f: ${why:-exit status != 0} (log: $log)")
    fi
  done
  printf 'replay %-15s %4d ok, %d failing\n' "$t" "$ok" "$bad"
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'replay: FAILED\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "replay: all inputs ran clean"
