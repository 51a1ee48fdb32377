// YOLOv2's detection loss: darknet's [region] layer training (forward_region_layer with
// net.train = 1) turned into a true loss value and its gradient with respect to the raw
// input of the layer, the form TrainExecutor::backward takes.
//
// Darknet computes "deltas" scale * (target - value) on the *activated* entries and its
// GPU backward (backward_region_layer_gpu) multiplies the x, y and objectness deltas by
// the logistic derivative; w, h and the class entries pass through unchanged. We follow
// that path. Where darknet's CPU path differs: its backward_region_layer has an empty body
// (the code is commented out), so a CPU build never backpropagates from a [region] layer;
// the commented-out code passed the deltas on with the derivative on objectness only.
//
// Targets per image (a "slot" is one cell (i, j) and anchor n):
//  * every slot: objectness toward 0 with noobject_scale, unless its predicted box overlaps
//    some truth with IoU > thresh; while seen < kRegionPriorWarmupImages, its box toward
//    the anchor prior centred in the cell with scale .01;
//  * every truth, in the slot of its cell (floor(x W), floor(y H)) and of the anchor whose
//    shape fits it best (IoU of the boxes moved to the origin; with bias_match the anchor's
//    own size, else the predicted size): box toward the truth with scale
//    coord_scale * (2 - w h), objectness toward 1 (rescore: toward the IoU of the predicted
//    box with the truth) with object_scale, classes toward the one-hot with class_scale.
// A later assignment to the same entry replaces an earlier one, as in darknet (a truth's
// box replaces the prior pull; two truths in one slot: the later one wins, except that
// logistic classes then have both classes as targets, darknet's multi-label rule).
//
// The loss L, summed over the images, whose gradient with the targets held constant is
// what region_loss writes:
//  * squared terms ½ scale (value - target)² on σ(tx), σ(ty), σ(to) and on raw tw, th;
//  * softmax=1: class_scale * cross-entropy of the softmax (gradient class_scale (p - onehot));
//  * softmax=0: class_scale * binary cross-entropy per class on the logistic outputs
//    (gradient class_scale (p - y)), which is what darknet's GPU path does: it applies no
//    logistic derivative to the class deltas.
// The targets depend on the prediction (which slots are suppressed, which anchor a truth
// takes without bias_match, the rescore IoU target); those dependencies are not
// differentiated, as in darknet. darknet's own printed "cost" is Σ delta², not this L.
//
// YOLO9000 (the layer has a WordTree, `tree=`): the class entries hold Pr(node | parent),
// a softmax per sibling group. A label k (mapped through the layer's class_map when it has
// one) is a tree node; its class term is class_scale * the cross-entropy of every group on
// k's path to the root toward the path's node in that group (gradient class_scale (p - 1)
// on the path's node, class_scale p on its siblings; groups off the path get nothing). So
// a label "cell" trains only the group above it, and a leaf trains each level up to the root.
//
// Classification-only images (image_classes[b] >= 0: a label without a box, e.g. an
// ImageNet image in YOLO9000's joint training). What darknet's region_layer.c does, which
// is what we do:
//  * the slot (anchor n, cell i, j) with the largest objectness * Pr(label) is chosen (the
//    first in darknet's anchor-major order on ties; slot 0 when every product is 0), and
//    only the label's class term (along its path) is applied there;
//  * every other slot's objectness goes toward 0 with noobject_scale, and the chosen slot's
//    objectness gets no term at all;
//  * no box terms (not even the early prior pull); any boxes of the image are ignored.
// The paper says instead that objectness is backpropagated "assuming the predicted box
// overlaps what would be the ground truth label by at least .3 IOU"; darknet computes that
// target (object_scale (.3 - σ) when σ < .3) and then overwrites it with 0, so the chosen
// slot's objectness is untouched, and it pushes every other slot toward "no object",
// which the paper does not mention. Statistics as darknet prints them: the image adds to
// the Class average (class_count) and to the slot count of No Obj, but neither to count
// nor to No Obj's sum. Without a tree the same rule runs with Pr(label) = the flat
// class probability (darknet has no such path: it reads classification-only truths only
// with a tree).
// Labels: darknet applies `map=` only to detection truths and takes classification-only
// labels as tree nodes already; we map both (both are dataset class ids here).
//
// Truth boxes: all of an image's boxes are used. darknet reads at most 30 per image (the
// size of its truth buffer) and stops at the first box with
// x == 0; both are artefacts of its buffer layout, not of the method, so we keep every box
// (a picture with 40 people trains on all 40). Boxes with w or h <= 0 (or NaN) are skipped.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.h"
#include "layer/region.h"

namespace yolo9k {

// Images seen before the prior pull stops (darknet's constant).
inline constexpr uint64_t kRegionPriorWarmupImages = 12800;

// darknet's printed summary ("Region Avg IOU: ..., Class: ..., Obj: ..., No Obj: ...,
// Avg Recall: ..., count: ..."), plus recall at IoU .75 and the loss L above. Averages
// over no truths are 0 (darknet prints nan).
struct RegionLossStats {
    double loss = 0;
    float avg_iou = 0;    // IoU of each truth with the prediction of its assigned slot
    float avg_class = 0;  // probability of the true class at the assigned slot (tree: of the node, the path's product)
    float avg_obj = 0;    // objectness at the assigned slots
    float avg_noobj = 0;  // objectness over every slot of the batch
    float recall50 = 0;   // share of truths whose assigned prediction has IoU > .5
    float recall75 = 0;   // ... > .75
    int count = 0;        // truths used
    int class_count = 0;  // truths + classification-only images: what avg_class averages over
};

// head_input: raw input of the region layer (batch x C x H x W, NCHW); output: the layer's
// activated output for it (RegionLayer::forward_reference). truths: one vector per image
// (at least `batch`). seen: images seen before this batch. image_classes: per image, the
// label of a classification-only image, -1 for a detection image (empty: all detection).
// Writes dLoss/d(head_input) into grad (same size; overwritten). Throws Error for a class
// id outside [0, classes) (with a class_map: outside the map), or a tree= layer whose tree
// was not loaded.
RegionLossStats region_loss(const RegionLayer& layer, const float* head_input, const float* output,
                            std::span<const std::vector<TruthBox>> truths, int batch, uint64_t seen, float* grad,
                            std::span<const int> image_classes = {});

}  // namespace yolo9k
