// The public Trainer and ClassifierTrainer over the library's trainers (src/train/).
#include "yolo9k/trainer.h"

#include <atomic>

#include "api/train/data_path.h"
#include "train/classifier_trainer.h"
#include "train/trainer.h"

namespace yolo9k {
namespace {

// The options every run has, under the same names in both public option structs.
template <class Public>
void copy_run_options(const Public& p, TrainingRunOptions& o, const std::atomic<bool>& cancelled) {
    o.cfg = p.cfg;
    o.weights = p.weights;
    o.backup_dir = p.backup_dir;
    o.name = p.name;
    o.backend = p.backend;
    o.resume = p.resume;
    o.clear = p.clear;
    o.seed = p.seed;
    o.head_init_scale = p.head_init_scale;
    o.threads = p.threads;
    o.loader_threads = p.loader_threads;
    o.batch = p.batch;
    o.subdivisions = p.subdivisions;
    o.max_batches = p.max_batches;
    o.size = p.size;
    o.learning_rate = p.learning_rate;
    o.burn_in = p.burn_in;
    o.augment = p.augment;
    o.checkpoint_every = p.checkpoint_every;
    o.save_every = p.save_every;
    o.no_chart = !p.chart;
    o.chart = p.chart_path;
    o.stop_after = p.stop_after;
    o.quiet = p.quiet;
    o.collective_timeout_s = p.collective_timeout_s;
    o.stop_requested = [&cancelled] { return cancelled.load(); };
}

void copy_summary(const TrainingRunResult& r, TrainingSummary& s) {
    s.iterations = r.iterations;
    s.iterations_this_run = r.iterations_this_run;
    s.final_average_loss = r.final_avg_loss;
    s.final_weights = r.final_weights;
    s.seconds = r.seconds;
    s.images_per_second = r.images_per_s;
    s.cancelled = r.interrupted;
    s.ranks = r.ranks;
    s.communication_seconds = r.communication_seconds;
    s.waiting_seconds = r.waiting_seconds;
}

}  // namespace

struct Trainer::Impl {
    TrainerOptions options;
    std::function<void(const TrainingProgress&)> on_progress;
    std::function<void(int64_t, double)> on_map;
    std::function<void(const TrainingEvaluation&)> on_evaluation;
    std::atomic<bool> cancelled{false};
};

Trainer::Trainer(TrainerOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }
Trainer::~Trainer() = default;

void Trainer::on_progress(std::function<void(const TrainingProgress&)> callback) { impl_->on_progress = std::move(callback); }
void Trainer::on_map(std::function<void(int64_t, double)> callback) { impl_->on_map = std::move(callback); }
void Trainer::on_evaluation(std::function<void(const TrainingEvaluation&)> callback) {
    impl_->on_evaluation = std::move(callback);
}
void Trainer::cancel() { impl_->cancelled = true; }

TrainingSummary Trainer::run() {
    const TrainerOptions& p = impl_->options;
    TrainOptions o;
    copy_run_options(p, o, impl_->cancelled);
    (is_darknet_data_file(p.data) ? o.data_file : o.dataset) = p.data;
    o.names_file = p.names;
    o.split = p.split;
    o.multiscale = p.multiscale;
    o.map_every = p.map_every;
    o.valid_split = p.valid_split;
    o.class_data = p.class_data;
    o.class_ratio = p.class_ratio;
    o.on_map = impl_->on_map;
    o.on_evaluation = impl_->on_evaluation;
    o.train_map_images = p.train_map_images;

    const TrainResult r = train_detector(o, [this](const TrainProgress& t) {
        if (!impl_->on_progress) return;
        TrainingProgress out;
        out.iteration = t.iteration;
        out.max_batches = t.max_batches;
        out.loss = t.loss;
        out.average_loss = t.avg_loss;
        out.learning_rate = t.lr;
        out.images_per_second = t.images_per_s;
        out.eta_seconds = t.eta_s;
        out.width = t.width;
        out.height = t.height;
        out.average_iou = t.stats.avg_iou;
        out.recall50 = t.stats.recall50;
        out.objectness = t.stats.avg_obj;
        out.no_objectness = t.stats.avg_noobj;
        impl_->on_progress(out);
    });
    TrainingSummary s;
    copy_summary(r, s);
    return s;
}

struct ClassifierTrainer::Impl {
    ClassifierTrainerOptions options;
    std::function<void(const ClassifierTrainingProgress&)> on_progress;
    std::atomic<bool> cancelled{false};
};

ClassifierTrainer::ClassifierTrainer(ClassifierTrainerOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
}
ClassifierTrainer::~ClassifierTrainer() = default;

void ClassifierTrainer::on_progress(std::function<void(const ClassifierTrainingProgress&)> callback) {
    impl_->on_progress = std::move(callback);
}
void ClassifierTrainer::cancel() { impl_->cancelled = true; }

ClassifierTrainingSummary ClassifierTrainer::run() {
    const ClassifierTrainerOptions& p = impl_->options;
    ClassifierTrainOptions o;
    copy_run_options(p, o, impl_->cancelled);
    o.data = p.data;
    o.labels_file = p.labels;
    o.valid = p.valid;
    o.valid_every = p.valid_every;
    o.top = p.top;
    const ClassifierTrainResult r = train_classifier(o, [this](const ClassifierTrainProgress& t) {
        if (!impl_->on_progress) return;
        impl_->on_progress({.iteration = t.iteration, .max_batches = t.max_batches, .epoch = t.epoch, .loss = t.loss,
                            .average_loss = t.avg_loss, .learning_rate = t.lr, .images_per_second = t.images_per_s,
                            .batch_top1 = t.batch_top1, .eta_seconds = t.eta_s});
    });
    ClassifierTrainingSummary s;
    copy_summary(r, s);
    s.valid_top1 = r.valid_top1;
    s.valid_topk = r.valid_topk;
    return s;
}

}  // namespace yolo9k
