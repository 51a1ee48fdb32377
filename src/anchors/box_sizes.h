// From a labelled dataset to the (width, height) list that dimension clustering works on,
// and between the units anchors are quoted in.
#pragma once

#include <cstddef>
#include <vector>

#include "anchors/dimension_clusters.h"
#include "data/dataset.h"
#include "yolo9k/anchors.h"

namespace yolo9k {

struct BoxSizes {
    std::vector<BoxSize> sizes;
    size_t skipped = 0;  // boxes with a zero, negative or non-finite width or height
};

// Every box as (w/W, h/H): relative to its own image, the way YOLO's truth is stored and
// the paper's clusters are computed.
BoxSizes relative_box_sizes(const Dataset& data);
BoxSizes relative_box_sizes(const std::vector<Dataset>& datasets);

// Every box in pixels of its image after rescaling it by
// min(shorter_side / min(W, H), max_longer_side / max(W, H)) — Faster R-CNN's test-time
// scaling (600, 1000); shorter_side = 0 keeps each image's own pixels. Needs the image
// sizes in the annotations; throws yolo9k::Error naming the image otherwise.
BoxSizes pixel_box_sizes(const Dataset& data, double shorter_side = 0, double max_longer_side = 0);

// Faster R-CNN's nine hand-picked anchors in pixels: areas 128², 256², 512², each at
// aspect ratios (h:w) 1:1, 1:2, 2:1 with the area kept (the exact shapes, before
// Faster R-CNN's rounding to whole pixels).
std::vector<BoxSize> faster_rcnn_anchors();

// grid_cells(network_size, stride) is public: include/yolo9k/anchors.h.
std::vector<BoxSize> relative_to_grid(const std::vector<BoxSize>& relative, double cells);
std::vector<BoxSize> grid_to_relative(const std::vector<BoxSize>& grid, double cells);

}  // namespace yolo9k
