# Sourced by the training scripts (and mpi_scaling.sh for set_head_classes): write_tiny_cfg ANCHORED OUT CLASSES BURN_IN MAX_BATCHES STEPS
# turns darknet's yolov2-tiny-voc.cfg (with anchors from `yolo9k anchors --cfg-out`) into the
# README's small-data recipe: batch 16 / subdivisions 2, lr .001, BURN_IN, MAX_BATCHES, lr x.1
# at each of STEPS ("a,b"), CLASSES classes, and the head's filters = 5 x (5 + CLASSES).
write_tiny_cfg() {
    local anchored=$1 out=$2 classes=$3 burn_in=$4 max_batches=$5 steps=$6
    sed -e 's/^batch=.*/batch=16/' -e 's/^subdivisions=.*/subdivisions=2/' \
        -e "s/^learning_rate=.*/learning_rate=0.001\nburn_in=$burn_in/" -e "s/^max_batches.*/max_batches = $max_batches/" \
        -e "s/^steps=.*/steps=$steps/" -e 's/^scales=.*/scales=.1,.1/' -e "s/^classes=.*/classes=$classes/" \
        "$anchored" > "$out"
    set_head_classes "$out" "$classes"
}

# set_head_classes CFG CLASSES: the head of a 20-class VOC cfg (its last filters=125, 5 x (5 + 20))
# resized for CLASSES, in place.
set_head_classes() {
    python3 - "$1" "$((5 * (5 + $2)))" <<'PY'
import sys
p, filters = sys.argv[1], sys.argv[2]
s = open(p).read()
i = s.rindex('filters=125'); s = s[:i] + 'filters=' + filters + s[i + 11:]
open(p, 'w').write(s)
PY
}
