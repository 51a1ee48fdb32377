// `yolo9k anchors`: dimension clusters (k-means with the IoU distance) on a dataset's
// boxes, printed as a [region] anchors= line; a k sweep with plot/CSV (the paper's
// Figure 2); a cfg rewritten with the new anchors; the IoU of a given anchor set.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "yolo9k/anchors.h"
#include "yolo9k/error.h"
#include "yolo9k/files.h"

namespace yolo9k::cli {
namespace {

struct AnchorsOptions {
    AnchorOptions fit;  // datasets, split, k, network size, stride, seed, restarts, update
    std::string k_range;
    std::string json, plot, csv, cfg_in, cfg_out, eval_anchors, eval_cfg;
};

struct KRange {
    int lo, hi;
};

KRange parse_k_range(const std::string& text) {
    int lo = 0, hi = 0, used = 0;
    if (std::sscanf(text.c_str(), "%d..%d%n", &lo, &hi, &used) != 2 || used != int(text.size()) || lo < 1 || hi < lo)
        throw Error("expected A..B with 1 <= A <= B, got '" + text + "'");
    return {lo, hi};
}

std::string percent(double iou) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.2f%%", iou * 100);
    return buf;
}

nlohmann::json pairs(const std::vector<Anchor>& anchors) {
    nlohmann::json out = nlohmann::json::array();
    for (Anchor a : anchors) out.push_back({a.w, a.h});
    return out;
}

std::vector<Anchor> relative(const std::vector<Anchor>& grid, double cells) {
    std::vector<Anchor> out;
    for (Anchor a : grid) out.push_back({a.w / cells, a.h / cells});
    return out;
}

nlohmann::json clustering_json(int k, const AnchorClusters& c, double cells) {
    return {{"k", k},
            {"anchors", pairs(c.anchors)},
            {"anchors_relative", pairs(relative(c.anchors, cells))},
            {"avg_iou", c.average_iou},
            {"counts", c.counts}};
}

void print_clustering(int k, const AnchorClusters& c, double cells) {
    std::cout << "k = " << k << ": avg IoU " << percent(c.average_iou) << "\n"
              << "anchors = " << format_anchors(c.anchors) << "\n";
    std::printf("%8s %9s %9s %8s %8s %7s\n", "cluster", "w (cells)", "h (cells)", "w (rel)", "h (rel)", "boxes");
    for (size_t i = 0; i < c.anchors.size(); ++i)
        std::printf("%8zu %9.2f %9.2f %8.4f %8.4f %7zu\n", i, c.anchors[i].w, c.anchors[i].h, c.anchors[i].w / cells,
                    c.anchors[i].h / cells, c.counts[i]);
    std::fflush(stdout);
}


// All boxes of all datasets, each dataset's counts and skipped-box warnings printed.
LabelledBoxes load_boxes(const AnchorOptions& o) {
    LabelledBoxes all = read_box_sizes(o.datasets, o.split);
    for (const DatasetBoxCount& d : all.datasets) {
        std::cout << d.path << ": " << d.images << " images, " << d.boxes << " boxes";
        if (d.skipped) std::cout << " (" << d.skipped << " skipped: zero-size, outside the image or unknown class)";
        std::cout << "\n";
        for (const std::string& w : d.warnings) std::cerr << "yolo9k: warning: " << w << "\n";
    }
    return all;
}

}  // namespace

