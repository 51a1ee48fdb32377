// Detection metrics: PASCAL VOC (2007 11-point and 2010+ all-point AP at IoU > .5) and
// COCO (AP averaged over IoU .50:.05:.95 with 101 recall points, AP50, AP75). Pure
// computation on pixel boxes; no file or network I/O (see eval/results_io.h, eval/evaluate.h).
//
// Conventions, each benchmark's own:
//  * VOC (devkit VOCevaldet.m / voc_eval.py): IoU with +1 on widths and heights (inclusive
//    pixel indices); a detection takes the GT of its class in its image with the highest
//    IoU, whether matched or not; IoU > .5 is needed; that GT already matched -> duplicate,
//    FP; that GT `difficult` -> the detection is ignored (neither TP nor FP, any number of
//    times). Difficult GT do not count towards recall.
//  * COCO (pycocotools COCOeval): IoU without +1; per image and class only the 100 best-scored
//    detections count; a detection takes the unmatched GT with the highest IoU >= t,
//    preferring non-ignored GT (`difficult` plays COCO's ignore role); a detection matched to
//    an ignored GT is ignored.
//  * Order: detections are ranked by descending score with a stable sort, so equal scores keep
//    the order they were given in (image order, then the detector's order). Both MATLAB's
//    devkit and pycocotools' mergesort are stable, so this matches them.
//  * Classes with no (non-difficult) GT have no AP (NaN) and are left out of every mean.
#pragma once

#include <string>
#include <vector>

#include "yolo9k/detection.h"

namespace yolo9k::eval {

struct TruthObject {
    int class_id = 0;
    Box box;  // pixels, 0-based edges (x1, y1) .. (x2, y2), as the detector reports them
    bool difficult = false;
};

// Ground truth of a whole set: images[i] are the objects of image i.
struct Truth {
    std::vector<std::string> class_names;
    std::vector<std::string> image_ids;  // VOC ids; the names written into comp4 / COCO files
    std::vector<int> widths, heights;    // pixels, per image (for clamping written boxes)
    std::vector<std::vector<TruthObject>> images;
    int classes() const { return int(class_names.size()); }
};

struct ScoredBox {
    int image = 0;  // index into Truth::images
    int class_id = 0;
    float score = 0;
    Box box;  // pixels, same convention as TruthObject::box
};

// IoU of pixel boxes; plus_one: VOC's inclusive-pixel widths (x2 - x1 + 1).
double box_iou(const Box& a, const Box& b, bool plus_one);

// One class's ranked detections after matching at one IoU threshold.
struct Matches {
    std::vector<float> scores;  // descending; ignored detections left out
    std::vector<char> tp;       // 1 TP, 0 FP, parallel to scores
    int positives = 0;          // non-difficult GT of the class
};
Matches match_voc(const Truth& truth, const std::vector<ScoredBox>& detections, int class_id, double iou_thresh = .5);
Matches match_coco(const Truth& truth, const std::vector<ScoredBox>& detections, int class_id, double iou_thresh,
                   int max_per_image = 100);

// Cumulative recall and precision after each ranked detection.
struct PrCurve {
    std::vector<double> recall, precision;
};
PrCurve pr_curve(const Matches& m);

// VOC2007: mean over recall 0, .1, ..., 1 of the best precision at recall >= r (0 if none).
double ap_voc07(const PrCurve& pr);
// VOC2010+: area under the precision envelope (precision made non-increasing in recall).
double ap_all_point(const PrCurve& pr);
// COCO: mean over recall 0, .01, ..., 1 of the envelope's precision at the first point with
// recall >= r (0 past the last recall reached).
double ap_coco101(const PrCurve& pr);

struct ClassMetrics {
    std::string name;
    int truth = 0;       // non-difficult GT
    int difficult = 0;   // difficult GT (ignored)
    int detections = 0;
    // NaN when the class has no non-difficult GT.
    double ap_voc07 = 0, ap_voc = 0;         // IoU > .5
    double ap_coco = 0, ap50 = 0, ap75 = 0;  // COCO rules
    PrCurve pr;                              // VOC matching at .5, for plotting
    bool has_truth() const { return truth > 0; }
};

struct EvalResult {
    std::vector<ClassMetrics> per_class;
    // Means over the classes with GT (NaN when none has any).
    double map_voc07 = 0, map_voc = 0, map_coco = 0, ap50 = 0, ap75 = 0;
    int classes_with_truth = 0;
    int images = 0;                    // images evaluated
    std::vector<std::string> skipped;  // images that could not be read ("path: why"), not counted
};

// Scores `detections` against `truth` under every rule above.
EvalResult evaluate(const Truth& truth, const std::vector<ScoredBox>& detections);

// The per-class table (class, GT, AP VOC07, AP all-point, AP COCO, AP50, AP75; "—" for
// classes without GT) and the means, in percent.
std::string format_table(const EvalResult& result);

}  // namespace yolo9k::eval
