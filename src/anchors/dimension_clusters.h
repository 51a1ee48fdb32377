// Dimension clusters (YOLO9000 §2, "Dimension Clusters"): k-means on the widths and
// heights of training boxes with the distance d(box, centroid) = 1 − IoU(box, centroid),
// both boxes placed at a common centre, so that the clusters maximise overlap rather
// than favouring big boxes the way Euclidean distance would.
//
// Units are the caller's: relative sizes (w/W, h/H) for YOLO anchors, pixels for
// pixel anchors. IoU is scale-free, so the choice only matters when mixing sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace yolo9k {

struct BoxSize {
    double w = 0, h = 0;
    double area() const { return w * h; }
    bool operator==(const BoxSize&) const = default;
};

// IoU of two boxes sharing a centre: min(w)·min(h) / (area_a + area_b − that).
double centred_iou(BoxSize a, BoxSize b);

// How a cluster's centroid follows its members. The median reproduces the paper's
// Table 1 on VOC 2007 (60.6 / 67.6 for k = 5 / 9 vs the paper's 61.0 / 67.2); the mean
// (textbook Lloyd) lands lower (59.1 / 66.5), so the median is the default.
enum class CentroidUpdate { kMedian, kMean };

struct ClusterOptions {
    int k = 5;
    uint64_t seed = 1;
    int restarts = 10;          // independent k-means++ seedings; the best mean IoU wins
    int max_iterations = 1000;  // per restart; stops earlier once assignments settle
    CentroidUpdate update = CentroidUpdate::kMedian;
};

struct Clustering {
    std::vector<BoxSize> centroids;  // sorted by area, smallest first
    std::vector<size_t> counts;      // boxes closest to each centroid (same order)
    double avg_iou = 0;              // mean over boxes of the IoU with their closest centroid
    int iterations = 0;              // Lloyd iterations of the winning restart
    int restart = 0;                 // which restart won
};

// k-means (Lloyd) with the IoU distance. Assignment: each box goes to the centroid of
// highest IoU (ties: the smaller index). Update: the centroid becomes the median (or,
// with kMean, the mean) width and height of its members, each taken separately. Neither
// is the exact minimiser of Σ(1 − IoU) over a cluster (k = 1 returns the median / mean
// box, not the single box of highest mean IoU); we report the converged centroids, as
// standard k-means does. An emptied cluster is re-seeded with the
// box that is worst served by its centroid. Seeding: k-means++ with the same distance
// (next centre drawn with probability ∝ d²). Deterministic for a given seed.
// Throws yolo9k::Error when boxes is empty, a size is not positive and finite, k < 1,
// or k exceeds the number of distinct sizes.
Clustering cluster_box_sizes(const std::vector<BoxSize>& boxes, const ClusterOptions& options);

struct AnchorFit {
    double avg_iou = 0;
    std::vector<size_t> counts;  // boxes closest to each anchor, in the anchors' order
};

// How well a given anchor set covers the boxes: mean IoU of each box with its best anchor.
AnchorFit evaluate_anchors(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors);

size_t count_distinct(const std::vector<BoxSize>& boxes);

}  // namespace yolo9k
