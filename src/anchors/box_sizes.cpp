#include "anchors/box_sizes.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace yolo9k {
namespace {

bool usable(double w, double h) { return w > 0 && h > 0 && std::isfinite(w) && std::isfinite(h); }

void add_relative(const Dataset& data, BoxSizes& out) {
    for (const LabeledImage& image : data.images)
        for (const TruthBox& b : image.boxes) {
            if (usable(b.w, b.h))
                out.sizes.push_back({b.w, b.h});
            else
                ++out.skipped;
        }
}

}  // namespace

BoxSizes relative_box_sizes(const Dataset& data) {
    BoxSizes out;
    add_relative(data, out);
    return out;
}

BoxSizes relative_box_sizes(const std::vector<Dataset>& datasets) {
    BoxSizes out;
    for (const Dataset& d : datasets) add_relative(d, out);
    return out;
}

BoxSizes pixel_box_sizes(const Dataset& data, double shorter_side, double max_longer_side) {
    BoxSizes out;
    for (const LabeledImage& image : data.images) {
        if (image.boxes.empty()) continue;
        if (image.width <= 0 || image.height <= 0)
            throw Error(image.image_path + ": the annotations give no image size (needed for pixel-sized boxes)");
        const double W = image.width, H = image.height;
        double scale = 1;
        if (shorter_side > 0) {
            scale = shorter_side / std::min(W, H);
            if (max_longer_side > 0) scale = std::min(scale, max_longer_side / std::max(W, H));
        }
        for (const TruthBox& b : image.boxes) {
            if (usable(b.w, b.h))
                out.sizes.push_back({b.w * W * scale, b.h * H * scale});
            else
                ++out.skipped;
        }
    }
    return out;
}

std::vector<BoxSize> faster_rcnn_anchors() {
    std::vector<BoxSize> anchors;
    for (double scale : {128.0, 256.0, 512.0})
        for (double h_over_w : {1.0, 0.5, 2.0})
            anchors.push_back({scale / std::sqrt(h_over_w), scale * std::sqrt(h_over_w)});
    return anchors;
}

double grid_cells(int network_size, int stride) {
    if (network_size <= 0 || stride <= 0)
        throw Error("network size and stride must be positive, got " + std::to_string(network_size) + " and " +
                    std::to_string(stride));
    // The region layer's grid is size/stride cells: a stride that does not divide the size, or
    // exceeds it, describes no network the cfg could hold.
    if (stride > network_size || network_size % stride != 0)
        throw Error("stride " + std::to_string(stride) + " does not divide the network size " +
                    std::to_string(network_size) + " into whole grid cells (YOLOv2: 416 / 32 = 13)");
    return double(network_size) / double(stride);
}

std::vector<BoxSize> relative_to_grid(const std::vector<BoxSize>& relative, double cells) {
    std::vector<BoxSize> out;
    for (BoxSize b : relative) out.push_back({b.w * cells, b.h * cells});
    return out;
}

std::vector<BoxSize> grid_to_relative(const std::vector<BoxSize>& grid, double cells) {
    std::vector<BoxSize> out;
    for (BoxSize b : grid) out.push_back({b.w / cells, b.h / cells});
    return out;
}

}  // namespace yolo9k
