#!/usr/bin/env bash
# Load test of `yolo9k serve` on loopback with wrk (Debian): yolov2-tiny-voc (random weights:
# speed does not depend on them) answering dog.jpg at concurrency 1, 4 and 16, with dynamic
# batching on (--max-batch 8) and off (--max-batch 1). Prints requests/s, p50/p99 latency,
# non-2xx and socket errors, and the server's RSS before and after, then `yolo9k bench`'s
# batched forward rate for the same model as the ceiling.
# Usage: scripts/serve_load.sh [SECONDS per run, default 20] [CONCURRENCIES, default "1 4 16"]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
CONCURRENCY=${2:-"1 4 16"}
Y=${YOLO9K:-build/yolo9k}
CFG=/usr/share/darknet/cfg/yolov2-tiny-voc.cfg
IMAGE=/usr/share/darknet/data/dog.jpg
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
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

printf "%-9s %-11s %10s %9s %9s %8s %9s %9s\n" batching concurrency "req/s" "p50 ms" "p99 ms" errors "RSS0 MB" "RSS1 MB"
for max_batch in 8 1; do
  "$Y" serve --cfg "$CFG" --weights "$WORK/tiny.weights" --port 0 --max-batch "$max_batch" --batch-wait-ms 5 \
      --max-queue 1024 > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do grep -q "ready" "$WORK/serve.log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/serve.log")
  [ -n "$port" ] || { cat "$WORK/serve.log"; exit 1; }
  for c in $CONCURRENCY; do
    before=$(rss_kib "$SERVER")
    wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${SECONDS_PER_RUN}s" --timeout 30s --latency -s "$WORK/post.lua" \
        "http://127.0.0.1:$port/v1/detect" > "$WORK/wrk.txt"
    after=$(rss_kib "$SERVER")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    # wrk prints latencies with units (us, ms, s): in ms.
    ms() { awk -v k="$1" '$1 == k {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.1f", v}' "$WORK/wrk.txt"; }
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt"); non2xx=${non2xx:-0}
    sockerr=$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' "$WORK/wrk.txt"); sockerr=${sockerr:-0}
    printf "%-9s %-11s %10s %9s %9s %8s %9.1f %9.1f\n" "$([ "$max_batch" = 1 ] && echo off || echo "on ($max_batch)")" "$c" \
        "$rps" "$(ms 50%)" "$(ms 99%)" "$(( non2xx + sockerr ))" "$(awk -v k="$before" 'BEGIN {print k / 1024}')" "$(awk -v k="$after" 'BEGIN {print k / 1024}')"
  done
  kill -TERM "$SERVER"
  wait "$SERVER" || { echo "serve_load: the server did not exit 0 on SIGTERM" >&2; exit 1; }
  SERVER=0
done
echo
echo "ceiling: yolo9k bench, forward only (same cores, no HTTP, no JPEG decode):"
"$Y" bench --cfg "$CFG" --baselines none --batch 1,8 --iterations 10 2>/dev/null | grep -E "^yolov2|^  yolo9k " || true
