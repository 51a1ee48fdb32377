// Dimension clusters (YOLO9000 §2): k-means on a dataset's box sizes with the distance
// 1 − IoU, as `yolo9k anchors` computes them. Link yolo9k::yolo9k_train.
//
//   yolo9k::AnchorClusters a = yolo9k::fit_anchors({.datasets = {"voc.data"}, .k = 5});
//   // a.anchors: [region] anchors= values, in grid cells of a 416 / 32 = 13 grid
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

struct AnchorOptions {
    std::vector<std::string> datasets;  // any form read_dataset() reads
    std::string split;                  // VOC split / .data list
    int k = 5;
    int network_size = 416, stride = 32;  // anchors are quoted in cells of a size/stride grid
    uint64_t seed = 1;
    int restarts = 10;  // k-means++ seedings; the best mean IoU wins
};

struct Anchor {
    double w = 0, h = 0;  // grid cells
};

struct AnchorClusters {
    std::vector<Anchor> anchors;  // smallest area first
    std::vector<size_t> counts;   // boxes nearest each anchor
    double average_iou = 0;       // mean over boxes of the IoU with their nearest anchor
    size_t boxes = 0, skipped_boxes = 0;
};

// Throws yolo9k::Error when there are no boxes, or fewer distinct sizes than k.
AnchorClusters fit_anchors(const AnchorOptions& options);

}  // namespace yolo9k
