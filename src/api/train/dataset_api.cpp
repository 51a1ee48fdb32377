// The public read_dataset() and fit_anchors() over src/data and src/anchors.
#include "anchors/box_sizes.h"
#include "anchors/dimension_clusters.h"
#include "data/dataset.h"
#include "yolo9k/anchors.h"
#include "yolo9k/dataset.h"
#include "yolo9k/detector.h"

namespace yolo9k {

LabelledImages read_dataset(const DatasetReadOptions& options) {
    DatasetOptions o;
    o.split = options.split;
    o.quiet = true;  // the warnings are returned
    if (!options.names.empty()) o.class_names = read_names_file(options.names);
    const Dataset d = load_dataset(options.path, o);
    LabelledImages out;
    out.class_names = d.class_names;
    out.images.reserve(d.images.size());
    for (const LabeledImage& li : d.images) {
        LabelledImage image{li.image_path, li.width, li.height, {}};
        for (const TruthBox& b : li.boxes) image.boxes.push_back({b.class_id, b.x, b.y, b.w, b.h, b.difficult});
        out.images.push_back(std::move(image));
    }
    out.skipped_boxes = d.report.skipped_boxes;
    out.clipped_boxes = d.report.clipped_boxes;
    out.images_without_labels = d.report.images_without_labels;
    out.missing_images = d.report.missing_images;
    out.warnings = d.report.warnings;
    return out;
}

AnchorClusters fit_anchors(const AnchorOptions& options) {
    BoxSizes all;
    DatasetOptions o;
    o.split = options.split;
    o.quiet = true;
    size_t skipped = 0;
    for (const std::string& path : options.datasets) {
        const Dataset d = load_dataset(path, o);
        BoxSizes b = relative_box_sizes(d);
        skipped += d.report.skipped_boxes + b.skipped;
        all.sizes.insert(all.sizes.end(), b.sizes.begin(), b.sizes.end());
    }
    const Clustering c = cluster_box_sizes(all.sizes, {.k = options.k, .seed = options.seed, .restarts = options.restarts});
    const double cells = grid_cells(options.network_size, options.stride);
    AnchorClusters out;
    for (const BoxSize& a : relative_to_grid(c.centroids, cells)) out.anchors.push_back({a.w, a.h});
    out.counts = c.counts;
    out.average_iou = c.avg_iou;
    out.boxes = all.sizes.size();
    out.skipped_boxes = skipped;
    return out;
}

}  // namespace yolo9k
