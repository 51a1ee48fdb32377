#!/usr/bin/env bash
# The main job, on data the project makes itself (no download, no shared folder):
#   1. set up and build (installs Debian packages when missing),
#   2. draw a labelled detection set (5 shape/texture classes, train/val/test),
#   3. fit the anchors to it with k-means dimension clusters (the paper's Table 1 method),
#   4. train a YOLOv2 detector on it from scratch (about 5 minutes on 2 cores),
#   5. measure its mAP on the held-out test split,
#   6. detect on test images it never saw (annotated images + JSON),
#   7. compare its speed with OpenCV dnn on the same cfg and weights.
# Every step's output is kept in $OUT_DIR (default demo-out/). No pipeline here can end
# early: progress is filtered with awk, which reads to the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build

OUT=${OUT_DIR:-demo-out}
Y=./build/yolo9k
STEPS=${DEMO_STEPS:-}  # optional override of the cfg's max_batches (shorter or longer runs)
mkdir -p "$OUT"
SYNTH=$OUT/synth
CFG=$OUT/synth-detector.cfg
NAME=synth-detector
started=$(date +%s)

echo "== 1/6 drawing a labelled dataset: 2500 images, 5 classes (disc, square, triangle, star, cross)"
$Y dataset synth --out "$SYNTH" --images 2500 --valid-fraction .04 --test-fraction .12 --seed 1 --overwrite --quiet

echo "== 2/6 anchors: k-means dimension clusters (d = 1 - IoU) on the training boxes"
$Y anchors --dataset "$SYNTH" --split train --k 5 --size 192 --stride 16 --seed 1 \
  --cfg cfg/synth-yolov2-tiny.cfg --cfg-out "$CFG" | tail -3

echo "== 3/6 training $CFG from scratch (one progress line every 100 steps)"
rm -rf "$OUT/train"
train_args=(--dataset "$SYNTH" --split train --names "$SYNTH/synth.names" --cfg "$CFG" --name "$NAME"
            --backup "$OUT/train" --seed 1 --checkpoint-every 200)
[ -n "$STEPS" ] && train_args+=(--max-batches "$STEPS")
train_start=$(date +%s)
$Y train "${train_args[@]}" 2>&1 | awk 'NR % 100 == 0 || /trained|error|warning/ { print; fflush() }'
train_s=$(( $(date +%s) - train_start ))
W="$OUT/train/${NAME}_final.weights"

echo "== 4/6 mAP on the held-out test split (images the detector never saw)"
$Y eval --dataset "$SYNTH" --split test --names "$SYNTH/synth.names" --cfg "$CFG" --weights "$W" \
  --json "$OUT/eval.json" > "$OUT/eval.txt"
cat "$OUT/eval.txt"
# "map50": the VOC all-point mAP@.5; minimal Debian has no JSON tool, so read it with sed.
map50=$(sed -n 's/.*"map50": *\([0-9.eE+-]*\).*/\1/p' "$OUT/eval.json" | head -1)

echo "== 5/6 detect on 4 test images (annotated copies and detections.json in $OUT/)"
mapfile -t SHOW < <(sed -n '1,4p' "$SYNTH/ImageSets/Main/test.txt")
$Y detect --cfg "$CFG" --weights "$W" --names "$SYNTH/synth.names" --thresh 0.4 \
  --json "$OUT/detections.json" --out "$OUT" $(printf "$SYNTH/JPEGImages/%s.jpg " "${SHOW[@]}") > "$OUT/detect.txt"
sed -n '1,24p' "$OUT/detect.txt"

echo "== 6/6 speed: yolo9k vs OpenCV dnn on the same cfg and weights (batch 1, median of 20)"
$Y bench --cfg "$CFG" --weights "$W" --batch 1 --iterations 20 --baselines opencv-dnn \
  --json "$OUT/bench.json" > "$OUT/bench.txt"
cat "$OUT/bench.txt"

# Speed ratio from the JSON rows: OpenCV dnn's median over yolo9k's default.
ratio=$(awk '
  /"engine"/ { engine = $0; sub(/.*"engine": *"/, "", engine); sub(/".*/, "", engine) }
  /"ms_per_image"/ { ms = $0; sub(/.*"ms_per_image": */, "", ms); sub(/[,}].*/, "", ms)
                  if (engine == "yolo9k" && mine == "") mine = ms
                  if (engine == "opencv-dnn" && theirs == "") theirs = ms }
  END { if (mine > 0 && theirs > 0) printf "%.1fx", theirs / mine; else print "n/a" }' "$OUT/bench.json")

cat <<TXT

== summary
  detector   : $CFG, trained from scratch for $train_s s on $(nproc) cores
  test mAP@.5: $(awk -v m="${map50:-0}" 'BEGIN { printf "%.1f%%", 100 * m }') on $(wc -l < "$SYNTH/ImageSets/Main/test.txt") held-out images (full table: $OUT/eval.txt)
  speed      : $ratio as fast as OpenCV dnn on this cfg at batch 1 (table: $OUT/bench.txt)
  images     : $(printf "$OUT/%s.jpg " "${SHOW[@]}")
  JSON       : $OUT/detections.json, $OUT/eval.json, $OUT/bench.json
  total time : $(( $(date +%s) - started )) s after the build

Next: darknet's published weights in one command, then detect on your own photos:
  $Y weights get yolov2-voc
  $Y detect --weights yolov2-voc --out out/ photo.jpg
TXT
