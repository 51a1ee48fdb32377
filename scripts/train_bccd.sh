#!/usr/bin/env bash
# The README's real training run: darknet's yolov2-tiny-voc.cfg turned into a 3-class BCCD
# detector (anchors from `yolo9k anchors`), trained from scratch with multi-scale, then
# evaluated on BCCD `test`. About 75 minutes on 2 cores. Output in ${OUT:-runs/bccd}.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${YOLO9K_DATA:-../shared/data}/bccd
OUT=${OUT:-runs/bccd}
[ -d "$DATA/Annotations" ] || { echo "BCCD not found at $DATA (set YOLO9K_DATA)" >&2; exit 1; }
bash scripts/setup.sh build >/dev/null
mkdir -p "$OUT"
printf "RBC\nWBC\nPlatelets\n" > "$OUT/bccd.names"
./build/yolo9k anchors --dataset "$DATA" --k 5 --seed 1 --cfg /usr/share/darknet/cfg/yolov2-tiny-voc.cfg \
    --cfg-out "$OUT/anchored.cfg" >/dev/null
# The anchors command wrote num/anchors and the head's filters (125 -> 5*(5+20)); set 3 classes.
source scripts/lib/tiny_cfg.sh
write_tiny_cfg "$OUT/anchored.cfg" "$OUT/tiny-bccd.cfg" 3 200 1200 950,1100
./build/yolo9k train --dataset "$DATA" --split trainval --valid-split test --names "$OUT/bccd.names" \
    --cfg "$OUT/tiny-bccd.cfg" --backup "$OUT/backup" --map-every 100 --seed 1 --checkpoint-every 50 ${RESUME:+--resume}
./build/yolo9k eval --dataset "$DATA" --split test --names "$OUT/bccd.names" --cfg "$OUT/tiny-bccd.cfg" \
    --weights "$OUT/backup/tiny-bccd_final.weights" --out "$OUT/eval_final" --json "$OUT/eval_final/metrics.json"
