#include "train/trainer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "backend/backend.h"
#include "core/error.h"
#include "core/log.h"
#include "data/class_only_images.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "eval/evaluate.h"
#include "layer/region.h"
#include "yolo9k/detector.h"
#include "train/schedule.h"

namespace yolo9k {
namespace fs = std::filesystem;

TrainResult train_detector(const TrainOptions& o, std::function<void(const TrainProgress&)> on_progress) {
    if (o.cfg.empty()) throw Error("train: a .cfg is required");
    Network net = Network::from_cfg_file(o.cfg);
    net.require_rgb_input();
    NetParams& p = net.params();
    apply_net_overrides(p, o);
    const int mini = p.batch / p.subdivisions;  // images per forward/backward

    const auto* region = dynamic_cast<const RegionLayer*>(&net.layer(net.output_layer()));
    if (!region) throw Error(o.cfg + ": the last layer must be [region] to train a detector");

    // Data.
    DataFile df;
    std::string names_file = o.names_file, backup = o.backup_dir;
    DatasetOptions dopt;
    dopt.split = o.split;
    Dataset data;
    if (!o.data_file.empty()) {
        df = read_data_file(o.data_file);
        if (names_file.empty()) names_file = df.names;
        if (backup.empty()) backup = df.backup;
    }
    if (!names_file.empty()) dopt.class_names = read_names_file(names_file);
    if (!o.data_file.empty()) data = load_dataset_split(df, "train", dopt);
    else if (!o.dataset.empty()) data = load_dataset(o.dataset, dopt);
    else throw Error("train: give a .data file or a dataset path");
    if (data.images.empty()) throw Error("train: the training set is empty");
    Dataset valid;
    if (o.map_every > 0) {
        if (!o.data_file.empty()) valid = load_dataset_split(df, "valid", dopt);
        else if (!o.valid_split.empty()) valid = load_dataset(o.dataset, {.class_names = dopt.class_names, .split = o.valid_split});
        else throw Error("train: --map-every needs a validation set (.data `valid`, or --valid-split with --dataset)");
        if (valid.images.empty()) throw Error("train: the validation set is empty");
    }
    // Dataset class ids are the layer's classes, or go through its map= (YOLO9000's coco9k.map).
    const size_t labels = region->class_map.empty() ? size_t(region->classes) : region->class_map.size();
    if (data.class_names.size() != labels)
        throw Error(o.cfg + ": [region] " +
                    (region->class_map.empty() ? "classes=" + std::to_string(region->classes)
                                               : "map=" + region->map_file + " (" + std::to_string(labels) + " entries)") +
                    " but the dataset has " + std::to_string(data.class_names.size()) + " classes");
    Dataset class_only;
    if (!o.class_data.empty()) {
        if (!(o.class_ratio > 0 && std::isfinite(o.class_ratio)))
            throw Error("train: the classification ratio must be positive, got " + std::to_string(o.class_ratio));
        class_only = load_class_only_images(o.class_data, data.class_names);
        if (!o.quiet)
            log_message(LogLevel::note,
                        format_text("joint training: %zu classification-only images from %s, %.3g per detection image",
                                    class_only.images.size(), o.class_data.c_str(), o.class_ratio));
    }
    TrainingRun run(o, backup, net, "mAP@.5");
    TrainState& state = run.state;

    const bool multiscale = o.multiscale < 0 ? region->random : o.multiscale == 1;
    const int base_w = o.size > 0 ? o.size : p.width, base_h = o.size > 0 ? o.size : p.height;
    // Called from loader threads: captures by value only.
    auto size_for_step = [multiscale, base_w, base_h, seed = state.seed, max_batches = p.max_batches](int64_t step) {
        if (!multiscale) return std::pair{base_w, base_h};
        int s = multiscale_size(seed, step, max_batches);
        return std::pair{s, s};
    };

    LoaderOptions lopt;
    lopt.batch = mini;
    lopt.threads = o.loader_threads;
    lopt.seed = state.seed;
    lopt.augment = augment_options_from(p, region->jitter);
    lopt.augment.enabled = o.augment;
    lopt.quiet = o.quiet;
    if (!class_only.images.empty()) lopt.class_share = o.class_ratio / (1 + o.class_ratio);
    lopt.first_batch = state.iteration * p.subdivisions;
    lopt.size_for_batch = [size_for_step, subdiv = p.subdivisions](int64_t b) {
        auto [w, h] = size_for_step(b / subdiv);
        return NetSize{w, h};
    };
    DetectionLoader loader(std::move(data), lopt, std::move(class_only));

    auto [w0, h0] = size_for_step(state.iteration);
    net.resize(w0, h0);
    const std::unique_ptr<TrainExecutor> exec_owner = make_train_executor(net, o.backend, {mini, o.threads});
    TrainExecutor& exec = *exec_owner;
    std::vector<float> grad;  // dLoss/d(head input); region_loss overwrites all of it
    // `region` stays valid: resizing reshapes layers in place.

    // mAP@.5 on the validation set at the cfg's size, as `yolo9k eval` would; unreadable
    // images are skipped and named, never the end of the run.
    auto evaluate_now = [&](int train_w, int train_h) {
        net.resize(base_w, base_h);
        DetectorOptions dopt_eval;
        dopt_eval.thresh = eval::kEvalThresh;
        dopt_eval.nms = eval::kEvalNms;
        dopt_eval.threads = o.threads;
        eval::EvalResult r;
        {
            Detector det(net, dopt_eval);
            r = eval::evaluate(det, valid);
        }
        net.resize(train_w, train_h);
        if (!o.quiet) {
            log_message(LogLevel::progress, format_text("%lld: mAP@.5 %.4f on %d validation images",
                                                        (long long)state.iteration, r.map_voc, r.images));
            if (!r.skipped.empty())
                log_message(LogLevel::progress, format_text("%lld: %s", (long long)state.iteration,
                                                            eval::describe_skipped(r.skipped).c_str()));
        }
        if (o.on_map) o.on_map(state.iteration, r.map_voc);
        run.record_evaluation(r.map_voc);
    };
    // A run stopped at an evaluation step (killed, or failed while evaluating) evaluates that
    // step on resume, so the mAP curve has no hole.
    const auto& maps = state.history.map_iteration;
    if (o.map_every > 0 && state.iteration > 0 && state.iteration % o.map_every == 0 &&
        (maps.empty() || maps.back() != state.iteration))
        evaluate_now(net.input_shape().w, net.input_shape().h);

    while (!run.done()) {
        run.begin_step();
        auto [w, h] = size_for_step(state.iteration);
        if (w != net.input_shape().w || h != net.input_shape().h) {
            net.resize(w, h);
            exec.reshape();
        }
        exec.zero_grad();
        double loss_sum = 0;
        RegionLossStats agg{};
        for (int s = 0; s < p.subdivisions; ++s) {
            DetectionBatch batch = loader.next();
            if (batch.width != w || batch.height != h)
                throw Error("internal: loader produced " + std::to_string(batch.width) + "x" + std::to_string(batch.height) +
                            ", expected " + std::to_string(w) + "x" + std::to_string(h));
            exec.forward(batch.images.data());
            const size_t n = size_t(mini) * region->input_shape().size();
            grad.resize(n);
            RegionLossStats st = region_loss(*region, exec.head_input(), exec.output(), batch.truths, mini,
                                             state.seen, grad.data(), batch.image_classes);
            exec.backward(grad.data());
            state.seen += uint64_t(mini);
            loss_sum += st.loss;
            // Accumulate darknet's printed statistics, weighted by their counts.
            agg.avg_iou += st.avg_iou * st.count;
            agg.avg_class += st.avg_class * st.class_count;
            agg.avg_obj += st.avg_obj * st.count;
            agg.recall50 += st.recall50 * st.count;
            agg.recall75 += st.recall75 * st.count;
            agg.avg_noobj += st.avg_noobj;
            agg.count += st.count;
            agg.class_count += st.class_count;
        }
        const TrainingRun::Step step = run.finish_step(exec, loss_sum);
        TrainProgress pr;
        pr.iteration = state.iteration;
        pr.max_batches = p.max_batches;
        pr.loss = step.loss;
        pr.avg_loss = state.avg_loss;
        pr.lr = step.lr;
        pr.images_per_s = step.images_per_s;
        pr.eta_s = step.eta_s;
        pr.width = w;
        pr.height = h;
        pr.stats = agg;
        if (agg.count > 0) {
            pr.stats.avg_iou /= agg.count;
            pr.stats.avg_obj /= agg.count;
            pr.stats.recall50 /= agg.count;
            pr.stats.recall75 /= agg.count;
        }
        if (agg.class_count > 0) pr.stats.avg_class /= agg.class_count;
        pr.stats.avg_noobj /= p.subdivisions;
        if (!o.quiet)
            log_message(LogLevel::progress,
                        format_text("%lld: loss %.3f, avg %.3f, lr %g, %.1f img/s, %dx%d, ETA %s | IoU %.3f cls %.3f obj %.3f noobj %.4f "
                        "recall %.3f (%d boxes%s)",
                        (long long)pr.iteration, pr.loss, pr.avg_loss, pr.lr, pr.images_per_s, w, h,
                        format_duration(pr.eta_s).c_str(), pr.stats.avg_iou, pr.stats.avg_class, pr.stats.avg_obj,
                        pr.stats.avg_noobj, pr.stats.recall50, pr.stats.count,
                        agg.class_count > agg.count
                            ? (", " + std::to_string(agg.class_count - agg.count) + " classification-only images").c_str()
                            : ""));
        if (on_progress) on_progress(pr);

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
