// The run's bookkeeping (resume, checkpoints, progress timing) is train/training_run.h's,
// shared with train_detector; this file holds the classifier's data, augmentation and loss.
#include "train/classifier_trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "api/model_access.h"
#include "backend/backend.h"
#include "classify/classifier.h"
#include "core/error.h"
#include "core/log.h"
#include "data/classification_dataset.h"
#include "data/classification_loader.h"
#include "train/classifier_loss.h"

namespace yolo9k {
namespace fs = std::filesystem;

namespace {

// The network at its training size, with the cfg's crop range scaled along: a reduced
// --size sees the same relative crops darknet would at the cfg's size.
struct ClassifierSetup {
    Network net;
    ClassifierAugmentOptions augment;
};

ClassifierSetup setup_network(const ClassifierTrainOptions& o) {
    if (o.cfg.empty()) throw Error("classifier train: a .cfg is required");
    if (o.data.empty()) throw Error("classifier train: give a .data file, a class-folder root or a list file");
    ClassifierSetup s{Network::from_cfg_file(o.cfg), {}};
    s.net.require_rgb_input();
    NetParams& p = s.net.params();
    s.augment = classifier_augment_options_from(p);
    if (o.size > 0 && o.size != p.width) {
        const double k = double(o.size) / p.width;
        s.augment.min_crop = std::max(o.size, int(std::lround(s.augment.min_crop * k)));
        s.augment.max_crop = std::max(s.augment.min_crop, int(std::lround(s.augment.max_crop * k)));
        s.net.resize(o.size, o.size);
    }
    apply_net_overrides(p, o);
    if (p.width != p.height)
        throw Error(o.cfg + ": classifier training needs a square input (darknet crops size x size), got " +
                    std::to_string(p.width) + "x" + std::to_string(p.height));
    return s;
}

struct ClassifierData {
    ClassificationDataset train, valid;  // valid: empty without valid_every
    std::string backup;                  // the options', else the .data's backup=
    int top = 5;                         // k of top-k, at most the class count
};

// The training set and, with valid_every, a validation set with the same classes in the
// same order.
ClassifierData load_classifier_data(const ClassifierTrainOptions& o, int classes) {
    ClassifierData d;
    d.backup = o.backup_dir;
    int top = o.top;
    const bool is_data_file = fs::path(o.data).extension() == ".data";
    if (is_data_file) {
        const ClassificationDataFile f = read_classification_data_file(o.data);
        if (d.backup.empty()) d.backup = f.backup;
        if (top <= 0) top = f.top;
    }
    d.top = std::min(top <= 0 ? 5 : top, classes);
    d.train = load_classification_dataset(o.data, "train", o.labels_file);
    if (d.train.images.empty()) throw Error(o.data + ": the training set is empty");
    if (int(d.train.class_names.size()) != classes)
        throw Error(o.cfg + ": the network has " + std::to_string(classes) + " outputs but " + o.data + " has " +
                    std::to_string(d.train.class_names.size()) + " classes");
    if (o.valid_every <= 0) return d;
    auto load_valid = [&](const std::string& path, const std::string& split) {
        if (fs::path(path).extension() == ".data") return load_classification_dataset(path, split, o.labels_file);
        if (fs::is_directory(path))
            return load_class_folders(path, fs::is_directory(fs::path(path) / split) ? split : "", d.train.class_names);
        return load_classification_list(path, d.train.class_names);
    };
    if (!o.valid.empty()) d.valid = load_valid(o.valid, "valid");
    else if (is_data_file || fs::is_directory(fs::path(o.data) / "valid")) d.valid = load_valid(o.data, "valid");
    else throw Error("classifier train: --valid-every needs a validation set (.data `valid`, DIR/valid, or --valid)");
    if (d.valid.images.empty()) throw Error("classifier train: the validation set is empty");
    if (d.valid.class_names != d.train.class_names)
        throw Error("classifier train: the validation set's classes differ from the training set's");
    return d;
}

void log_progress(const ClassifierTrainProgress& pr, uint64_t seen) {
    log_message(LogLevel::progress,
                format_text("%lld, %.3f epochs: loss %.4f, avg %.4f, lr %g, batch top-1 %.3f, %.1f img/s, %llu images, ETA %s",
                            (long long)pr.iteration, pr.epoch, pr.loss, pr.avg_loss, pr.lr, pr.batch_top1,
                            pr.images_per_s, (unsigned long long)seen, format_duration(pr.eta_s).c_str()));
}

}  // namespace

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& o,
                                       std::function<void(const ClassifierTrainProgress&)> on_progress) {
    ClassifierSetup setup = setup_network(o);
    Network& net = setup.net;
    const NetParams& p = net.params();
    const ClassifierLossSpec spec = classifier_loss_spec(net);
    ClassifierData data = load_classifier_data(o, spec.classes);
    const int top = data.top;

    TrainingRun run(o, data.backup, net, "top-1");
    TrainState& state = run.state;
    const int passes = run.layout().passes;         // this rank's forward/backward passes per step
    const int mini = run.layout().images_per_pass;  // images per pass
    const bool talk = !o.quiet && run.is_root();    // under mpirun, rank 0 prints progress

    ClassificationLoaderOptions lopt;
    lopt.batch = mini;
    lopt.size = p.width;
    lopt.threads = o.loader_threads;
    lopt.seed = state.seed;
    lopt.augment = setup.augment;
    lopt.augment.enabled = o.augment;
    lopt.quiet = o.quiet;
    lopt.first_batch = state.iteration * passes;
    lopt.step_slots = run.layout().slots();
    const size_t train_images = data.train.images.size();
    // The executor first: it refuses a batch and size over --max-network-mb before the
    // loader starts filling batches of that size.
    const std::unique_ptr<TrainExecutor> exec_owner = make_train_executor(net, o.backend, {mini, run.compute_threads(o.threads)});
    TrainExecutor& exec = *exec_owner;
    ClassificationLoader loader(std::move(data.train), lopt);
    std::vector<float> grad(size_t(mini) * spec.classes);

    ClassifierTrainResult result;
    while (!run.done()) {
        run.begin_step();
        exec.zero_grad();
        double loss_sum = 0;
        int correct = 0;
        for (int s = 0; s < passes; ++s) {
            ClassificationBatch batch = loader.next();
            exec.forward(batch.images.data());
            const ClassifierLossStats st = classifier_loss(spec, exec.output(), batch.labels, grad.data());
            exec.backward(grad.data());
            loss_sum += st.loss;
            correct += st.top1_correct;
        }
        std::vector<double> totals{loss_sum, double(correct)};
        const TrainingRun::Step step = run.finish_step(exec, totals);
        correct = int(totals[1]);
        const ClassifierTrainProgress pr{.iteration = state.iteration, .max_batches = p.max_batches,
                                         .epoch = double(state.seen) / double(train_images), .loss = step.loss,
                                         .avg_loss = state.avg_loss, .lr = step.lr, .images_per_s = step.images_per_s,
                                         .batch_top1 = float(correct) / run.images_per_step(), .eta_s = step.eta_s};
        if (talk) log_progress(pr, state.seen);
        if (on_progress) on_progress(pr);

        const bool stop_now = run.save_after_step();
        // Rank 0 validates while the other ranks wait.
        const bool validate = o.valid_every > 0 && !run.interrupted() && (state.iteration % o.valid_every == 0 || run.done());
        if (validate) run.evaluate_on_root([&] {
            Classifier c(ModelAccess::view(net), {.threads = o.threads, .backend = o.backend});
            const ClassifierValidation v = validate_classifier(c, data.valid, top);
            result.valid_top1 = v.metrics.top1();
            result.valid_topk = v.metrics.topk();
            if (talk)
                log_message(LogLevel::progress, format_text("%lld: valid top-1 %.4f, top-%d %.4f on %d images",
                                                            (long long)state.iteration, result.valid_top1, top,
                                                            result.valid_topk, v.metrics.images()));
            run.record_evaluation(result.valid_top1);
        });
        if (stop_now) break;
    }
    run.finish(result);
    return result;
}

}  // namespace yolo9k
