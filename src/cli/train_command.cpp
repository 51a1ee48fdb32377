// `yolo9k train` (darknet's `detector train`) and `yolo9k partial`.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/ranks.h"
#include "cli/training_options.h"
#include "cli/validators.h"
#include "yolo9k/model.h"
#include "yolo9k/trainer.h"

namespace yolo9k::cli {

Action add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainerOptions>();
    auto ranks = std::make_shared<int>(0);
    CLI::App* sub = app.add_subcommand("train", "Train a YOLOv2 detector (darknet's `detector train`)");
    CLI::Option* data = sub->add_option("--data", o->data, "darknet .data file (train, valid, names, backup)")
                            ->check(CLI::ExistingFile)
                            ->check(darknet_data_file());
    sub->add_option("--dataset", o->data, "or: any dataset yolo9k reads (VOC folder, COCO JSON, list file)")
        ->excludes(data);
    sub->add_option("--split", o->split, "VOC split for --dataset (ImageSets/Main/<split>.txt)");
    sub->add_option("--names", o->names, "class names file (overrides the .data's names)")->check(CLI::ExistingFile);
    add_run_setup_options(*sub, *o, "network .cfg", "initial weights: pretrained, or a partial backbone (e.g. .conv.23)");
    sub->add_option("--size", o->size, "fixed input size when multi-scale is off (default: the cfg's)")->check(input_side());
    sub->add_option("--multiscale", o->multiscale, "1: new size from 320..608 every 10 steps, 0: off (default: [region] random)")->check(CLI::IsMember({0, 1}));
    sub->add_flag("!--no-augment", o->augment, "no jitter/flip/HSV augmentation (letterbox only)");
    sub->add_option("--valid-split", o->valid_split, "with --dataset: the split to evaluate on for --map-every");
    sub->add_option("--map-every", o->map_every, "evaluate mAP@.5 on the valid set every N steps; keeps <name>_best.weights")->check(CLI::NonNegativeNumber);
    sub->add_option("--train-map-images", o->train_map_images,
                    "with --map-every: also mAP@.5 on this many training images (evenly spaced, unaugmented), to tell "
                    "not learning from overfitting; -1: as many as the validation set, at most 500; 0: off")
        ->capture_default_str()
        ->check(CLI::Range(-1, 1 << 20));
    sub->add_option("--class-data", o->class_data,
                    "YOLO9000 joint training: classification-only images, a folder of <class name>/ folders or a list "
                    "(each image's folder names its class)")
        ->check(CLI::ExistingPath);
    sub->add_option("--class-ratio", o->class_ratio,
                    "classification images per detection image in the batches (the paper's YOLO9000: 4)")
        ->check(CLI::PositiveNumber);
    add_run_output_options(*sub, *o);
    add_ranks_option(*sub, *ranks);
    return [o, ranks] {
        if (*ranks > 0) return launch_ranks(*ranks);
        Trainer trainer(*o);
        return run_training(trainer);
    };
}

Action add_partial_command(CLI::App& app) {
    struct Opts {
        std::string cfg, weights, out;
        int layers = 0;
        bool keep_seen = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("partial", "Cut the first N layers' weights for transfer (darknet's `partial`)");
    sub->add_option("--cfg", o->cfg, "network .cfg")->required()->check(CLI::ExistingFile);
    sub->add_option("--weights", o->weights, "full .weights")->required()->check(CLI::ExistingFile);
    sub->add_option("--out", o->out, "output .weights (e.g. darknet19_448.conv.23)")->required();
    sub->add_option("--layers", o->layers, "number of layers to keep")->required()->check(CLI::PositiveNumber);
    sub->add_flag("--keep-seen", o->keep_seen, "keep the images-seen counter (darknet resets it)");
    return [o] {
        Model model(o->cfg);
        model.load_weights(o->weights);
        if (!o->keep_seen) model.set_images_seen(0);
        model.save_weights(o->out, o->layers);
        std::cout << o->out << ": first " << o->layers << " layers, " << model.weights_file_bytes(o->layers) << " bytes\n";
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
