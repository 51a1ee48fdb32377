#!/usr/bin/env bash
# Load test of `yolo9k serve` on loopback with wrk (Debian): yolov2-tiny-voc (random weights:
# speed does not depend on them) answering dog.jpg at concurrency 1, 4 and 16, with dynamic
# batching on (--max-batch 8) and off (--max-batch 1). Prints requests/s, p50/p99 latency,
# non-2xx and socket errors, and the server's RSS before and after, then `yolo9k bench`'s
# batched forward rate for the same model as the ceiling.
# Usage: scripts/serve_load.sh [SECONDS per run, default 20] [CONCURRENCIES, default "1 4 16"]
# Environment:
#   BATCHING="8 1"   the --max-batch values to run (8: batching on, 1: off)
#   STRICT=1         exit 1 if any run has a non-2xx reply, socket errors on more than 1% of its
#                    requests, or RSS growth over RSS_SLACK_MB (default 64). About one 3 s run in
#                    nine at concurrency 16 sees a single read error (a connection reset, not yet
#                    explained; not httplib's 5-requests-per-connection limit, which was tried).
#   CEILING=0        skip the `yolo9k bench` ceiling at the end
# Each configuration first gets a warm-up run (2 s), not reported, so RSS0 is the warm server's.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
CONCURRENCY=${2:-"1 4 16"}
BATCHING=${BATCHING:-"8 1"}
STRICT=${STRICT:-0}
RSS_SLACK_MB=${RSS_SLACK_MB:-64}
CEILING=${CEILING:-1}
FAILED=0
Y=${YOLO9K:-build/yolo9k}
CFG=/usr/share/darknet/cfg/yolov2-tiny-voc.cfg
IMAGE=/usr/share/darknet/data/dog.jpg
if [ "$STRICT" = 1 ] && ! command -v wrk >/dev/null; then
  # As a test, never install (apt may prompt): skip, except in CI, where setup installed wrk.
  echo "serve_load: wrk is not installed (scripts/setup.sh installs it)" >&2
  [ "${CI:-}" = true ] && exit 1 || exit 77
fi
source scripts/lib/packages.sh
ensure_packages serve_load wrk >&2
WORK=$(mktemp -d)
SERVER=0
cleanup() { [ "$SERVER" = 0 ] || kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$Y" init-weights --cfg "$CFG" --out "$WORK/tiny.weights" --seed 1 >/dev/null
cat > "$WORK/post.lua" <<EOF
wrk.method = "POST"
local f = io.open("$IMAGE", "rb")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
EOF
# wrk runs for a time, not a count (a Lua stop at N replies leaves it idle until the end):
# the table gives the count each run reached.
run_wrk() {  # concurrency seconds output
  wrk -t "$(( $1 < 2 ? 1 : 2 ))" -c "$1" -d "${2}s" --timeout 30s --latency -s "$WORK/post.lua" \
      "http://127.0.0.1:$port/v1/detect" > "$3"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

printf "%-9s %-11s %8s %10s %9s %9s %8s %9s %9s\n" batching concurrency requests "req/s" "p50 ms" "p99 ms" errors "RSS0 MB" "RSS1 MB"
for max_batch in $BATCHING; do
  "$Y" serve --cfg "$CFG" --weights "$WORK/tiny.weights" --port 0 --max-batch "$max_batch" --batch-wait-ms 5 \
      --max-queue 1024 > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do grep -q "ready" "$WORK/serve.log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
  [ -n "$port" ] || { cat "$WORK/serve.log"; exit 1; }
  for c in $CONCURRENCY; do
    run_wrk "$c" 2 "$WORK/warmup.txt"
    before=$(rss_kib "$SERVER")
    run_wrk "$c" "$SECONDS_PER_RUN" "$WORK/wrk.txt"
    after=$(rss_kib "$SERVER")
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    # wrk prints latencies with units (us, ms, s): in ms.
    ms() { awk -v k="$1" '$1 == k {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.1f", v}' "$WORK/wrk.txt"; }
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt"); non2xx=${non2xx:-0}
    sockerr=$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' "$WORK/wrk.txt"); sockerr=${sockerr:-0}
    errors=$(( non2xx + sockerr ))
    printf "%-9s %-11s %8s %10s %9s %9s %8s %9.1f %9.1f\n" "$([ "$max_batch" = 1 ] && echo off || echo "on ($max_batch)")" "$c" \
        "$requests" "$rps" "$(ms 50%)" "$(ms 99%)" "$errors" "$(awk -v k="$before" 'BEGIN {print k / 1024}')" "$(awk -v k="$after" 'BEGIN {print k / 1024}')"
    if [ "$STRICT" = 1 ]; then
      [ "$non2xx" = 0 ] || { echo "serve_load: $non2xx non-2xx replies (expected 0)" >&2; cat "$WORK/wrk.txt" >&2; FAILED=1; }
      [ "$(( sockerr * 100 ))" -le "${requests:-0}" ] || { echo "serve_load: $sockerr socket errors in ${requests:-0} requests (over 1%)" >&2; cat "$WORK/wrk.txt" >&2; FAILED=1; }
      [ "$(( (after - before) / 1024 ))" -le "$RSS_SLACK_MB" ] || { echo "serve_load: RSS grew by more than $RSS_SLACK_MB MB" >&2; FAILED=1; }
      [ "${requests:-0}" -gt 0 ] || { echo "serve_load: no request was answered" >&2; FAILED=1; }
    fi
  done
  kill -TERM "$SERVER"
  wait "$SERVER" || { echo "serve_load: the server did not exit 0 on SIGTERM" >&2; exit 1; }
  SERVER=0
done
[ "$FAILED" = 0 ] || exit 1
[ "$CEILING" = 1 ] || exit 0
echo
echo "ceiling: yolo9k bench, forward only (same cores, no HTTP, no JPEG decode):"
"$Y" bench --cfg "$CFG" --baselines none --batch 1,8 --iterations 10 2>/dev/null | grep -E "^yolov2|^  yolo9k " || true
