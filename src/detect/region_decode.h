// Decoding a darknet [region] layer output into detections with darknet's exact semantics:
// get_region_detections + correct_region_boxes (relative boxes), do_nms_sort, and the
// thresholding and print order of draw_detections.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detect/letterbox.h"
#include "tree/word_tree.h"
#include "yolo9k/detection.h"

namespace yolo9k {

struct RegionDecodeParams {
    int grid_w = 0, grid_h = 0;
    int num = 0;      // anchors per cell
    int classes = 0;
    int coords = 4;   // entries before objectness; darknet only reads the first 4
    std::vector<float> anchors;  // 2*num values (w, h) in grid-cell units

    // YOLO9000 (darknet's get_region_detections with a softmax tree): the class entries
    // are Pr(node | parent) of `tree`'s nodes (classes == tree->size()); each box's are
    // turned into absolute probabilities Pr(node) by multiplying down the tree. Then
    //  * with class_map (darknet's `map`: dataset class k is node class_map[k]): class k
    //    scores objectness * Pr(class_map[k]), thresholded like an ordinary class;
    //  * without: ONE class per box, top_down_prediction(products, hier_thresh), scored
    //    with the objectness alone (darknet's `-hier`, default .5).
    std::shared_ptr<const WordTree> tree;
    std::vector<int> class_map;
    float hier_thresh = .5f;

    int entries() const { return coords + 1 + classes; }
    // Classes of the decoded candidates: the map's size with a map, else `classes`.
    int output_classes() const { return tree && !class_map.empty() ? int(class_map.size()) : classes; }
    int boxes() const { return grid_w * grid_h * num; }
};

// darknet's `box`: centre and size, relative to the original image (0..1 inside it).
struct RelBox {
    float x = 0, y = 0, w = 0, h = 0;
};

// Darknet's IoU on centre/size boxes (overlap of edges computed in float, as darknet does).
float box_iou(const RelBox& a, const RelBox& b);

// The per-anchor candidates of one image, in darknet's detection order
// (index = anchor * grid_w * grid_h + row * grid_w + col).
struct RegionCandidates {
    int classes = 0;
    std::vector<RelBox> boxes;
    std::vector<float> objectness;  // objectness if > thresh, else 0
    std::vector<float> probs;       // boxes.size() * classes; objectness*p if > thresh, else 0
    // Candidates with objectness > 0, in the order darknet's detection array ends up in
    // (do_nms_sort reorders it); this is the order detections are reported in.
    std::vector<int> order;

    float prob(int box, int cls) const { return probs[static_cast<std::size_t>(box) * classes + cls]; }
};

// darknet's get_region_detections(relative = 1): decode, threshold objectness and class
// probabilities against `thresh`, map boxes back to the original image. Pass thresh = 0 to
// keep every candidate. `out` is reused between calls to avoid allocations.
void decode_region_candidates(const float* output, const RegionDecodeParams& params,
                              const LetterboxGeometry& geometry, float thresh, RegionCandidates& out);

// darknet's do_nms_sort: per class, greedy suppression in descending probability order, zeroing
// the class probability of boxes whose IoU with a kept box is > nms_thresh. Also sets
// `order` to the order darknet's array has afterwards. nms_thresh <= 0 does nothing.
void nms_sort(RegionCandidates& candidates, float nms_thresh);

// draw_detections' report: one Detection per (box, class) with probability > thresh, in
// darknet's print order, with the box in pixels of an img_w x img_h image clamped to it.
// Names come from `names` when given, else the class id as text.
std::vector<Detection> report_detections(const RegionCandidates& candidates, float thresh, int img_w,
                                         int img_h, const std::vector<std::string>& names = {});

// All of the above for one image. `workspace` (optional) is reused across calls.
std::vector<Detection> decode_region(const float* output, const RegionDecodeParams& params,
                                     const LetterboxGeometry& geometry, float thresh, float nms_thresh,
                                     const std::vector<std::string>& names = {},
                                     RegionCandidates* workspace = nullptr);

}  // namespace yolo9k
