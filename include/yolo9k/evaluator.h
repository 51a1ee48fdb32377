// Measuring a detector's mAP on a labelled dataset (what `yolo9k eval` runs), and a
// classifier's top-1 / top-k accuracy (`yolo9k classifier valid`).
//
//   yolo9k::Detector det({.cfg = "yolov2-voc.cfg", .weights = "yolov2-voc.weights",
//                         .thresh = yolo9k::kEvaluationThresh});
//   yolo9k::Evaluation e = yolo9k::evaluate(det, {.data = "voc.data"});
//
// Link yolo9k::yolo9k_train.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "yolo9k/classifier.h"
#include "yolo9k/detector.h"
#include "yolo9k/error.h"

namespace yolo9k {

// darknet's `detector valid` keeps nearly every box (threshold .005) before scoring; a
// detector built with a higher thresh reports a lower mAP.
inline constexpr float kEvaluationThresh = .005f;
inline constexpr float kEvaluationNms = .45f;  // and NMS at IoU .45

struct EvaluationOptions {
    std::string data;   // a darknet .data file (its valid= list), or any dataset yolo9k reads
    std::string names;  // class names file; fixes the ids (required for a bare list)
    std::string split;  // .data: "valid" (default) or "train"; a VOC folder: its ImageSets split
    // Also write here: comp4_det_test_<class>.txt (darknet's `detector valid` files),
    // coco_results.json and precision-recall charts (PNG). Created if missing.
    std::string out_dir;
    std::function<void(int done, int total)> on_progress;  // images detected so far
};

struct ClassAveragePrecision {
    std::string name;
    int truths = 0;  // non-difficult boxes; the APs are NaN when 0
    double ap_voc07 = 0, ap_voc = 0, ap_coco = 0;
    int difficult = 0;   // boxes marked difficult (ignored, as VOC does)
    int detections = 0;  // boxes the detector reported for the class
    double ap50 = 0, ap75 = 0;  // COCO rules at IoU .5 and .75
};

struct Evaluation {
    // Means over the classes with boxes: VOC all-point (VOC2010+, darknet's `map`), VOC07
    // 11-point, COCO (IoU .5:.95), COCO AP50 and AP75.
    double map_voc = 0, map_voc07 = 0, map_coco = 0, ap50 = 0, ap75 = 0;
    int images = 0;                    // images evaluated
    int classes_with_truth = 0;        // the classes the means are over
    std::vector<std::string> skipped;  // unreadable images, "path: why" (not counted)
    std::vector<ClassAveragePrecision> per_class;
};

// Runs `detector` over every image (in batches of its options().batch) and scores the
// boxes. Throws yolo9k::Error naming the file on bad data, or when the detector's class
// count differs from the dataset's.
Evaluation evaluate(Detector& detector, const EvaluationOptions& options);
// Scores detections made elsewhere, without a network: a folder or file of darknet comp4
// lines (comp4_det_test_<class>.txt) or a COCO results .json, against options.data.
Evaluation evaluate_detections(const std::string& detections, const EvaluationOptions& options);

// The per-class table (class, truths, AP VOC07, AP all-point, AP COCO, AP50, AP75) and the
// means, in percent, as `yolo9k eval` prints it.
std::string to_table(const Evaluation& evaluation);
// {map50_voc07, map50, map_coco, ap50, ap75, images, classes_with_truth, skipped_images,
// per_class: [...]}, `yolo9k eval --json`'s schema (NaN as null).
std::string to_json_text(const Evaluation& evaluation, int indent = 2);
// "N unreadable image(s) skipped: FIRST (and K more)"; empty when none was.
std::string describe_skipped(const Evaluation& evaluation);

// ---- Classifiers (darknet's `classifier valid`) ----

struct ClassifierEvaluationOptions {
    // A classification .data, a folder of <class>/ folders (or train/ and valid/), or a
    // list of image paths whose folders name the classes (with `labels`).
    std::string data;
    // train or valid; a folder of class folders without train/ and valid/ is used whole
    // as "train" (and "valid" is an error there, never the training images again).
    std::string split = "valid";
    std::string labels;           // class names, one a line (overrides the .data's labels=)
    int top = 0;                  // k of top-k; 0: the .data's top=, else 5 (at most the classes)
};

struct ClassAccuracyRow {
    std::string name;
    int images = 0;
    double top1 = 0, topk = 0;  // fractions in [0, 1]
};

struct ClassifierEvaluation {
    int images = 0, k = 0;
    double top1 = 0, topk = 0;
    std::vector<ClassAccuracyRow> per_class;
    std::vector<std::string> unreadable;  // images skipped, "path: why"
};

// Every image's central square resized to the network size (darknet's
// validate_classifier_single), top-1 and top-k; unreadable images are named and skipped.
ClassifierEvaluation evaluate_classifier(Classifier& classifier, const ClassifierEvaluationOptions& options);

// `classifier valid --json`'s schema: {images, top1, k, topk, per_class: [{class_id, name,
// images, top1, topk}], unreadable}.
std::string to_json_text(const ClassifierEvaluation& evaluation, int indent = 2);

// What a classification .data says (for labels and top): throws naming the file and line.
struct ClassificationDataInfo {
    std::string labels;  // the labels= file, resolved beside the .data
    int top = 1;
};
ClassificationDataInfo read_classification_data(const std::string& path);

}  // namespace yolo9k
