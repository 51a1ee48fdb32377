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

// Pixel ground truth (0-based edges, x1 = (x - w/2) * width ...). Images whose size the
// annotation does not give are read from disk for it, unless `sizes` (width, height per
// image) already has it. Throws on an empty dataset.
Truth truth_from_dataset(const Dataset& data, const std::vector<cv::Size>* sizes = nullptr);

struct EvaluateOptions {
    std::function<void(int done, int total)> progress;  // after each batch of images
};

// Runs `detector` over every image of `data` (in batches of its options().batch) and
// returns the detections with their image indices, and each image's size in `sizes`.
// The detector should use kEvalThresh / kEvalNms for mAP; its class count must match.
std::vector<ScoredBox> detect_dataset(Detector& detector, const Dataset& data, std::vector<cv::Size>& sizes,
                                      const EvaluateOptions& options = {});

// detect_dataset + truth_from_dataset + evaluate. For a trainer: build the Detector from
// its in-memory Network (Detector(const Network&, options)) with kEvalThresh / kEvalNms.
EvalResult evaluate(Detector& detector, const Dataset& data, const EvaluateOptions& options = {});

}  // namespace yolo9k::eval
