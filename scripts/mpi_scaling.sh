#!/usr/bin/env bash
# Data-parallel scaling on this machine (issue 15): yolov2-tiny-voc and yolov2-voc at batch 16,
# 416, multi-scale off, trained for STEPS steps on a generated set (yolo9k dataset synth), as
#   1 process x all cores   against   --ranks 2 (each rank cores/2 threads, shared memory)
# Prints images/s (the median of the steps after the first), the share of the run spent in the
# step's exchange (gradient all-reduce, running statistics, totals) and its seconds per step.
# Usage: scripts/mpi_scaling.sh [STEPS] [build dir]     (default 6 steps, build)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-6}
Y=${2:-build}/yolo9k
source scripts/lib/tiny_cfg.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$Y" dataset synth --out "$WORK/synth" --images 64 --seed 3 --quiet >/dev/null
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
printf '%-16s %-22s %8s %10s %14s %10s\n' cfg run img/s comm_share comm_s/step wait_share
for cfg in yolov2-tiny-voc yolov2-voc; do
  sed -e 's/^batch=.*/batch=16/' -e 's/^subdivisions=.*/subdivisions=2/' -e 's/^classes=.*/classes=5/' \
      -e 's/^random=.*/random=0/' -e "s/^max_batches.*/max_batches=$STEPS/" /usr/share/darknet/cfg/$cfg.cfg > "$WORK/$cfg.cfg"
  set_head_classes "$WORK/$cfg.cfg" 5
  for run in "1 process x $(nproc) threads" "2 ranks x $(( $(nproc) / 2 )) threads"; do
    extra=""; [[ $run == 2* ]] && extra="--ranks 2"
    rm -rf "$WORK/backup"
    out=$("$Y" train --dataset "$WORK/synth" --split train --names "$WORK/synth/synth.names" --cfg "$WORK/$cfg.cfg" \
          --backup "$WORK/backup" --no-chart --checkpoint-every 0 --save-every 0 $extra 2>/dev/null)
    echo "$out" | python3 -c '
import re, statistics, sys
cfg, run = sys.argv[1], sys.argv[2]
text = sys.stdin.read()
rates = [float(x) for x in re.findall(r"^\d+: loss .*?, ([\d.]+) img/s", text, re.M)]
m = re.search(r"(\d+) ranks: ([\d.]+)% of the time exchanging gradients \(([\d.]+) s\), ([\d.]+)% waiting", text)
steps = len(rates)
share, per_step, wait = "-", "-", "-"
if m:
    share, per_step, wait = "%.1f%%" % float(m.group(2)), "%.3f" % (float(m.group(3)) / steps), "%.1f%%" % float(m.group(4))
print("%-16s %-22s %8.2f %10s %14s %10s" % (cfg, run, statistics.median(rates[1:] or rates), share, per_step, wait))
' "$cfg" "$run"
  done
done
