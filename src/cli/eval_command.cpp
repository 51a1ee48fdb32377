// `yolo9k eval` (alias `map`): mAP of a detector over a labelled set (VOC07 11-point, VOC
// all-point, COCO AP@[.5:.95], AP50, AP75), or of detections made elsewhere (comp4 files or
// COCO results JSON) without a network.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "core/atomic_file.h"
#include "core/json_read.h"
#include "data/dataset.h"
#include "eval/evaluate.h"
#include "eval/pr_plot.h"
#include "eval/results_io.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"

namespace yolo9k::cli {
namespace {

namespace fs = std::filesystem;

struct EvalOptions {
    std::string data_file, dataset, split, names;
    DetectorOptions detector{.thresh = eval::kEvalThresh, .nms = eval::kEvalNms};
    bool stretch = false;
    std::string detections, json, out_dir;
};

}  // namespace

Action add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    CLI::App* sub = app.add_subcommand(
        "eval", "mAP over a labelled set (VOC07 11-point, VOC all-point, COCO): run a detector or score detection files");
    sub->alias("map");
    sub->add_option("--data", o->data_file, "darknet .data file (its valid= list and names=)")->check(CLI::ExistingFile);
    sub->add_option("--dataset", o->dataset, "VOC folder, folder of VOC XMLs, COCO JSON or darknet list file");
    sub->add_option("--split", o->split, "VOC ImageSets/Main split (e.g. test); with --data: train or valid (default)");
    sub->add_option("--names", o->names, "class names fixing the class ids (needed to match a detector's classes)")
        ->check(CLI::ExistingFile);
    sub->add_option("--cfg", o->detector.cfg,
                    "darknet .cfg of the detector to run; with --weights NAME, default: Debian's darknet cfg for it")
        ->check(CLI::ExistingFile);
    sub->add_option("--weights", o->detector.weights,
                    "darknet .weights for --cfg, or a name from `yolo9k weights list` (e.g. yolov2-voc)");
    sub->add_option("--size", o->detector.size, "input size (multiple of 32); default: the cfg's")->check(input_side());
    sub->add_option("--thresh", o->detector.thresh, "score threshold (darknet's valid uses .005)")->check(finite_range(0.0, 1.0));
    sub->add_option("--nms", o->detector.nms, "NMS IoU threshold")->check(finite_range(0.0, 1.0));
    sub->add_flag("--stretch", o->stretch, "resize without keeping the aspect ratio (default: letterbox)");
    sub->add_option("--batch", o->detector.batch, "images per forward pass")->check(CLI::Range(1, 1024));
    sub->add_option("--threads", o->detector.threads, "CPU threads; 0: all cores")->check(CLI::NonNegativeNumber);
    sub->add_option("--backend", o->detector.backend, "what computes (see `yolo9k info --backends`)")
        ->capture_default_str()
        ->check(backend_name());
    sub->add_option("--detections", o->detections,
                    "score these instead of running a network: comp4_det_test_<class>.txt directory/file or COCO results .json");
    sub->add_option("--json", o->json, "write {map50_voc07, map50, map_coco, ap50, ap75, per_class} here");
    sub->add_option("--out", o->out_dir, "write comp4 files, coco_results.json and PR curve PNGs here");
    return [o] {
        if (!o->detector.weights.empty()) resolve_weights_name(o->detector.weights, o->detector.cfg);
        const bool run_network = !o->detector.cfg.empty() || !o->detector.weights.empty();
        if (run_network == !o->detections.empty())
            throw Error("give either --cfg and --weights (run a detector) or --detections (score a file), not both");
        if (run_network && (o->detector.cfg.empty() || o->detector.weights.empty()))
            throw Error("running a detector needs both --cfg and --weights");
        const Dataset data = eval::load_eval_dataset(o->data_file, o->dataset, o->split, o->names);
        std::vector<eval::ScoredBox> detections;
        std::vector<eval::SkippedImage> skipped;
        eval::Truth truth;
        if (run_network) {
            o->detector.letterbox = !o->stretch;
            Detector detector(o->detector);
            std::vector<cv::Size> sizes;
            const bool tty = isatty(2);
            detections = eval::detect_dataset(detector, data, sizes, {.progress = [tty](int done, int total) {
                                                  if (tty || done == total) std::cerr << "\r" << done << "/" << total << " images" << (done == total ? "\n" : "") << std::flush;
                                              }}, &skipped);
            truth = eval::truth_from_dataset(data, &sizes, &skipped);
        } else {
            truth = eval::truth_from_dataset(data);
            detections = eval::read_detections(o->detections, truth);
        }
        eval::EvalResult result = eval::evaluate(truth, detections);
        eval::record_skipped(result, skipped);
        for (const std::string& why : result.skipped) std::cerr << "yolo9k: warning: skipped, not evaluated: " << why << "\n";
        std::cout << eval::format_table(result);
        if (!skipped.empty()) std::cout << eval::describe_skipped(result.skipped) << "\n";
        // --out first: --json may name a file inside it.
        if (!o->out_dir.empty()) fs::create_directories(o->out_dir);
        if (!o->json.empty()) {
            write_file_atomically(o->json, dump_json(eval::to_json(result), 2) + "\n");
        }
        if (!o->out_dir.empty()) {
            eval::write_comp4(o->out_dir, truth, detections);
            eval::write_coco_results((fs::path(o->out_dir) / "coco_results.json").string(), truth, detections);
            eval::write_pr_charts(o->out_dir, result);
        }
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
