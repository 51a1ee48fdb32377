// Evaluation against a labelled dataset: ground truth in pixels from data/dataset.h, a
// Detector run over every image (what `yolo9k eval` and a trainer call), and scoring.
#pragma once

#include <functional>
#include <vector>

#include "data/dataset.h"
#include "eval/metrics.h"
#include "yolo9k/detector.h"

namespace yolo9k::eval {

// darknet's `detector valid` settings: keep nearly every box, NMS .45, letterbox.
constexpr float kEvalThresh = .005f;
constexpr float kEvalNms = .45f;

// The evaluated set as `yolo9k eval` takes it: a darknet .data file (`split`: its "valid"
// list by default, or "train"; classes from its names=), or any form load_dataset reads
// (`split`: the VOC ImageSets/Main split). `names` (a .names file), when given, fixes the ids.
Dataset load_eval_dataset(const std::string& data_file, const std::string& dataset, const std::string& split,
                          const std::string& names);

// An image evaluation could not read (truncated, not an image, missing): like the training
// loader, evaluation skips it, counts it and names it rather than failing the whole run.
struct SkippedImage {
    size_t index = 0;  // in the dataset
    std::string why;   // the reader's message, naming the file
};

// Pixel ground truth (0-based edges, x1 = (x - w/2) * width ...). Images whose size the
// annotation does not give are read from disk for it, unless `sizes` (width, height per
// image) already has it. Images in `skipped` keep their place with no objects, so they
// count neither as misses nor as false positives. Throws on an empty dataset.
Truth truth_from_dataset(const Dataset& data, const std::vector<cv::Size>* sizes = nullptr,
                         const std::vector<SkippedImage>* skipped = nullptr);

struct EvaluateOptions {
    std::function<void(int done, int total)> progress;  // after each batch of images
    std::string out_dir;  // also write comp4 files, coco_results.json and PR charts here
};

// Writes `dir`/comp4_det_test_<class>.txt, coco_results.json and the PR charts (creates dir).
void write_evaluation_files(const std::string& dir, const Truth& truth, const std::vector<ScoredBox>& detections,
                            const EvalResult& result);

// Runs `detector` over every image of `data` (in batches of its options().batch) and
// returns the detections with their image indices, and each image's size in `sizes`.
// Unreadable images are left out and listed in `skipped` (when given; otherwise the first
// one throws). The detector should use kEvalThresh / kEvalNms; its class count must match.
std::vector<ScoredBox> detect_dataset(Detector& detector, const Dataset& data, std::vector<cv::Size>& sizes,
                                      const EvaluateOptions& options = {},
                                      std::vector<SkippedImage>* skipped = nullptr);

// detect_dataset + truth_from_dataset + evaluate. For a trainer: build the Detector from
// its in-memory Network (Detector(ModelAccess::view(net), options)) with kEvalThresh / kEvalNms.
// Takes the skipped images out of result.images and names them in result.skipped.
void record_skipped(EvalResult& result, const std::vector<SkippedImage>& skipped);

// Unreadable images are skipped: result.skipped names them, result.images excludes them.
EvalResult evaluate(Detector& detector, const Dataset& data, const EvaluateOptions& options = {});

// "N unreadable image(s) skipped: FIRST (and K more)" for a console line; empty when none.
std::string describe_skipped(const std::vector<std::string>& skipped);

}  // namespace yolo9k::eval
