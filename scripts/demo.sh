#!/usr/bin/env bash
# The main job: set up, build, and show the detector working end to end.
# Published weights cannot be downloaded here, so the demo trains a small detector on BCCD
# (../shared/data/bccd, or $YOLO9K_DATA/bccd) and detects with it; without that data it
# runs darknet's yolov2-voc.cfg on untrained weights. With darknet's yolov2-voc.weights the
# detect command below gives real detections on any photo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
OUT=${OUT_DIR:-demo-out}
mkdir -p "$OUT"
Y=./build/yolo9k
CFG=/usr/share/darknet/cfg/yolov2-voc.cfg

echo "== yolo9k info: the network darknet's yolov2-voc.cfg describes"
$Y info --cfg "$CFG" | tail -8

DATA=${YOLO9K_DATA:-../shared/data}/bccd
if [ -d "$DATA/Annotations" ]; then
  # Train a small detector for real (BCCD blood cells, 3 classes; a few minutes on 2 cores),
  # then detect with it on test images it never saw and measure its mAP.
  DET=cfg/bccd-yolov2-small.cfg
  printf "RBC\nWBC\nPlatelets\n" > "$OUT/bccd.names"
  echo "== training $DET on BCCD trainval (300 steps of 16 images at 256x256)"
  $Y train --dataset "$DATA" --split trainval --names "$OUT/bccd.names" --cfg "$DET" --backup "$OUT/train" \
    --max-batches 300 --seed 1 --checkpoint-every 100 2>&1 | awk 'NR % 25 == 0 || /trained/'
  W="$OUT/train/bccd-yolov2-small_final.weights"
  echo "== detect with the trained weights on BCCD test images"
  mapfile -t SHOW < <(head -2 "$DATA/ImageSets/Main/test.txt")
  $Y detect --cfg "$DET" --weights "$W" --names "$OUT/bccd.names" --thresh 0.1 --json "$OUT/detections.json" \
    --out "$OUT" $(printf "$DATA/JPEGImages/%s.jpg " "${SHOW[@]}") | head -20
  echo "== mAP on BCCD test (72 images)"
  $Y eval --dataset "$DATA" --split test --names "$OUT/bccd.names" --cfg "$DET" --weights "$W" | tail -6
  SHOWN="$OUT/${SHOW[0]}.jpg, $OUT/${SHOW[1]}.jpg"
else
  echo "== no BCCD at $DATA (set YOLO9K_DATA): detecting with untrained weights instead"
  $Y init-weights --cfg "$CFG" --seed 1 --out "$OUT/yolov2-voc.random.weights"
  echo "== detect on darknet's sample photos (untrained weights: the boxes are noise, the pipeline is real)"
  $Y detect --cfg "$CFG" --weights "$OUT/yolov2-voc.random.weights" --names /usr/share/darknet/data/voc.names \
    --thresh 0.02 --json "$OUT/detections.json" --out "$OUT" \
    /usr/share/darknet/data/dog.jpg /usr/share/darknet/data/person.jpg /usr/share/darknet/data/horses.jpg | head -20
  SHOWN="$OUT/dog.jpg, $OUT/person.jpg, $OUT/horses.jpg"
fi

echo "== speed: yolo9k vs OpenCV dnn on the same cfg and weights"
$Y bench --cfg "$CFG" --batch 1 --iterations 5 --baselines opencv-dnn

cat <<TXT

Output: $SHOWN (annotated) and $OUT/detections.json.
With darknet's published weights (yolov2-voc.weights, yolov2.weights) the same command detects for real:
  $Y detect --cfg $CFG --weights yolov2-voc.weights --names /usr/share/darknet/data/voc.names --out out/ photo.jpg
TXT
