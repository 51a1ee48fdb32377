// The loop follows train_detector (src/train/trainer.cpp): the same resume, checkpoint,
// stale-temp-file and progress logic, with the classifier's data, augmentation and loss.
#include "train/classifier_trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "backend/train_executor.h"
#include "classify/classifier.h"
#include "core/error.h"
#include "data/classification_dataset.h"
#include "data/classification_loader.h"
#include "network/initialize.h"
#include "train/chart.h"
#include "train/checkpoint.h"
#include "train/classifier_loss.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace yolo9k {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    long t = long(s);
    char b[32];
    if (t >= 3600) std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
    return b;
}

}  // namespace

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& o,
                                       std::function<void(const ClassifierTrainProgress&)> on_progress) {
    if (o.cfg.empty()) throw Error("classifier train: a .cfg is required");
    if (o.data.empty()) throw Error("classifier train: give a .data file, a class-folder root or a list file");
    NetworkOptions no;
    if (o.size > 0) no.width = no.height = o.size;
    Network net = Network::from_cfg_file(o.cfg, no);
    NetParams& p = net.params();
    if (o.batch > 0) p.batch = o.batch;
    if (o.subdivisions > 0) p.subdivisions = o.subdivisions;
    if (o.max_batches > 0) p.max_batches = o.max_batches;
    if (o.learning_rate > 0) p.learning_rate = o.learning_rate;
    if (o.burn_in >= 0) p.burn_in = o.burn_in;
    if (p.batch % p.subdivisions != 0)
        throw Error(o.cfg + ": batch (" + std::to_string(p.batch) + ") must be a multiple of subdivisions (" +
                    std::to_string(p.subdivisions) + ")");
    if (p.max_batches <= 0) throw Error(o.cfg + ": [net] max_batches must be set (or pass --max-batches)");
    if (p.width != p.height)
        throw Error(o.cfg + ": classifier training needs a square input (darknet crops size x size), got " +
                    std::to_string(p.width) + "x" + std::to_string(p.height));
    const int mini = p.batch / p.subdivisions;
    const int images_per_step = p.batch;
    const ClassifierLossSpec spec = classifier_loss_spec(net);

    // Data.
    std::string backup = o.backup_dir, valid_path = o.valid;
    int top = o.top;
    const bool is_data_file = fs::path(o.data).extension() == ".data";
    if (is_data_file) {
        const ClassificationDataFile f = read_classification_data_file(o.data);
        if (backup.empty()) backup = f.backup;
        if (top <= 0) top = f.top;
    }
    if (top <= 0) top = 5;
    ClassificationDataset data = load_classification_dataset(o.data, "train", o.labels_file);
    if (data.images.empty()) throw Error(o.data + ": the training set is empty");
    if (int(data.class_names.size()) != spec.classes)
        throw Error(o.cfg + ": the network has " + std::to_string(spec.classes) + " outputs but " + o.data + " has " +
                    std::to_string(data.class_names.size()) + " classes");
    ClassificationDataset valid;
    if (o.valid_every > 0) {
        // The validation set uses the training set's classes, in the same order.
        auto load_valid = [&](const std::string& path, const std::string& split) {
            if (fs::path(path).extension() == ".data") return load_classification_dataset(path, split, o.labels_file);
            if (fs::is_directory(path))
                return load_class_folders(path, fs::is_directory(fs::path(path) / split) ? split : "", data.class_names);
            return load_classification_list(path, data.class_names);
        };
        if (!valid_path.empty()) valid = load_valid(valid_path, "valid");
        else if (is_data_file || fs::is_directory(fs::path(o.data) / "valid")) valid = load_valid(o.data, "valid");
        else throw Error("classifier train: --valid-every needs a validation set (.data `valid`, DIR/valid, or --valid)");
        if (valid.images.empty()) throw Error("classifier train: the validation set is empty");
        if (valid.class_names != data.class_names)
            throw Error("classifier train: the validation set's classes differ from the training set's");
    }
    if (backup.empty()) backup = "backup";
    fs::create_directories(backup);
    const std::string name = o.name.empty() ? fs::path(o.cfg).stem().string() : o.name;
    auto ckpt = [&](const std::string& suffix) { return (fs::path(backup) / (name + "_" + suffix + ".weights")).string(); };
    const std::string chart = o.no_chart ? "" : (o.chart.empty() ? (fs::path(backup) / (name + "_chart.png")).string() : o.chart);

    // A run killed mid-write leaves "<file>.tmp.<pid>" (never a corrupt checkpoint): clear them.
    for (const auto& e : fs::directory_iterator(backup)) {
        const std::string f = e.path().filename().string();
        if (f.rfind(name + "_", 0) == 0 && f.find(".tmp.") != std::string::npos) {
            std::error_code ec;
            fs::remove(e.path(), ec);
            if (!ec && !o.quiet) std::fprintf(stderr, "removed %s (left by an interrupted write)\n", e.path().c_str());
        }
    }

    SgdOptimizer opt(net);
    TrainState state;
    state.seed = o.seed;
    if (o.resume) {
        const std::string last = ckpt("last");
        if (!fs::exists(last)) throw Error(last + ": nothing to resume (no _last checkpoint in " + backup + ")");
        std::string warning;
        state = load_checkpoint(last, net, opt, images_per_step, warning);
        if (!warning.empty()) {
            std::fprintf(stderr, "warning: %s\n", warning.c_str());
            state.seed = o.seed;
        }
        if (!o.quiet) std::fprintf(stderr, "resuming %s at iteration %lld\n", last.c_str(), (long long)state.iteration);
    } else if (!o.weights.empty()) {
        const int loaded = net.load_weights(o.weights, /*allow_prefix=*/true);
        if (!o.quiet) std::fprintf(stderr, "loaded %d layers from %s\n", loaded, o.weights.c_str());
        if (o.clear) net.header().seen = 0;
        state.seen = net.header().seen;
        state.iteration = int64_t(state.seen / uint64_t(images_per_step));
    } else {
        initialize_weights(net, o.seed);
        net.header().seen = 0;
    }

    ClassificationLoaderOptions lopt;
    lopt.batch = mini;
    lopt.size = p.width;
    lopt.threads = o.loader_threads;
    lopt.seed = state.seed;
    lopt.augment = classifier_augment_options_from(p);
    lopt.augment.enabled = o.augment;
    lopt.quiet = o.quiet;
    lopt.first_batch = state.iteration * p.subdivisions;
    const size_t train_images = data.images.size();
    ClassificationLoader loader(std::move(data), lopt);
    TrainExecutor exec(net, o.backend, {mini, o.threads});
    std::vector<float> grad(size_t(mini) * spec.classes);

    auto save_last = [&] {
        save_checkpoint(ckpt("last"), net, state, opt);
        if (!chart.empty()) write_training_chart(chart, state.history, p.max_batches, name, "top-1");
    };

    ClassifierTrainResult result;
    const auto t_start = Clock::now();
    double step_seconds_avg = -1;
    int64_t steps_here = 0;
    while (state.iteration < p.max_batches) {
        const auto t0 = Clock::now();
        exec.zero_grad();
        double loss_sum = 0;
        int correct = 0;
        for (int s = 0; s < p.subdivisions; ++s) {
            ClassificationBatch batch = loader.next();
            exec.forward(batch.images.data());
            const ClassifierLossStats st = classifier_loss(spec, exec.output(), batch.labels, grad.data());
            exec.backward(grad.data());
            state.seen += uint64_t(mini);
            loss_sum += st.loss;
            correct += st.top1_correct;
        }
        const float loss = float(loss_sum / images_per_step);
        if (!std::isfinite(loss))
            throw Error("training diverged at iteration " + std::to_string(state.iteration + 1) + ": loss is " +
                        std::to_string(loss) + "; the last good checkpoint is " + ckpt("last") +
                        " (lower learning_rate or check the data)");
        const float lr = learning_rate_at(p, state.iteration);
        opt.step(exec.gradients(), lr, p.momentum, p.decay, images_per_step);
        exec.parameters_changed();
        ++state.iteration;
        ++steps_here;
        net.header().seen = state.seen;
        state.avg_loss = state.avg_loss < 0 ? loss : state.avg_loss * .9f + loss * .1f;
        state.history.iteration.push_back(state.iteration);
        state.history.loss.push_back(loss);
        state.history.avg_loss.push_back(state.avg_loss);

        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        step_seconds_avg = step_seconds_avg < 0 ? dt : step_seconds_avg * .9 + dt * .1;
        ClassifierTrainProgress pr;
        pr.iteration = state.iteration;
        pr.max_batches = p.max_batches;
        pr.epoch = double(state.seen) / double(train_images);
        pr.loss = loss;
        pr.avg_loss = state.avg_loss;
        pr.lr = lr;
        pr.images_per_s = float(images_per_step / dt);
        pr.batch_top1 = float(correct) / images_per_step;
        pr.eta_s = step_seconds_avg * double(p.max_batches - state.iteration);
        if (!o.quiet)
            std::printf("%lld, %.3f epochs: loss %.4f, avg %.4f, lr %g, batch top-1 %.3f, %.1f img/s, %llu images, ETA %s\n",
                        (long long)pr.iteration, pr.epoch, pr.loss, pr.avg_loss, pr.lr, pr.batch_top1, pr.images_per_s,
                        (unsigned long long)state.seen, format_duration(pr.eta_s).c_str());
        std::fflush(stdout);
        if (on_progress) on_progress(pr);

        const bool last_step = state.iteration >= p.max_batches;
        const bool stop_now = o.stop_after > 0 && steps_here >= o.stop_after;
        if (o.save_every > 0 && state.iteration % o.save_every == 0 && !last_step)
            net.save_weights(ckpt(std::to_string(state.iteration)));
        if ((o.checkpoint_every > 0 && state.iteration % o.checkpoint_every == 0) || last_step || stop_now) save_last();
        if (o.valid_every > 0 && (state.iteration % o.valid_every == 0 || last_step)) {
            Classifier c(net, o.threads, o.backend);
            const ClassifierValidation v = validate_classifier(c, valid, top);
            result.valid_top1 = v.metrics.top1();
            result.valid_topk = v.metrics.topk();
            state.history.map_iteration.push_back(state.iteration);
            state.history.map.push_back(float(result.valid_top1));
            if (!o.quiet)
                std::printf("%lld: valid top-1 %.4f, top-%d %.4f on %d images\n", (long long)state.iteration,
                            result.valid_top1, top, result.valid_topk, v.metrics.images());
            if (result.valid_top1 > state.best_map) {
                state.best_map = float(result.valid_top1);
                net.save_weights(ckpt("best"));
            }
            save_last();
        }
        if (stop_now) break;
    }
    result.iterations = state.iteration;
    result.final_avg_loss = state.avg_loss;
    if (state.iteration >= p.max_batches) {
        result.final_weights = ckpt("final");
        net.save_weights(result.final_weights);
    } else {
        result.final_weights = ckpt("last");
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    result.images_per_s = result.seconds > 0 ? double(steps_here * images_per_step) / result.seconds : 0;
    return result;
}

}  // namespace yolo9k
