// Detector training (darknet's `detector train`): a .data + .cfg (+ pretrained or
// partial weights) to weights that detect. One iteration = one optimizer step over
// batch images, as `subdivisions` forward/backward passes of batch/subdivisions images.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "train/checkpoint.h"
#include "train/region_loss.h"
#include "train/training_run.h"
#include "yolo9k/trainer.h"  // TrainingEvaluation

namespace yolo9k {

// The run's own options (cfg, weights, backup, resume, [net] overrides, checkpoints, chart)
// are TrainingRunOptions'.
struct TrainOptions : TrainingRunOptions {
    std::string data_file;  // darknet .data (train, valid, names, backup) - or:
    std::string dataset;    // any dataset path load_dataset reads (with names_file)
    std::string split;      // VOC split for `dataset`
    std::string names_file;
    int multiscale = -1;  // -1: the [region]'s random=, 0 off, 1 on
    // Evaluation during training: mAP@.5 on the validation set every N iterations (and at
    // the end), plotted on the chart; the best is kept as <name>_best.weights.
    int map_every = 0;
    std::string valid_split;  // with `dataset`: the VOC split to evaluate on (a .data uses `valid`)
    std::function<void(int64_t iteration, double map50)> on_map;
    std::function<void(const TrainingEvaluation&)> on_evaluation;
    int train_map_images = -1;  // TrainerOptions::train_map_images
    // YOLO9000 joint training: classification-only images (load_class_only_images: a folder
    // of <class name>/ folders or a list), labelled with the detector's class names, mixed
    // into the batches with class_ratio classification images per detection image (each
    // slot draws from the classification set with probability r / (1 + r)). The paper's
    // YOLO9000 run oversamples COCO until ImageNet is only 4:1 larger, i.e. r = 4; the
    // default 1 gives equal shares, the ratio at which a small detection set still teaches
    // localisation (see tests/unit/test_joint_training.cpp).
    std::string class_data;
    double class_ratio = 1;
};

struct TrainProgress {
    int64_t iteration = 0, max_batches = 0;
    float loss = 0, avg_loss = 0, lr = 0, images_per_s = 0;
    double eta_s = 0;
    int width = 0, height = 0;
    RegionLossStats stats;
};

struct TrainResult : TrainingRunResult {};

TrainResult train_detector(const TrainOptions& options, std::function<void(const TrainProgress&)> on_progress = {});

}  // namespace yolo9k
