#include "train/trainer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "api/model_access.h"
#include "backend/backend.h"
#include "core/error.h"
#include "core/log.h"
#include "data/class_only_images.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "distributed/communicator.h"
#include "eval/evaluate.h"
#include "layer/region.h"
#include "yolo9k/detector.h"
#include "train/objectness_watch.h"
#include "train/schedule.h"

namespace yolo9k {
namespace fs = std::filesystem;

namespace {

// What a detector trains and validates on, and where its checkpoints go.
struct TrainingData {
    Dataset train, valid, class_only;
    std::string backup;  // the options', else the .data's backup=, else "" (TrainingRun's default)
};

TrainingData load_training_data(const TrainOptions& o, const RegionLayer& region) {
    TrainingData d;
    DataFile df;
    std::string names_file = o.names_file;
    d.backup = o.backup_dir;
    DatasetOptions dopt;
    dopt.split = o.split;
    if (!o.data_file.empty()) {
        df = read_data_file(o.data_file);
        if (names_file.empty()) names_file = df.names;
        if (d.backup.empty()) d.backup = df.backup;
    }
    if (!names_file.empty()) dopt.class_names = read_names_file(names_file);
    if (!o.data_file.empty()) d.train = load_dataset_split(df, "train", dopt);
    else if (!o.dataset.empty()) d.train = load_dataset(o.dataset, dopt);
    else throw Error("train: give a .data file or a dataset path");
    if (d.train.images.empty()) throw Error("train: the training set is empty");
    if (o.map_every > 0) {
        if (!o.data_file.empty()) d.valid = load_dataset_split(df, "valid", dopt);
        else if (!o.valid_split.empty()) d.valid = load_dataset(o.dataset, {.class_names = dopt.class_names, .split = o.valid_split});
        else throw Error("train: --map-every needs a validation set (.data `valid`, or --valid-split with --dataset)");
        if (d.valid.images.empty()) throw Error("train: the validation set is empty");
    }
    // Dataset class ids are the layer's classes, or go through its map= (YOLO9000's coco9k.map).
    const size_t labels = region.class_map.empty() ? size_t(region.classes) : region.class_map.size();
    if (d.train.class_names.size() != labels)
        throw Error(o.cfg + ": [region] " +
                    (region.class_map.empty() ? "classes=" + std::to_string(region.classes)
                                              : "map=" + region.map_file + " (" + std::to_string(labels) + " entries)") +
                    " but the dataset has " + std::to_string(d.train.class_names.size()) + " classes");
    if (!o.class_data.empty()) {
        if (!(o.class_ratio > 0 && std::isfinite(o.class_ratio)))
            throw Error("train: the classification ratio must be positive, got " + std::to_string(o.class_ratio));
        d.class_only = load_class_only_images(o.class_data, d.train.class_names);
        if (!o.quiet && training_job().rank() == 0)
            log_message(LogLevel::note,
                        format_text("joint training: %zu classification-only images from %s, %.3g per detection image",
                                    d.class_only.images.size(), o.class_data.c_str(), o.class_ratio));
    }
    return d;
}

// The training images an evaluation also scores: `count` of them (-1: as many as the
// validation set, at most 500; 0: none), evenly spaced through the set's order.
Dataset training_sample(const Dataset& train, int count, int valid_images) {
    Dataset s;
    s.class_names = train.class_names;
    if (count < 0) count = std::min(valid_images, 500);
    const size_t n = std::min(train.images.size(), size_t(std::max(count, 0)));
    for (size_t i = 0; i < n; ++i) s.images.push_back(train.images[i * train.images.size() / n]);
    return s;
}

// darknet's printed statistics over a step's passes, each weighted by its count.
class StepStatistics {
public:
    // The sums, to be added over the ranks of a data-parallel job, and back.
    static constexpr size_t kTotals = 9;
    void append_to(std::vector<double>& totals) const {
        totals.insert(totals.end(), {sum_.avg_iou, sum_.avg_class, sum_.avg_obj, sum_.recall50, sum_.recall75,
                                     sum_.avg_noobj, double(sum_.count), double(sum_.class_count), double(passes_)});
    }
    void read_from(std::span<const double> t) {
        sum_.avg_iou = float(t[0]);
        sum_.avg_class = float(t[1]);
        sum_.avg_obj = float(t[2]);
        sum_.recall50 = float(t[3]);
        sum_.recall75 = float(t[4]);
        sum_.avg_noobj = float(t[5]);
        sum_.count = int(t[6]);
        sum_.class_count = int(t[7]);
        passes_ = int(t[8]);
    }
    void add(const RegionLossStats& st) {
        sum_.avg_iou += st.avg_iou * st.count;
        sum_.avg_class += st.avg_class * st.class_count;
        sum_.avg_obj += st.avg_obj * st.count;
        sum_.recall50 += st.recall50 * st.count;
        sum_.recall75 += st.recall75 * st.count;
        sum_.avg_noobj += st.avg_noobj;
        sum_.count += st.count;
        sum_.class_count += st.class_count;
        ++passes_;
    }
    RegionLossStats mean() const {
        RegionLossStats m = sum_;
        if (m.count > 0) {
            m.avg_iou /= m.count;
            m.avg_obj /= m.count;
            m.recall50 /= m.count;
            m.recall75 /= m.count;
        }
        if (m.class_count > 0) m.avg_class /= m.class_count;
        if (passes_ > 0) m.avg_noobj /= passes_;
        return m;
    }

private:
    RegionLossStats sum_{};
    int passes_ = 0;
};

std::string progress_line(const TrainProgress& pr) {
    const RegionLossStats& st = pr.stats;
    // Classification-only images (joint training) count for the class loss, not for boxes.
    const std::string class_only =
        st.class_count > st.count ? ", " + std::to_string(st.class_count - st.count) + " classification-only images" : "";
    return format_text(
        "%lld: loss %.3f, avg %.3f, lr %g, %.1f img/s, %dx%d, ETA %s | IoU %.3f cls %.3f obj %.3f noobj %.4f "
        "recall %.3f (%d boxes%s)",
        (long long)pr.iteration, pr.loss, pr.avg_loss, pr.lr, pr.images_per_s, pr.width, pr.height,
        format_duration(pr.eta_s).c_str(), st.avg_iou, st.avg_class, st.avg_obj, st.avg_noobj, st.recall50, st.count,
        class_only.c_str());
}

}  // namespace

TrainResult train_detector(const TrainOptions& o, std::function<void(const TrainProgress&)> on_progress) {
    if (o.cfg.empty()) throw Error("train: a .cfg is required");
    Network net = Network::from_cfg_file(o.cfg);
    net.require_rgb_input();
    NetParams& p = net.params();
    apply_net_overrides(p, o);
    // Under mpirun, rank 0 alone prints progress (the others still name unreadable images).
    const bool talk = !o.quiet && training_job().rank() == 0;

    const auto* region = dynamic_cast<const RegionLayer*>(&net.layer(net.output_layer()));
    if (!region) throw Error(o.cfg + ": the last layer must be [region] to train a detector");

    TrainingData data = load_training_data(o, *region);
    const Dataset& valid = data.valid;
    const Dataset train_sample = o.map_every > 0 ? training_sample(data.train, o.train_map_images, int(valid.images.size()))
                                                 : Dataset{};
    TrainingRun run(o, data.backup, net, "mAP@.5");
    TrainState& state = run.state;
    const int passes = run.layout().passes;         // this rank's forward/backward passes per step
    const int mini = run.layout().images_per_pass;  // images per pass

    const bool multiscale = o.multiscale < 0 ? region->random : o.multiscale == 1;
    const int base_w = o.size > 0 ? o.size : p.width, base_h = o.size > 0 ? o.size : p.height;
    // Called from loader threads: captures by value only.
    auto size_for_step = [multiscale, base_w, base_h, seed = state.seed, max_batches = p.max_batches](int64_t step) {
        if (!multiscale) return std::pair{base_w, base_h};
        int s = multiscale_size(seed, step, max_batches);
        return std::pair{s, s};
    };


    // The executor first: it refuses a batch and size over --max-network-mb before the
    // loader starts filling batches of that size.
    auto [w0, h0] = size_for_step(state.iteration);
    net.resize(w0, h0);
    const std::unique_ptr<TrainExecutor> exec_owner = make_train_executor(net, o.backend, {mini, run.compute_threads(o.threads)});
    TrainExecutor& exec = *exec_owner;

    LoaderOptions lopt;
    lopt.batch = mini;
    lopt.threads = o.loader_threads;
    lopt.seed = state.seed;
    lopt.augment = augment_options_from(p, region->jitter);
    lopt.augment.enabled = o.augment;
    lopt.quiet = o.quiet;
    if (!data.class_only.images.empty()) lopt.class_share = o.class_ratio / (1 + o.class_ratio);
    lopt.first_batch = state.iteration * passes;
    lopt.step_slots = run.layout().slots();
    lopt.size_for_batch = [size_for_step, passes](int64_t b) {
        auto [w, h] = size_for_step(b / passes);
        return NetSize{w, h};
    };
    DetectionLoader loader(std::move(data.train), lopt, std::move(data.class_only));
    std::vector<float> grad;  // dLoss/d(head input); region_loss overwrites all of it
    // `region` stays valid: resizing reshapes layers in place.

    // mAP@.5 on the validation set at the cfg's size, as `yolo9k eval` would; unreadable
    // images are skipped and named, never the end of the run. Rank 0 evaluates while the
    // other ranks wait.
    auto evaluate_now = [&](int train_w, int train_h) { run.evaluate_on_root([&] {
        net.resize(base_w, base_h);
        DetectorOptions dopt_eval;
        dopt_eval.thresh = eval::kEvalThresh;
        dopt_eval.nms = eval::kEvalNms;
        dopt_eval.threads = o.threads;
        eval::EvalResult r, t;
        {
            Detector det(ModelAccess::view(net), dopt_eval);
            r = eval::evaluate(det, valid);
            if (!train_sample.images.empty()) t = eval::evaluate(det, train_sample);
        }
        net.resize(train_w, train_h);
        const TrainingEvaluation e{.iteration = state.iteration, .map50 = r.map_voc,
                                   .train_map50 = train_sample.images.empty() ? -1.0 : t.map_voc,
                                   .images = r.images, .train_images = t.images};
        if (talk) {
            log_message(LogLevel::progress,
                        format_text("%lld: mAP@.5 %.4f on %d validation images", (long long)state.iteration, r.map_voc,
                                    r.images) +
                            (e.train_map50 < 0 ? std::string()
                                               : format_text(", %.4f on %d training images", t.map_voc, t.images)));
            for (const eval::EvalResult* x : {&r, &t})
                if (!x->skipped.empty())
                    log_message(LogLevel::progress, format_text("%lld: %s", (long long)state.iteration,
                                                                eval::describe_skipped(x->skipped).c_str()));
        }
        if (o.on_map) o.on_map(state.iteration, r.map_voc);
        if (o.on_evaluation) o.on_evaluation(e);
        run.record_evaluation(r.map_voc, e.train_map50);
    }); };
    // A run stopped at an evaluation step (killed, or failed while evaluating) evaluates that
    // step on resume, so the mAP curve has no hole. Only rank 0 holds the history.
    const auto& maps = state.history.map_iteration;
    if (run.as_on_root(o.map_every > 0 && state.iteration > 0 && state.iteration % o.map_every == 0 &&
                           (maps.empty() || maps.back() != state.iteration),
                       "the start (whether rank 0 evaluates the resumed step)"))
        evaluate_now(net.input_shape().w, net.input_shape().h);

    ObjectnessWatch objectness_watch(p.max_batches);
    while (!run.done()) {
        run.begin_step();
        auto [w, h] = size_for_step(state.iteration);
        if (w != net.input_shape().w || h != net.input_shape().h) {
            net.resize(w, h);
            exec.reshape();
        }
        exec.zero_grad();
        double loss_sum = 0;
        StepStatistics stats;
        for (int s = 0; s < passes; ++s) {
            DetectionBatch batch = loader.next();
            if (batch.width != w || batch.height != h)
                throw Error("internal: loader produced " + std::to_string(batch.width) + "x" + std::to_string(batch.height) +
                            ", expected " + std::to_string(w) + "x" + std::to_string(h));
            exec.forward(batch.images.data());
            grad.resize(size_t(mini) * region->input_shape().size());
            const RegionLossStats st = region_loss(*region, exec.head_input(), exec.output(), batch.truths, mini,
                                                   run.seen_at_pass(s), grad.data(), batch.image_classes);
            exec.backward(grad.data());
            loss_sum += st.loss;
            stats.add(st);
        }
        std::vector<double> totals{loss_sum};
        stats.append_to(totals);
        const TrainingRun::Step step = run.finish_step(exec, totals);
        stats.read_from(std::span(totals).subspan(1, StepStatistics::kTotals));
        const TrainProgress pr{.iteration = state.iteration, .max_batches = p.max_batches, .loss = step.loss,
                               .avg_loss = state.avg_loss, .lr = step.lr, .images_per_s = step.images_per_s,
                               .eta_s = step.eta_s, .width = w, .height = h, .stats = stats.mean()};
        if (talk) log_message(LogLevel::progress, progress_line(pr));
        if (on_progress) on_progress(pr);
        if (const std::string warning = objectness_watch.add(state.iteration, pr.stats); !warning.empty() && talk)
            log_message(LogLevel::warning, warning);

        const bool stop_now = run.save_after_step();
        // An interrupted run exits now; the evaluation of this step happens on resume.
        if (o.map_every > 0 && !run.interrupted() && (state.iteration % o.map_every == 0 || run.done()))
            evaluate_now(w, h);
        if (stop_now) break;
    }
    TrainResult result;
    run.finish(result);
    return result;
}

}  // namespace yolo9k
