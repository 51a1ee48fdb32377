// The public Trainer over the detector trainer (src/train/trainer.h).
#include "yolo9k/trainer.h"

#include <atomic>

#include "api/train/data_path.h"
#include "train/trainer.h"

namespace yolo9k {

struct Trainer::Impl {
    TrainerOptions options;
    std::function<void(const TrainingProgress&)> on_progress;
    std::function<void(int64_t, double)> on_map;
    std::atomic<bool> cancelled{false};
};

Trainer::Trainer(TrainerOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }
Trainer::~Trainer() = default;

void Trainer::on_progress(std::function<void(const TrainingProgress&)> callback) { impl_->on_progress = std::move(callback); }
void Trainer::on_map(std::function<void(int64_t, double)> callback) { impl_->on_map = std::move(callback); }
void Trainer::cancel() { impl_->cancelled = true; }

TrainingSummary Trainer::run() {
    const TrainerOptions& p = impl_->options;
    TrainOptions o;
    o.cfg = p.cfg;
    (is_darknet_data_file(p.data) ? o.data_file : o.dataset) = p.data;
    o.names_file = p.names;
    o.split = p.split;
    o.weights = p.weights;
    o.backup_dir = p.backup_dir;
    o.name = p.name;
    o.backend = p.backend;
    o.resume = p.resume;
    o.seed = p.seed;
    o.threads = p.threads;
    o.batch = p.batch;
    o.subdivisions = p.subdivisions;
    o.max_batches = p.max_batches;
    o.size = p.size;
    o.learning_rate = p.learning_rate;
    o.burn_in = p.burn_in;
    o.multiscale = p.multiscale;
    o.augment = p.augment;
    o.checkpoint_every = p.checkpoint_every;
    o.save_every = p.save_every;
    o.map_every = p.map_every;
    o.valid_split = p.valid_split;
    o.no_chart = !p.chart;
    o.on_map = impl_->on_map;
    o.stop_requested = [impl = impl_.get()] { return impl->cancelled.load(); };

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
    s.iterations = r.iterations;
    s.iterations_this_run = r.iterations_this_run;
    s.final_average_loss = r.final_avg_loss;
    s.final_weights = r.final_weights;
    s.seconds = r.seconds;
    s.images_per_second = r.images_per_s;
    s.cancelled = r.interrupted;
    return s;
}

}  // namespace yolo9k
