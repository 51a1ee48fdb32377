#!/usr/bin/env bash
# Reduced precision against f32 on a trained detector: calibrates int8 on one split (default
# trainval; both calibration methods), then evaluates f32, bf16 and int8 on another (default
# test) and prints mAP@.5 (all-point and VOC07) and COCO mAP for each, with the share of f32's
# detections each one reproduces (scripts/precision_agreement.py: same class, IoU > .9, boxes
# at --thresh .25). A precision this CPU lacks is reported as skipped, with the reason.
#
#   scripts/precision_accuracy.sh CFG WEIGHTS VOC_DIR NAMES [OUT]
#
# e.g. after scripts/train_bccd.sh:
#   scripts/precision_accuracy.sh runs/bccd/tiny-bccd.cfg runs/bccd/backup/tiny-bccd_final.weights \
#       ../shared/data/bccd runs/bccd/bccd.names
# REPORT_ONLY=1 prints the table again from OUT's files without running anything.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
CFG=$1 WEIGHTS=$2 DATA=$3 NAMES=$4 OUT=${5:-runs/precision}
CAL_SPLIT=${CAL_SPLIT:-trainval}
TEST_SPLIT=${TEST_SPLIT:-test}
Y=${YOLO9K:-./build/yolo9k}
mkdir -p "$OUT"
# A split's images as a list file (VOC layout: ImageSets/Main/<split>.txt names JPEGImages/<id>.jpg).
image_list() { sed "s|^\(.*\)$|$(cd "$DATA" && pwd)/JPEGImages/\1.jpg|" "$DATA/ImageSets/Main/$1.txt" > "$OUT/$1.list"; }
image_list "$CAL_SPLIT"
image_list "$TEST_SPLIT"
for method in $([ -n "${REPORT_ONLY:-}" ] || echo percentile minmax); do
    "$Y" calibrate --cfg "$CFG" --weights "$WEIGHTS" --images "$OUT/$CAL_SPLIT.list" --count 200 --method "$method" \
        --out "$OUT/int8-$method.calib" -q
done
runs=("f32 f32" "bf16 bf16" "int8-percentile int8" "int8-minmax int8")
for r in "${runs[@]}"; do
    [ -n "${REPORT_ONLY:-}" ] && break
    set -- $r
    name=$1 precision=$2
    extra=()
    [ "$precision" = int8 ] && extra=(--calibration "$OUT/$name.calib")
    start=$(date +%s%N)
    if ! "$Y" eval --dataset "$DATA" --split "$TEST_SPLIT" --names "$NAMES" --cfg "$CFG" --weights "$WEIGHTS" \
        --precision "$precision" "${extra[@]}" --json "$OUT/$name.metrics.json" > "$OUT/$name.eval.log" 2>&1; then
        echo "$name: skipped: $(tail -1 "$OUT/$name.eval.log")"
        continue
    fi
    echo $(( ($(date +%s%N) - start) / 1000000 )) > "$OUT/$name.milliseconds"
    "$Y" detect --cfg "$CFG" --weights "$WEIGHTS" --names "$NAMES" --thresh .25 --precision "$precision" "${extra[@]}" \
        --json "$OUT/$name.detections.json" -q "$OUT/$TEST_SPLIT.list"
done
python3 - "$OUT" <<'PY'
import json, os, subprocess, sys
out = sys.argv[1]
print("| precision | mAP@.5 | mAP@.5 VOC07 | COCO mAP | f32 detections reproduced (IoU > .9) | eval seconds |")
print("| --- | --- | --- | --- | --- | --- |")
base = None
for name in ["f32", "bf16", "int8-percentile", "int8-minmax"]:
    path = os.path.join(out, name + ".metrics.json")
    if not os.path.exists(path):
        print(f"| {name} | skipped | | | | |")
        continue
    m = json.load(open(path))
    row = [100 * m["map50"], 100 * m["map50_voc07"], 100 * m["map_coco"]]
    if base is None:
        base = row
    delta = lambda i: "" if name == "f32" else f" ({row[i] - base[i]:+.2f})"
    agree = "-"
    if name != "f32":
        said = subprocess.run([sys.executable, "scripts/precision_agreement.py", os.path.join(out, "f32.detections.json"),
                               os.path.join(out, name + ".detections.json")], capture_output=True, text=True,
                              check=True).stdout
        # "N of M reference detections reproduced (P%, ...); K other detection(s) unmatched, ..."
        words = said.split()
        agree = f"{words[0]} of {words[2]} ({said.split('(')[1].split(',')[0]}); {said.split('; ')[1].split()[0]} other boxes"
    ms = int(open(os.path.join(out, name + ".milliseconds")).read())
    print(f"| {name} | {row[0]:.2f}{delta(0)} | {row[1]:.2f}{delta(1)} | {row[2]:.2f}{delta(2)} | {agree} | {ms / 1000:.1f} |")
PY
