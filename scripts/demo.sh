#!/usr/bin/env bash
# The main job: set up, build, and show the detector working end to end.
# Published weights cannot be downloaded here, so the demo uses weights yolo9k writes
# itself; with darknet's yolov2-voc.weights the same commands give real detections.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
OUT=${OUT_DIR:-demo-out}
mkdir -p "$OUT"
Y=./build/yolo9k
CFG=/usr/share/darknet/cfg/yolov2-voc.cfg

echo "== yolo9k info: the network darknet's yolov2-voc.cfg describes"
$Y info --cfg "$CFG" | tail -8

echo "== writing random (untrained) weights for it: $OUT/yolov2-voc.random.weights"
$Y init-weights --cfg "$CFG" --seed 1 --out "$OUT/yolov2-voc.random.weights"

echo "== detect on darknet's sample photos (untrained weights: the boxes are noise, the pipeline is real)"
$Y detect --cfg "$CFG" --weights "$OUT/yolov2-voc.random.weights" --names /usr/share/darknet/data/voc.names \
  --thresh 0.02 --json "$OUT/detections.json" --out "$OUT" \
  /usr/share/darknet/data/dog.jpg /usr/share/darknet/data/person.jpg /usr/share/darknet/data/horses.jpg | head -20

echo "== speed: yolo9k vs OpenCV dnn on the same cfg and weights"
$Y bench --cfg "$CFG" --batch 1 --iterations 5 --baselines opencv-dnn

cat <<TXT

Output: $OUT/dog.jpg, $OUT/person.jpg, $OUT/horses.jpg (annotated) and $OUT/detections.json.
With darknet's published weights (yolov2-voc.weights, yolov2.weights) the same command detects for real:
  $Y detect --cfg $CFG --weights yolov2-voc.weights --names /usr/share/darknet/data/voc.names --out out/ photo.jpg
TXT
