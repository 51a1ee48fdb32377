// Classifier training (darknet's `classifier train`): Darknet-19 and friends on labelled
// images, softmax + cost loss (train/classifier_loss.h), SGD with the cfg's schedule,
// darknet's classifier augmentation (data/classification_augment.h). One iteration = one
// optimizer step over `batch` images as `subdivisions` forward/backward passes.
// Checkpoints as the detector trainer: <backup>/<name>_last.weights + .state (atomic),
// _<iter>, _best (with valid_every), _final, and <name>_chart.png.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "train/training_run.h"

namespace yolo9k {

// The run's own options (cfg, weights, backup, resume, [net] overrides, checkpoints, chart)
// are TrainingRunOptions'; size is the input side (min_crop / max_crop scale with it).
struct ClassifierTrainOptions : TrainingRunOptions {
    std::string data;          // a classification .data, a class-folder root, or a list file
    std::string labels_file;   // class names (overrides the .data's labels; needed for a list file)
    std::string valid;         // validation set (default: the .data's valid, or DIR/valid)
    int valid_every = 0;       // top-1 / top-k on the validation set every N iterations (and at the end)
    int top = 0;               // k for top-k (default: the .data's `top`, else 5)
};

struct ClassifierTrainProgress {
    int64_t iteration = 0, max_batches = 0;
    double epoch = 0;  // images seen / training images (darknet's second column)
    float loss = 0, avg_loss = 0, lr = 0, images_per_s = 0, batch_top1 = 0;
    double eta_s = 0;
};

struct ClassifierTrainResult : TrainingRunResult {
    double valid_top1 = -1, valid_topk = -1;  // last validation (-1: none)
};

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& options,
                                       std::function<void(const ClassifierTrainProgress&)> on_progress = {});

}  // namespace yolo9k
