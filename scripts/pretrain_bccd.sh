#!/usr/bin/env bash
# The paper's pretraining pipeline in miniature on BCCD (README: "Pretraining recipe"):
#   1. a classification set: one crop per annotated cell (RBC, WBC, Platelets);
#   2. a Darknet-19-shaped classifier (filters / 4) trained at 64x64;
#   3. the high-resolution step: the same network fine-tuned at 128x128 from those weights;
#   4. top-1 on the test crops at both sizes;
#   5. `partial`: the first 23 layers (the convolutional stack) -> .conv.23;
#   6. the detector (yolov2-voc's shape, same stack) trained from .conv.23 for N steps, and
#      the identical detector (cfg, seed, schedule, N) from scratch; mAP@.5 on BCCD `test`.
# Crops come from `trainval` (classifier train) and `test` (classifier valid), so no test
# image is seen by either stage. About 25 minutes on 2 cores. Output in
# ${OUT:-runs/pretrain_bccd}; STEPS=... overrides N (the detector cfg's max_batches).
# A detector already trained there is kept (RETRAIN=1 trains it again); DET_LR=0.004 sets both
# detectors' learning rate (the README's second pair).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${YOLO9K_DATA:-../shared/data}/bccd
OUT=${OUT:-runs/pretrain_bccd}
SEED=${SEED:-1}
[ -d "$DATA/Annotations" ] || { echo "BCCD not found at $DATA (set YOLO9K_DATA)" >&2; exit 1; }
[ -x build/yolo9k ] || bash scripts/setup.sh build >/dev/null
ninja -C build yolo9k >/dev/null
Y=./build/yolo9k
CLS64=cfg/bccd-darknet19-small-64.cfg
CLS128=cfg/bccd-darknet19-small-128.cfg
DET=cfg/bccd-yolov2-small.cfg
STEPS_ARG=${STEPS:+--max-batches $STEPS}
mkdir -p "$OUT"
printf "RBC\nWBC\nPlatelets\n" > "$OUT/bccd.names"
log() { echo "== $*" >&2; }

log "1. crops: trainval -> train, test -> valid (10% context, square, 128 px)"
$Y dataset crops "$DATA" --names "$OUT/bccd.names" --train-split trainval --valid-split test \
    --out "$OUT/crops" --context .1 --square --size 128 --overwrite | tee "$OUT/crops.txt"

log "2. classifier at 64x64"
[ -f "$OUT/cls64/bccd-darknet19-small-64_final.weights" ] && [ -z "${RETRAIN:-}" ] && log "(already trained: kept)" ||
$Y classifier train --data "$OUT/crops/crops.data" --cfg $CLS64 --backup "$OUT/cls64" --seed "$SEED" \
    --checkpoint-every 100 2>&1 | tee "$OUT/cls64.log" | grep -v '^[0-9]*, ' || true
[ -f "$OUT/cls64/bccd-darknet19-small-64_final.weights" ] || { echo "classifier training failed: $OUT/cls64.log" >&2; exit 1; }

log "3. fine-tune at 128x128 from the 64x64 weights (--clear: the schedule starts at 0, as darknet's -clear)"
[ -f "$OUT/cls128/bccd-darknet19-small-128_final.weights" ] && [ -z "${RETRAIN:-}" ] && log "(already trained: kept)" ||
$Y classifier train --data "$OUT/crops/crops.data" --cfg $CLS128 --weights "$OUT/cls64/bccd-darknet19-small-64_final.weights" \
    --clear --backup "$OUT/cls128" --seed "$SEED" --checkpoint-every 100 2>&1 | tee "$OUT/cls128.log" | grep -v '^[0-9]*, ' || true
[ -f "$OUT/cls128/bccd-darknet19-small-128_final.weights" ] || { echo "fine-tune failed: $OUT/cls128.log" >&2; exit 1; }

log "4. top-1 on the test crops: 64 at 64, 64 at 128 without fine-tuning, fine-tuned at 128"
$Y classifier valid --data "$OUT/crops/crops.data" --cfg $CLS64 --weights "$OUT/cls64/bccd-darknet19-small-64_final.weights" \
    --json "$OUT/valid_64.json"
$Y classifier valid --data "$OUT/crops/crops.data" --cfg $CLS128 --weights "$OUT/cls64/bccd-darknet19-small-64_final.weights" \
    --json "$OUT/valid_64_at_128.json"
$Y classifier valid --data "$OUT/crops/crops.data" --cfg $CLS128 --weights "$OUT/cls128/bccd-darknet19-small-128_final.weights" \
    --json "$OUT/valid_128.json"

log "5. partial: the first 23 layers"
$Y partial --cfg $CLS128 --weights "$OUT/cls128/bccd-darknet19-small-128_final.weights" \
    --out "$OUT/bccd-darknet19-small.conv.23" --layers 23

train_detector() {  # $1: run name, then extra arguments
    local name=$1${DET_LR:+_lr$DET_LR}; shift
    [ -f "$OUT/$name/bccd-yolov2-small_final.weights" ] && [ -z "${RETRAIN:-}" ] && { log "$name: already trained"; return; }
    $Y train --dataset "$DATA" --split trainval --valid-split test --names "$OUT/bccd.names" --cfg $DET \
        --backup "$OUT/$name" --seed "$SEED" --map-every 50 $STEPS_ARG ${DET_LR:+--learning-rate $DET_LR} "$@" > "$OUT/$name.log" 2>&1
    tail -1 "$OUT/$name.log"
}
log "6. detector from .conv.23 and from scratch: same cfg, seed, schedule, steps"
train_detector pretrained --weights "$OUT/bccd-darknet19-small.conv.23"
train_detector scratch
for name in pretrained${DET_LR:+_lr$DET_LR} scratch${DET_LR:+_lr$DET_LR}; do
    $Y eval --dataset "$DATA" --split test --names "$OUT/bccd.names" --cfg $DET \
        --weights "$OUT/$name/bccd-yolov2-small_final.weights" --json "$OUT/eval_$name.json" > "$OUT/eval_$name.txt"
done

python3 - "$OUT" "${DET_LR:+_lr$DET_LR}" <<'PY'
import json, sys
out = sys.argv[1]
for f, what in [("valid_64.json", "classifier 64 at 64"), ("valid_64_at_128.json", "classifier 64 at 128, no fine-tune"),
                ("valid_128.json", "classifier fine-tuned at 128")]:
    print(f"{what:38s} top-1 {100 * json.load(open(f'{out}/{f}'))['top1']:.1f}%")
suffix = sys.argv[2]
for name in ("pretrained" + suffix, "scratch" + suffix):
    j = json.load(open(f"{out}/eval_{name}.json"))
    print(f"detector from {name:10s} mAP@.5 {100 * j['map50']:.1f}% (VOC07 {100 * j['map50_voc07']:.1f}%)")
PY
