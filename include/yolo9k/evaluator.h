// Measuring a detector's mAP on a labelled dataset: what `yolo9k eval` runs.
//
//   yolo9k::Detector det({.cfg = "yolov2-voc.cfg", .weights = "yolov2-voc.weights",
//                         .thresh = yolo9k::kEvaluationThresh});
//   yolo9k::Evaluation e = yolo9k::evaluate(det, {.data = "voc.data"});
//
// Link yolo9k::yolo9k_train.
#pragma once

#include <string>
#include <vector>

#include "yolo9k/detector.h"
#include "yolo9k/error.h"

namespace yolo9k {

// darknet's `detector valid` keeps nearly every box (threshold .005) before scoring; a
// detector built with a higher thresh reports a lower mAP.
inline constexpr float kEvaluationThresh = .005f;

struct EvaluationOptions {
    std::string data;   // a darknet .data file (its valid= list), or any dataset yolo9k reads
    std::string names;  // class names file; fixes the ids (required for a bare list)
    std::string split;  // .data: "valid" (default) or "train"; a VOC folder: its ImageSets split
};

struct ClassAveragePrecision {
    std::string name;
    int truths = 0;  // non-difficult boxes; the APs are NaN when 0
    double ap_voc07 = 0, ap_voc = 0, ap_coco = 0;
};

struct Evaluation {
    // Means over the classes with boxes: VOC all-point (VOC2010+, darknet's `map`), VOC07
    // 11-point, COCO (IoU .5:.95), COCO AP50 and AP75.
    double map_voc = 0, map_voc07 = 0, map_coco = 0, ap50 = 0, ap75 = 0;
    int images = 0;                    // images evaluated
    std::vector<std::string> skipped;  // unreadable images, "path: why" (not counted)
    std::vector<ClassAveragePrecision> per_class;
};

// Runs `detector` over every image (in batches of its options().batch) and scores the
// boxes. Throws yolo9k::Error naming the file on bad data, or when the detector's class
// count differs from the dataset's.
Evaluation evaluate(Detector& detector, const EvaluationOptions& options);

}  // namespace yolo9k