Action add_anchors_command(CLI::App& app) {
    auto o = std::make_shared<AnchorsOptions>();
    CLI::App* sub = app.add_subcommand("anchors", "Dimension clusters: k-means (1 - IoU) anchors for a dataset's boxes");
    sub->add_option("--dataset", o->fit.datasets, "a .data file, VOC folder, folder of VOC XMLs, COCO JSON or list (several allowed)")
        ->required()
        ->expected(1, -1);
    sub->add_option("--split", o->fit.split, "VOC split (ImageSets/Main/<split>.txt); default: every annotation");
    CLI::Option* k = sub->add_option("--k", o->fit.k, "number of clusters (default 5)")->check(CLI::Range(1, 1000));
    CLI::Option* range = sub->add_option("--k-range", o->k_range, "sweep k over A..B: table, --plot and --csv")
                             ->excludes(k)
                             ->check(CLI::Validator(
                                 [](std::string& text) {
                                     try {
                                         parse_k_range(text);
                                         return std::string();
                                     } catch (const Error& e) {
                                         return std::string(e.what());
                                     }
                                 },
                                 "A..B"));
    sub->add_option("--size", o->fit.network_size, "network input size: anchors are in cells of size/stride")->check(CLI::PositiveNumber);
    sub->add_option("--stride", o->fit.stride, "network stride (32 for YOLOv2)")->check(CLI::PositiveNumber);
    sub->add_option("--seed", o->fit.seed, "random seed (same seed, same anchors)");
    sub->add_option("--restarts", o->fit.restarts, "k-means++ restarts; the best avg IoU wins")->check(CLI::Range(1, 10000));
    const std::map<std::string, AnchorUpdate> updates = {{"median", AnchorUpdate::median},
                                                          {"mean", AnchorUpdate::mean}};
    sub->add_option("--update", o->fit.update, "centroid update: median (default; matches the paper's Table 1) or mean")
        ->transform(CLI::CheckedTransformer(updates));
    sub->add_option("--json", o->json, "write {k, anchors, avg_iou, counts} (a list for --k-range)");
    sub->add_option("--plot", o->plot, "with --k-range: avg IoU vs k as an image (.png)")->needs(range);
    sub->add_option("--csv", o->csv, "write k,avg_iou,anchors rows");
    CLI::Option* cfg_in = sub->add_option("--cfg", o->cfg_in, "a cfg to copy with the new [region] anchors")
                              ->check(CLI::ExistingFile)
                              ->excludes(range);
    CLI::Option* cfg_out = sub->add_option("--cfg-out", o->cfg_out, "where the copy goes")->needs(cfg_in);
    cfg_in->needs(cfg_out);
    CLI::Option* eval = sub->add_option("--eval-anchors", o->eval_anchors, "also report the avg IoU of these anchors ('w,h, w,h...', cells)");
    sub->add_option("--eval-cfg", o->eval_cfg, "also report the avg IoU of a cfg's [region] anchors")
        ->check(CLI::ExistingFile)
        ->excludes(eval);

    return [o, k, range, cfg_in] {
        const bool evaluating = !o->eval_anchors.empty() || !o->eval_cfg.empty();
        // Evaluating a given set alone is a common question; cluster only when asked to or
        // when nothing else was asked.
        const bool clustering = !evaluating || k->count() || range->count() || cfg_in->count();
        std::optional<KRange> sweep;
        if (range->count()) sweep = parse_k_range(o->k_range);

        const LabelledBoxes boxes = load_boxes(o->fit);
        const double cells = grid_cells(o->fit.network_size, o->fit.stride);
        std::cout << "network " << o->fit.network_size << " / stride " << o->fit.stride << " = " << cells
                  << " cells: anchors below are in grid cells (relative size x " << cells << ")\n";
        nlohmann::json json;
        std::string csv = "k,avg_iou,anchors\n";

        if (clustering && sweep) {
            std::vector<std::pair<int, double>> points;
            json = nlohmann::json::array();
            std::printf("%4s %9s  %s\n", "k", "avg IoU", "anchors");
            for (int kk = sweep->lo; kk <= sweep->hi; ++kk) {
                AnchorOptions fit = o->fit;
                fit.k = kk;
                const AnchorClusters c = cluster_anchors(boxes, fit);
                const std::string a = format_anchors(c.anchors);
                std::printf("%4d %9s  %s\n", kk, percent(c.average_iou).c_str(), a.c_str());
                std::fflush(stdout);
                points.push_back({kk, c.average_iou});
                json.push_back(clustering_json(kk, c, cells));
                csv += std::to_string(kk) + "," + std::to_string(c.average_iou) + ",\"" + a + "\"\n";
            }
            if (!o->plot.empty()) {
                write_anchor_iou_plot(o->plot, points, "Dimension clusters: " + std::to_string(boxes.sizes.size()) + " boxes");
                std::cout << "plot: " << o->plot << "\n";
            }
        } else if (clustering) {
            const AnchorClusters c = cluster_anchors(boxes, o->fit);
            print_clustering(o->fit.k, c, cells);
            json = clustering_json(o->fit.k, c, cells);
            csv += std::to_string(o->fit.k) + "," + std::to_string(c.average_iou) + ",\"" + format_anchors(c.anchors) + "\"\n";
            if (!o->cfg_out.empty()) {
                write_cfg_with_anchors(o->cfg_in, o->cfg_out, c.anchors);
                std::cout << "cfg: " << o->cfg_out << " ([region] anchors, num and the filters before it replaced)\n";
            }
        }

        if (evaluating) {
            const std::vector<Anchor> given = o->eval_cfg.empty() ? parse_anchors(o->eval_anchors, "--eval-anchors")
                                                                  : read_region_anchors(o->eval_cfg);
            const AnchorScore fit = score_anchors(boxes, given, o->fit.network_size, o->fit.stride);
            std::cout << "given anchors (" << (o->eval_cfg.empty() ? "--eval-anchors" : o->eval_cfg)
                      << "): " << given.size() << " anchors, avg IoU " << percent(fit.average_iou) << "\n"
                      << "anchors = " << format_anchors(given) << "\nboxes per anchor:";
            for (size_t n : fit.counts) std::cout << " " << n;
            std::cout << "\n";
            const nlohmann::json e = {{"k", given.size()}, {"anchors", pairs(given)}, {"avg_iou", fit.average_iou},
                                      {"counts", fit.counts}};
            if (clustering)
                json = {{"clusters", json}, {"given", e}};
            else
                json = e;
            if (!clustering) csv += std::to_string(given.size()) + "," + std::to_string(fit.average_iou) + ",\"" +
                                    format_anchors(given) + "\"\n";
        }

        if (!o->json.empty()) write_file_atomically(o->json, json.dump(2) + "\n");  // numbers only: dump cannot throw
        if (!o->csv.empty()) write_file_atomically(o->csv, csv);
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
