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

namespace yolo9k {

struct ClassifierTrainOptions {
    std::string data;          // a classification .data, a class-folder root, or a list file
    std::string labels_file;   // class names (overrides the .data's labels; needed for a list file)
    std::string valid;         // validation set (default: the .data's valid, or DIR/valid)
    std::string cfg, weights;  // weights: pretrained / partial (prefix files accepted), optional
    std::string backup_dir;    // default: the .data's backup, else "backup"
    std::string name;          // checkpoint prefix; default: the cfg's file stem
    bool resume = false;
    bool clear = false;        // reset `seen` of the given weights
    uint64_t seed = 1;
    int threads = 0, loader_threads = 2;
    std::string backend = "onednn";
    // Overrides of the cfg's [net]; <= 0 keeps the cfg's.
    int batch = 0, subdivisions = 0, max_batches = 0, size = 0;
    float learning_rate = 0;
    int burn_in = -1;
    bool augment = true;
    int checkpoint_every = 100;
    int save_every = 1000;
    int valid_every = 0;       // top-1 / top-k on the validation set every N iterations (and at the end)
    int top = 0;               // k for top-k (default: the .data's `top`, else 5)
    std::string chart;         // default <backup>/<name>_chart.png
    bool no_chart = false;
    bool quiet = false;
    int64_t stop_after = 0;    // stop after this many iterations in this process (kill/resume tests)
};

struct ClassifierTrainProgress {
    int64_t iteration = 0, max_batches = 0;
    double epoch = 0;  // images seen / training images (darknet's second column)
    float loss = 0, avg_loss = 0, lr = 0, images_per_s = 0, batch_top1 = 0;
    double eta_s = 0;
};

struct ClassifierTrainResult {
    int64_t iterations = 0;
    float final_avg_loss = 0;
    double valid_top1 = -1, valid_topk = -1;  // last validation (-1: none)
    std::string final_weights;
    double seconds = 0, images_per_s = 0;
};

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& options,
                                       std::function<void(const ClassifierTrainProgress&)> on_progress = {});

}  // namespace yolo9k
