// The public dataset API (read, check, crop) and the anchors API over src/data and src/anchors.
#include "anchors/anchor_cfg.h"
#include "anchors/box_sizes.h"
#include "anchors/dimension_clusters.h"
#include "anchors/iou_plot.h"
#include "core/error.h"
#include "data/box_crops.h"
#include "data/dataset.h"
#include "data/image_check.h"
#include "yolo9k/anchors.h"
#include "yolo9k/dataset.h"
#include "yolo9k/detector.h"

namespace yolo9k {

namespace {

LabelledImages to_labelled_images(const Dataset& d) {
    LabelledImages out;
    out.class_names = d.class_names;
    out.images.reserve(d.images.size());
    for (const LabeledImage& li : d.images) {
        LabelledImage image{li.image_path, li.width, li.height, {}, li.id};
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

// The boxes and paths that crops and image checks need (the report stays behind).
Dataset to_dataset(const LabelledImages& set) {
    Dataset d;
    d.class_names = set.class_names;
    d.images.reserve(set.images.size());
    for (const LabelledImage& image : set.images) {
        LabeledImage li{.id = image.id, .image_path = image.path, .width = image.width, .height = image.height};
        for (const LabelledBox& b : image.boxes) li.boxes.push_back({b.class_id, b.x, b.y, b.w, b.h, b.difficult});
        d.images.push_back(std::move(li));
    }
    return d;
}

}  // namespace

LabelledImages read_dataset(const DatasetReadOptions& options) {
    DatasetOptions o;
    o.split = options.split;
    o.quiet = true;  // the warnings are returned
    o.class_names = options.names.empty() ? options.class_names : read_names_file(options.names);
    std::vector<std::string> paths = options.more_paths;
    if (!options.path.empty()) paths.insert(paths.begin(), options.path);
    if (paths.empty()) throw Error("read_dataset: no dataset named (DatasetReadOptions::path is empty)");
    return to_labelled_images(load_datasets(paths, o));
}

std::vector<size_t> count_boxes_per_class(const LabelledImages& set) {
    std::vector<size_t> counts(set.class_names.size());
    for (const LabelledImage& image : set.images)
        for (const LabelledBox& b : image.boxes)
            if (b.class_id >= 0 && size_t(b.class_id) < counts.size()) ++counts[size_t(b.class_id)];
    return counts;
}

std::vector<UnreadableImage> find_unreadable_images(const LabelledImages& set, int threads,
                                                    const std::function<void(size_t, size_t)>& progress) {
    return find_unreadable_images(to_dataset(set), threads, progress);
}

CropReport write_box_crops(const std::vector<CropSplitSource>& splits, const std::string& out_dir,
                           const CropOptions& options) {
    if (splits.empty()) throw Error(out_dir + ": no split to crop");
    std::vector<CropSplit> internal;
    for (const CropSplitSource& s : splits) {
        if (s.images.class_names != splits.front().images.class_names)
            throw Error("box crops: split '" + s.name + "' numbers its classes differently from '" + splits.front().name +
                        "' (read both with the same class names)");
        internal.push_back({s.name, to_dataset(s.images)});
    }
    return write_box_crops(internal, splits.front().images.class_names, out_dir, options);
}

namespace {

std::vector<BoxSize> to_box_sizes(const std::vector<Anchor>& anchors) {
    std::vector<BoxSize> out;
    out.reserve(anchors.size());
    for (const Anchor& a : anchors) out.push_back({a.w, a.h});
    return out;
}

std::vector<Anchor> to_anchors(const std::vector<BoxSize>& sizes) {
    std::vector<Anchor> out;
    out.reserve(sizes.size());
    for (const BoxSize& b : sizes) out.push_back({b.w, b.h});
    return out;
}

}  // namespace

LabelledBoxes read_box_sizes(const std::vector<std::string>& datasets, const std::string& split) {
    LabelledBoxes all;
    DatasetOptions o;
    o.split = split;
    o.quiet = true;  // images need not exist for anchors; skipped boxes are counted and returned
    size_t images = 0;
    for (const std::string& path : datasets) {
        const Dataset d = load_dataset(path, o);
        const BoxSizes b = relative_box_sizes(d);
        DatasetBoxCount count{path, d.images.size(), b.sizes.size(), d.report.skipped_boxes + b.skipped, {}};
        for (const std::string& w : d.report.warnings)
            if (w.find("skipped") != std::string::npos) count.warnings.push_back(w);
        images += d.images.size();
        all.skipped += count.skipped;
        for (const BoxSize& s : b.sizes) all.sizes.push_back({s.w, s.h});
        all.datasets.push_back(std::move(count));
    }
    if (all.sizes.empty())
        throw Error("no usable boxes in " + std::string(datasets.size() == 1 ? datasets[0] : "the datasets") + " (" +
                    std::to_string(images) + " images, " + std::to_string(all.skipped) +
                    " boxes skipped); nothing to cluster");
    return all;
}

AnchorClusters cluster_anchors(const LabelledBoxes& boxes, const AnchorOptions& options) {
    const Clustering c = cluster_box_sizes(
        to_box_sizes(boxes.sizes),
        {.k = options.k, .seed = options.seed, .restarts = options.restarts,
         .update = options.update == AnchorUpdate::mean ? CentroidUpdate::kMean : CentroidUpdate::kMedian});
    AnchorClusters out;
    out.anchors = to_anchors(relative_to_grid(c.centroids, grid_cells(options.network_size, options.stride)));
    out.counts = c.counts;
    out.average_iou = c.avg_iou;
    out.boxes = boxes.sizes.size();
    out.skipped_boxes = boxes.skipped;
    return out;
}

AnchorClusters fit_anchors(const AnchorOptions& options) {
    return cluster_anchors(read_box_sizes(options.datasets, options.split), options);
}

AnchorScore score_anchors(const LabelledBoxes& boxes, const std::vector<Anchor>& anchors, int network_size, int stride) {
    const AnchorFit fit = evaluate_anchors(to_box_sizes(boxes.sizes),
                                           grid_to_relative(to_box_sizes(anchors), grid_cells(network_size, stride)));
    return {fit.avg_iou, fit.counts};
}

std::string format_anchors(const std::vector<Anchor>& anchors) { return format_box_sizes(to_box_sizes(anchors)); }
std::vector<Anchor> parse_anchors(const std::string& text, const std::string& what) {
    return to_anchors(parse_box_sizes(text, what));
}
std::vector<Anchor> read_region_anchors(const std::string& cfg) { return to_anchors(read_region_box_sizes(cfg)); }
void write_cfg_with_anchors(const std::string& cfg_in, const std::string& cfg_out, const std::vector<Anchor>& anchors) {
    write_cfg_with_box_sizes(cfg_in, cfg_out, to_box_sizes(anchors));
}
void write_anchor_iou_plot(const std::string& png, const std::vector<std::pair<int, double>>& k_and_iou,
                           const std::string& title) {
    std::vector<IouPoint> points;
    for (const auto& [k, iou] : k_and_iou) points.push_back({k, iou});
    write_iou_plot(png, points, title);
}

}  // namespace yolo9k
