// `yolo9k eval` (alias `map`): mAP of a detector over a labelled set (VOC07 11-point, VOC
// all-point, COCO AP@[.5:.95], AP50, AP75), or of detections made elsewhere (comp4 files or
// COCO results JSON) without a network.
#include <iostream>
#include <memory>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/resolve_weights.h"
#include "cli/validators.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"
#include "yolo9k/evaluator.h"
#include "yolo9k/files.h"

namespace yolo9k::cli {
namespace {

struct EvalOptions {
    EvaluationOptions evaluation;
    DetectorOptions detector{.thresh = kEvaluationThresh, .nms = kEvaluationNms};
    bool stretch = false;
    std::string detections, json;
};

}  // namespace

Action add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    CLI::App* sub = app.add_subcommand(
        "eval", "mAP over a labelled set (VOC07 11-point, VOC all-point, COCO): run a detector or score detection files");
    sub->alias("map");
    CLI::Option* data = sub->add_option("--data", o->evaluation.data, "darknet .data file (its valid= list and names=)")
                            ->check(CLI::ExistingFile)
                            ->check(darknet_data_file());
    sub->add_option("--dataset", o->evaluation.data, "VOC folder, folder of VOC XMLs, COCO JSON or darknet list file")
        ->excludes(data);
    sub->add_option("--split", o->evaluation.split, "VOC ImageSets/Main split (e.g. test); with --data: train or valid (default)");
    sub->add_option("--names", o->evaluation.names, "class names fixing the class ids (needed to match a detector's classes)")
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
    add_precision_option(sub, o->detector.precision);
    add_calibration_option(sub, o->detector.calibration);
    sub->add_option("--detections", o->detections,
                    "score these instead of running a network: comp4_det_test_<class>.txt directory/file or COCO results .json");
    sub->add_option("--json", o->json, "write {map50_voc07, map50, map_coco, ap50, ap75, per_class} here");
    sub->add_option("--out", o->evaluation.out_dir, "write comp4 files, coco_results.json and PR curve PNGs here");
    return [o] {
        if (!o->detector.weights.empty()) resolve_weights_name(o->detector.weights, o->detector.cfg);
        const bool run_network = !o->detector.cfg.empty() || !o->detector.weights.empty();
        if (run_network == !o->detections.empty())
            throw Error("give either --cfg and --weights (run a detector) or --detections (score a file), not both");
        if (run_network && (o->detector.cfg.empty() || o->detector.weights.empty()))
            throw Error("running a detector needs both --cfg and --weights");
        Evaluation result;
        if (run_network) {
            o->detector.letterbox = !o->stretch;
            Detector detector(o->detector);
            const bool tty = isatty(2);
            o->evaluation.on_progress = [tty](int done, int total) {
                if (tty || done == total)
                    std::cerr << "\r" << done << "/" << total << " images" << (done == total ? "\n" : "") << std::flush;
            };
            result = evaluate(detector, o->evaluation);
        } else {
            result = evaluate_detections(o->detections, o->evaluation);
        }
        for (const std::string& why : result.skipped) std::cerr << "yolo9k: warning: skipped, not evaluated: " << why << "\n";
        std::cout << to_table(result);
        if (!result.skipped.empty()) std::cout << describe_skipped(result) << "\n";
        if (!o->json.empty()) write_file_atomically(o->json, to_json_text(result, 2) + "\n");
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
