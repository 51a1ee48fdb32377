#!/usr/bin/env bash
# The sparse one-class reproduction of issue 19: raccoon (200 photos, 217 boxes, about 1.1
# per image) with the README's BCCD recipe: yolov2-tiny-voc's shape, k-means anchors, batch
# 16/2, lr .001, burn_in 100, MAX steps (default 800) at 416 from scratch. The split is fixed:
# every 5th image (by number) is `test` (40 images), the rest `train` (160). Every EVERY
# steps (default 200) it prints mAP@.5 on test and on the training images, and the progress
# lines carry objectness at the boxes' anchors (obj) and elsewhere (noobj).
# Output in ${OUT:-runs/raccoon}; the data from ${YOLO9K_DATA:-../shared/data}/raccoon.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${YOLO9K_DATA:-../shared/data}/raccoon
OUT=${OUT:-runs/raccoon}
MAX=${MAX:-800}
EVERY=${EVERY:-200}
[ -d "$DATA/annotations" ] || { echo "raccoon not found at $DATA (set YOLO9K_DATA)" >&2; exit 1; }
[ -x build/yolo9k ] || bash scripts/setup.sh build >/dev/null
mkdir -p "$OUT/voc/ImageSets/Main"
DATA=$(cd "$DATA" && pwd)
# A VOC view of the set (links, no copies) with the fixed split.
ln -sfn "$DATA/annotations" "$OUT/voc/Annotations"
ln -sfn "$DATA/images" "$OUT/voc/JPEGImages"
ls "$DATA/annotations" | sed 's/\.xml$//' | sort -t- -k2 -n > "$OUT/voc/ImageSets/Main/all.txt"
awk 'NR % 5 == 0' "$OUT/voc/ImageSets/Main/all.txt" > "$OUT/voc/ImageSets/Main/test.txt"
awk 'NR % 5 != 0' "$OUT/voc/ImageSets/Main/all.txt" > "$OUT/voc/ImageSets/Main/train.txt"
echo raccoon > "$OUT/raccoon.names"
./build/yolo9k anchors --dataset "$OUT/voc" --split train --k 5 --seed 1 \
    --cfg /usr/share/darknet/cfg/yolov2-tiny-voc.cfg --cfg-out "$OUT/anchored.cfg" > "$OUT/anchors.txt"
# lr x.1 at the same fractions of the schedule as BCCD's (950 and 1100 of 1200).
source scripts/lib/tiny_cfg.sh
write_tiny_cfg "$OUT/anchored.cfg" "$OUT/tiny-raccoon.cfg" 1 100 "$MAX" "$((MAX * 95 / 120)),$((MAX * 110 / 120))"
./build/yolo9k train --dataset "$OUT/voc" --split train --valid-split test --names "$OUT/raccoon.names" \
    --cfg "$OUT/tiny-raccoon.cfg" --backup "$OUT/backup" --map-every "$EVERY" --seed 1 --checkpoint-every 100 \
    ${RESUME:+--resume} "$@" 2>&1 | tee "$OUT/train.log"
