// `yolo9k classifier train|predict|valid` (darknet's `classifier` commands).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "cli/ranks.h"
#include "cli/training_options.h"
#include "cli/validators.h"
#include "yolo9k/detector.h"  // read_names_file
#include "yolo9k/error.h"
#include "yolo9k/evaluator.h"
#include "yolo9k/files.h"
#include "yolo9k/image.h"
#include "yolo9k/inputs.h"

namespace yolo9k::cli {
namespace {

const char* kDataHelp =
    "training data: a classification .data (train, valid, labels, classes, top, backup; an image's label is the "
    "class name occurring in its path), a folder with one subfolder per class (DIR/<class>/*.jpg, or DIR/train/<class> "
    "and DIR/valid/<class>), or a list file of image paths (with --labels)";

void add_train(CLI::App& parent, std::shared_ptr<ClassifierTrainerOptions> o, int& ranks) {
    CLI::App* sub = parent.add_subcommand("train", "Train a classifier, e.g. Darknet-19 (darknet's `classifier train`)");
    sub->footer(
        "One progress line per step. Writes <backup>/<name>_last.weights (+ .state; --resume continues from it), "
        "_<step>, _best (with --valid-every), _final and <name>_chart.png. Augmentation follows the cfg's [net] as "
        "darknet's classifier loader does: random crop with the shorter side in [min_crop, max_crop] (default w..2w), "
        "aspect, angle, flip, hue/saturation/exposure. Loss: softmax cross-entropy plus the [cost] layer, as darknet.");
    sub->add_option("--data", o->data, kDataHelp)->required();
    sub->add_option("--labels", o->labels, "class names, one a line (overrides the .data's labels)")
        ->check(CLI::ExistingFile);
    sub->add_option("--valid", o->valid, "validation set (default: the .data's valid, or DIR/valid)");
    add_run_setup_options(*sub, *o, "network .cfg (e.g. darknet19.cfg, darknet19_448.cfg, tiny.cfg)",
                          "initial weights: pretrained (e.g. darknet19 224 for the 448 fine-tune) or partial");
    sub->add_option("--size", o->size, "input side (default: the cfg's width); min_crop/max_crop scale with it")
        ->check(CLI::Range(8, 8192));
    sub->add_flag("!--no-augment", o->augment, "no crop/flip/HSV augmentation (centre crop only)");
    sub->add_option("--valid-every", o->valid_every, "top-1/top-k on the validation set every N steps; keeps <name>_best.weights")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--top", o->top, "k of the top-k accuracy (default: the .data's top, else 5)")->check(CLI::Range(1, 1 << 16));
    add_run_output_options(*sub, *o);
    add_ranks_option(*sub, ranks);
}

struct PredictOptions {
    std::string cfg, weights, names, data, json, precision = "f32", calibration;
    int top = 0, size = 0, threads = 0;
    std::vector<std::string> inputs;
};

std::vector<std::string> names_for(const std::string& names, const std::string& data, int classes) {
    std::vector<std::string> out;
    if (!names.empty()) out = read_names_file(names);
    else if (!data.empty()) out = read_names_file(read_classification_data(data).labels);
    if (out.empty()) {
        for (int i = 0; i < classes; ++i) out.push_back(std::to_string(i));
        return out;
    }
    if (int(out.size()) != classes)
        throw Error((names.empty() ? data : names) + ": " + std::to_string(out.size()) + " names but the network has " +
                    std::to_string(classes) + " classes");
    return out;
}

int run_predict(const PredictOptions& o) {
    Classifier c({.cfg = o.cfg, .weights = o.weights, .size = o.size, .threads = o.threads, .precision = o.precision, .calibration = o.calibration});
    const std::vector<std::string> names = names_for(o.names, o.data, c.classes());
    int top = o.top;
    if (top <= 0) top = o.data.empty() ? 5 : read_classification_data(o.data).top;
    std::vector<ImageClassification> results;
    bool failed = false;
    for (const InputSource& src : expand_inputs(o.inputs)) {
        if (src.kind != SourceKind::Image) throw Error(src.path + ": classifier predict takes images only");
        cv::Mat image;
        try {
            image = load_image(src.path);
        } catch (const Error& e) {
            std::fprintf(stderr, "yolo9k: error: %s\n", e.what());
            failed = true;
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<float> p = c.predict(image);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s: Predicted in %f seconds.\n", src.path.c_str(), s);
        ImageClassification item{.file = src.path, .width = image.cols, .height = image.rows, .predictions = {}};
        for (int i : top_classes(p, top)) {
            std::printf("%5.2f%%: %s\n", p[i] * 100, names[i].c_str());  // darknet's line
            item.predictions.push_back({.class_id = i, .name = names[i], .score = p[i]});
        }
        results.push_back(std::move(item));
    }
    std::fflush(stdout);
    if (!o.json.empty()) write_file_atomically(o.json, to_json_text(results, 2) + "\n");
    return failed ? kExitFailure : kExitOk;
}

struct ValidOptions {
    std::string data, split = "valid", labels, cfg, weights, json, precision = "f32", calibration;
    int top = 0, size = 0, threads = 0;
};

int run_valid(const ValidOptions& o) {
    Classifier c({.cfg = o.cfg, .weights = o.weights, .size = o.size, .threads = o.threads, .precision = o.precision, .calibration = o.calibration});
    const ClassifierEvaluation v =
        evaluate_classifier(c, {.data = o.data, .split = o.split, .labels = o.labels, .top = o.top});
    for (const std::string& u : v.unreadable) std::fprintf(stderr, "yolo9k: warning: %s (skipped)\n", u.c_str());
    std::printf("%-24s %7s %7s %7s\n", "class", "images", "top-1", ("top-" + std::to_string(v.k)).c_str());
    for (const ClassAccuracyRow& a : v.per_class)
        std::printf("%-24s %7d %7.4f %7.4f\n", a.name.c_str(), a.images, a.top1, a.topk);
    std::printf("top-1 %.4f, top-%d %.4f over %d images\n", v.top1, v.k, v.topk, v.images);
    if (!o.json.empty()) write_file_atomically(o.json, to_json_text(v, 2) + "\n");
    return v.unreadable.empty() ? kExitOk : kExitFailure;
}

}  // namespace

Action add_classifier_command(CLI::App& app) {
    CLI::App* cls = app.add_subcommand("classifier", "Train and run image classifiers (darknet's `classifier`)");
    cls->require_subcommand(1);

    auto train = std::make_shared<ClassifierTrainerOptions>();
    auto ranks = std::make_shared<int>(0);
    add_train(*cls, train, *ranks);

    auto pred = std::make_shared<PredictOptions>();
    CLI::App* p = cls->add_subcommand("predict", "Top classes for images (darknet's `classifier predict`)");
    p->footer("Prints darknet's `NN.NN%: name` lines per image. The image is letterboxed to the network size, as "
              "darknet's predict_classifier does.");
    p->add_option("--cfg", pred->cfg, "network .cfg")->required()->check(CLI::ExistingFile);
    p->add_option("--weights", pred->weights, "trained .weights")->required()->check(CLI::ExistingFile);
    p->add_option("--names,--labels", pred->names, "class names, one a line")->check(CLI::ExistingFile);
    p->add_option("--data", pred->data, "classification .data (its labels and top)")->check(CLI::ExistingFile);
    p->add_option("--top", pred->top, "how many classes to show (default: the .data's top, else 5)")->check(CLI::Range(1, 1 << 16));
    p->add_option("--size", pred->size, "input side (default: the cfg's)")->check(CLI::Range(8, 8192));
    p->add_option("--threads", pred->threads, "compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
    add_precision_option(p, pred->precision);
    add_calibration_option(p, pred->calibration);
    p->add_option("--json", pred->json, "write [{file, width, height, predictions: [{class_id, name, score}]}]");
    p->add_option("inputs", pred->inputs, "images, folders or list files")->required();

    auto val = std::make_shared<ValidOptions>();
    CLI::App* v = cls->add_subcommand("valid", "Top-1 / top-k accuracy on a labelled set (darknet's `classifier valid`)");
    v->footer("Each image's central square is resized to the network size, as darknet's "
              "validate_classifier_single (center_crop_image) does. Prints per-class and overall accuracy; unreadable images are named "
              "and skipped (exit 1).");
    v->add_option("--data", val->data, kDataHelp)->required();
    v->add_option("--split", val->split, "train or valid (default valid); a folder of class folders without train/ and valid/ is used whole with --split train");
    v->add_option("--labels", val->labels, "class names (overrides the .data's labels)")->check(CLI::ExistingFile);
    v->add_option("--cfg", val->cfg, "network .cfg")->required()->check(CLI::ExistingFile);
    v->add_option("--weights", val->weights, "trained .weights")->required()->check(CLI::ExistingFile);
    v->add_option("--top", val->top, "k of the top-k accuracy (default: the .data's top, else 5)")->check(CLI::Range(1, 1 << 16));
    v->add_option("--size", val->size, "input side (default: the cfg's)")->check(CLI::Range(8, 8192));
    v->add_option("--threads", val->threads, "compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
    add_precision_option(v, val->precision);
    add_calibration_option(v, val->calibration);
    v->add_option("--json", val->json, "write {images, top1, k, topk, per_class, unreadable}");

    CLI::App* train_sub = cls->get_subcommand("train");
    return [=] {
        if (train_sub->parsed()) {
            if (*ranks > 0) return launch_ranks(*ranks);
            ClassifierTrainer trainer(*train);
            return run_training(trainer);
        }
        if (p->parsed()) return run_predict(*pred);
        return run_valid(*val);
    };
}

}  // namespace yolo9k::cli
