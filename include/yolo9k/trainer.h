// Training a YOLOv2 detector from C++: what `yolo9k train` runs (darknet's `detector train`).
//
//   yolo9k::Trainer trainer({.cfg = "yolov2-voc.cfg", .data = "voc.data"});
//   trainer.on_progress([](const yolo9k::TrainingProgress& p) { ... });
//   yolo9k::TrainingSummary s = trainer.run();  // another thread may call trainer.cancel()
//
// Checkpoints are written atomically to <backup>/<name>_last.weights (+ .state) every
// checkpoint_every steps and when the run is cancelled, so `resume` continues exactly.
// Classifiers (Darknet-19 and friends) train with ClassifierTrainer, which takes the same
// run options. Under mpirun, both train one model data-parallel (yolo9k/distributed.h).
// Link yolo9k::yolo9k_train.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "yolo9k/error.h"

namespace yolo9k {

struct TrainerOptions {
    std::string cfg;      // network .cfg ending in [region]
    std::string data;     // a darknet .data file, or any dataset yolo9k reads (VOC folder, COCO JSON, list)
    std::string names;    // class names file (required for a dataset path that does not name its classes)
    std::string split;    // VOC split (ImageSets/Main/<split>.txt) for a dataset path
    std::string weights;  // pretrained or partial (.conv.23) weights; empty: random initialisation
    std::string backup_dir;  // checkpoints; default: the .data's backup=, else "backup"
    std::string name;        // checkpoint prefix; default: the cfg's file stem
    std::string backend = "onednn";
    bool resume = false;  // continue from <backup>/<name>_last.weights and its .state
    bool clear = false;   // start the schedule at 0 although the weights have seen images (darknet's -clear)
    uint64_t seed = 1;    // a run is reproducible from it
    // Layers that start from random weights: the scale of the convolutions without batch norm
    // (the head) against darknet's He-scaled draw. 1: Debian darknet's; 1/sqrt(3) (0.577):
    // AlexeyAB darknet's, which a sparse set learns from much sooner (README, "When
    // objectness stays near zero").
    float head_init_scale = 1;
    int threads = 0;      // 0: all cores
    int loader_threads = 2;  // image decoding and augmentation, ahead of the steps
    // Overrides of the cfg's [net]; 0 (burn_in: -1) keeps the cfg's value.
    int batch = 0, subdivisions = 0, max_batches = 0, size = 0;
    float learning_rate = 0;
    int burn_in = -1;
    int multiscale = -1;  // -1: the [region]'s random=; 0 off; 1 on
    bool augment = true;
    int checkpoint_every = 100;  // <name>_last.weights
    int save_every = 1000;       // <name>_<iteration>.weights
    int map_every = 0;           // mAP@.5 on the validation set every N steps (0: never)
    std::string valid_split;     // with a dataset path: the split map_every evaluates
    // With map_every: also mAP@.5 on this many training images (evenly spaced, unaugmented, at
    // the cfg's size), so a model that does not learn (both low) can be told from one that
    // overfits (training high, validation low). -1: as many as the validation set, at most
    // 500; 0: not measured.
    int train_map_images = -1;
    // YOLO9000 joint training: classification-only images (a folder of <class name>/
    // folders, or a list whose folders name the classes), mixed into the batches with
    // class_ratio of them per detection image (the paper's YOLO9000: 4).
    std::string class_data;
    double class_ratio = 1;
    bool chart = true;           // draw the loss (and map_every) chart
    std::string chart_path;      // default: <backup>/<name>_chart.png
    int64_t stop_after = 0;      // end this call, saved as after cancel(), after N steps (0: no limit)
    bool quiet = false;          // no progress lines through the log sink (callbacks still run)
    // Under mpirun (yolo9k/distributed.h): seconds one step's exchange may wait for the other
    // ranks before the whole job is ended as hung (a rank died or stopped); <= 0: forever.
    double collective_timeout_s = 300;
};

struct TrainingProgress {
    int64_t iteration = 0, max_batches = 0;
    float loss = 0, average_loss = 0, learning_rate = 0, images_per_second = 0;
    double eta_seconds = 0;
    int width = 0, height = 0;  // the input size of this step (multi-scale)
    // Over this step's boxes: mean IoU of the best anchor, recall at IoU .5, objectness at
    // the responsible anchors and elsewhere.
    float average_iou = 0, recall50 = 0, objectness = 0, no_objectness = 0;
};

struct TrainingEvaluation {
    int64_t iteration = 0;
    double map50 = 0;            // on the validation set
    double train_map50 = -1;     // on the training images (-1: not measured)
    int images = 0, train_images = 0;
};

struct TrainingSummary {
    int64_t iterations = 0;           // where the schedule stands
    int64_t iterations_this_run = 0;  // steps this call took (fewer after a resume)
    float final_average_loss = 0;
    std::string final_weights;  // <backup>/<name>_final.weights, or _last when cancelled
    double seconds = 0, images_per_second = 0;
    bool cancelled = false;
    int ranks = 1;                     // processes of the data-parallel job (yolo9k/distributed.h)
    double communication_seconds = 0;  // of `seconds`, spent exchanging gradients between ranks
    double waiting_seconds = 0;        // of `seconds`, waiting for the slowest rank to finish its passes
};

class Trainer {
public:
    explicit Trainer(TrainerOptions options);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    // Called on the training thread after every step.
    void on_progress(std::function<void(const TrainingProgress&)> callback);
    // Called after each map_every evaluation.
    void on_map(std::function<void(int64_t iteration, double map50)> callback);
    // The same, with the training-set mAP beside the validation one.
    void on_evaluation(std::function<void(const TrainingEvaluation&)> callback);
    // Safe from any thread: the step in progress finishes, is saved as <name>_last, and
    // run() returns with cancelled = true.
    void cancel();
    // Trains until max_batches (or cancel()). Throws yolo9k::Error on bad input.
    TrainingSummary run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Training a classifier (darknet's `classifier train`): softmax cross-entropy on class
// folders or a classification .data, with darknet's crop/flip/HSV augmentation.
struct ClassifierTrainerOptions {
    std::string cfg;     // a .cfg whose output layer is [softmax]
    std::string data;    // a classification .data, a folder of <class>/ folders (or train/ and valid/), or a list
    std::string labels;  // class names, one a line (overrides the .data's; needed for a list)
    std::string valid;   // the validation set; default: the .data's valid=, or DATA/valid
    std::string weights;     // pretrained or partial weights; empty: random initialisation
    std::string backup_dir;  // default: the .data's backup=, else "backup"
    std::string name;        // checkpoint prefix; default: the cfg's file stem
    std::string backend = "onednn";
    bool resume = false, clear = false;
    uint64_t seed = 1;
    int threads = 0, loader_threads = 2;
    int batch = 0, subdivisions = 0, max_batches = 0, size = 0;  // 0 keeps the cfg's
    float learning_rate = 0;
    int burn_in = -1;
    bool augment = true;
    int checkpoint_every = 100, save_every = 1000;
    int valid_every = 0;  // top-1 / top-k on the validation set every N steps; keeps <name>_best
    int top = 0;          // k of top-k; default: the .data's top=, else 5
    bool chart = true;
    std::string chart_path;
    int64_t stop_after = 0;
    bool quiet = false;
    double collective_timeout_s = 300;  // as TrainerOptions'
    float head_init_scale = 1;          // as TrainerOptions'
};

struct ClassifierTrainingProgress {
    int64_t iteration = 0, max_batches = 0;
    double epoch = 0;  // images seen / training images
    float loss = 0, average_loss = 0, learning_rate = 0, images_per_second = 0;
    float batch_top1 = 0;  // this step's training accuracy
    double eta_seconds = 0;
};

struct ClassifierTrainingSummary : TrainingSummary {
    double valid_top1 = -1, valid_topk = -1;  // the last validation (-1: none ran)
};

class ClassifierTrainer {
public:
    explicit ClassifierTrainer(ClassifierTrainerOptions options);
    ~ClassifierTrainer();
    ClassifierTrainer(const ClassifierTrainer&) = delete;
    ClassifierTrainer& operator=(const ClassifierTrainer&) = delete;

    void on_progress(std::function<void(const ClassifierTrainingProgress&)> callback);
    void cancel();  // as Trainer::cancel()
    ClassifierTrainingSummary run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace yolo9k
