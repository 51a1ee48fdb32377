// Dimension clusters (YOLO9000 §2): k-means on a dataset's box sizes with the distance
// 1 − IoU, as `yolo9k anchors` computes them. Link yolo9k::yolo9k_train.
//
//   yolo9k::AnchorClusters a = yolo9k::fit_anchors({.datasets = {"voc.data"}, .k = 5});
//   // a.anchors: [region] anchors= values, in grid cells of a 416 / 32 = 13 grid
//
// To try several k on one read of the boxes: read_box_sizes() once, then cluster_anchors().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

// How a cluster's centre follows its members: the median (default) reproduces the paper's
// Table 1 on VOC 2007; the mean is textbook k-means and lands about 1.5 points lower.
enum class AnchorUpdate { median, mean };

struct AnchorOptions {
    std::vector<std::string> datasets;  // any form read_dataset() reads
    std::string split;                  // VOC split / .data list
    int k = 5;
    int network_size = 416, stride = 32;  // anchors are quoted in cells of a size/stride grid
    uint64_t seed = 1;
    int restarts = 10;  // k-means++ seedings; the best mean IoU wins
    AnchorUpdate update = AnchorUpdate::median;
};

struct Anchor {
    double w = 0, h = 0;  // grid cells (box sizes: fractions of the image)
};

struct AnchorClusters {
    std::vector<Anchor> anchors;  // smallest area first
    std::vector<size_t> counts;   // boxes nearest each anchor
    double average_iou = 0;       // mean over boxes of the IoU with their nearest anchor
    size_t boxes = 0, skipped_boxes = 0;
};

// Throws yolo9k::Error when there are no boxes, or fewer distinct sizes than k.
AnchorClusters fit_anchors(const AnchorOptions& options);

// ---- The steps of fit_anchors, for sweeps and for scoring a given anchor set ----

struct DatasetBoxCount {
    std::string path;
    size_t images = 0, boxes = 0;
    size_t skipped = 0;  // zero-size, outside the image or of an unknown class
    std::vector<std::string> warnings;  // the reader's, about skipped boxes
};

struct LabelledBoxes {
    std::vector<Anchor> sizes;  // every usable box: width and height as fractions of its image
    std::vector<DatasetBoxCount> datasets;
    size_t skipped = 0;
};

// Reads the boxes of every dataset (images need not exist). Throws yolo9k::Error naming the
// datasets when no usable box is left.
LabelledBoxes read_box_sizes(const std::vector<std::string>& datasets, const std::string& split = "");
// fit_anchors on boxes already read (options.datasets and .split are unused).
AnchorClusters cluster_anchors(const LabelledBoxes& boxes, const AnchorOptions& options);

struct AnchorScore {
    double average_iou = 0;
    std::vector<size_t> counts;  // boxes nearest each anchor, in the anchors' order
};
// How well given anchors (grid cells of a network_size / stride grid) fit the boxes.
AnchorScore score_anchors(const LabelledBoxes& boxes, const std::vector<Anchor>& anchors, int network_size = 416,
                          int stride = 32);

// YOLO's [region] anchors are in grid cells: a box's relative size x (network size / stride).
// Throws unless the stride divides the size.
double grid_cells(int network_size, int stride);  // e.g. 416 / 32 = 13

// "1.08,1.19, 3.42,4.41, ..." as a [region] anchors= line.
std::string format_anchors(const std::vector<Anchor>& anchors);
// Parses that form; `what` names the source in errors.
std::vector<Anchor> parse_anchors(const std::string& text, const std::string& what);
// The anchors= of a cfg's [region].
std::vector<Anchor> read_region_anchors(const std::string& cfg);
// A copy of `cfg_in` whose [region] has these anchors (and num=, and the filters= of the
// convolution before it) — a cfg yolo9k's own parser accepts.
void write_cfg_with_anchors(const std::string& cfg_in, const std::string& cfg_out, const std::vector<Anchor>& anchors);
// The paper's Figure 2: mean IoU against k, as a PNG.
void write_anchor_iou_plot(const std::string& png, const std::vector<std::pair<int, double>>& k_and_iou,
                           const std::string& title);

}  // namespace yolo9k
