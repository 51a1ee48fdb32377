// `yolo9k train` (darknet's `detector train`) and `yolo9k partial`.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "network/network.h"
#include "train/trainer.h"

namespace yolo9k::cli {

Action add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainOptions>();
    CLI::App* sub = app.add_subcommand("train", "Train a YOLOv2 detector (darknet's `detector train`)");
    sub->add_option("--data", o->data_file, "darknet .data file (train, valid, names, backup)")->check(CLI::ExistingFile);
    sub->add_option("--dataset", o->dataset, "or: any dataset yolo9k reads (VOC folder, COCO JSON, list file)");
    sub->add_option("--split", o->split, "VOC split for --dataset (ImageSets/Main/<split>.txt)");
    sub->add_option("--names", o->names_file, "class names file (overrides the .data's names)")->check(CLI::ExistingFile);
    sub->add_option("--cfg", o->cfg, "network .cfg")->required()->check(CLI::ExistingFile);
    sub->add_option("--weights", o->weights, "initial weights: pretrained, or a partial backbone (e.g. .conv.23)")
        ->check(CLI::ExistingFile);
    sub->add_option("--backup", o->backup_dir, "checkpoint folder (default: the .data's backup, else ./backup)");
    sub->add_option("--name", o->name, "checkpoint prefix (default: the cfg's name)");
    sub->add_flag("--resume", o->resume, "continue from <backup>/<name>_last.weights and its .state");
    sub->add_flag("--clear", o->clear, "start the schedule from 0 even if the weights have seen images");
    sub->add_option("--seed", o->seed, "random seed: a run is reproducible from it");
    sub->add_option("--threads", o->threads, "compute threads (default: all cores)");
    sub->add_option("--loader-threads", o->loader_threads, "data loading threads");
    sub->add_option("--backend", o->backend, "onednn (fast) or reference");
    sub->add_option("--batch", o->batch, "override [net] batch (images per step)");
    sub->add_option("--subdivisions", o->subdivisions, "override [net] subdivisions");
    sub->add_option("--max-batches", o->max_batches, "override [net] max_batches");
    sub->add_option("--learning-rate", o->learning_rate, "override [net] learning_rate");
    sub->add_option("--burn-in", o->burn_in, "override [net] burn_in");
    sub->add_option("--size", o->size, "fixed input size when multi-scale is off (default: the cfg's)");
    sub->add_option("--multiscale", o->multiscale, "1: new size from 320..608 every 10 steps, 0: off (default: [region] random)");
    sub->add_flag("!--no-augment", o->augment, "no jitter/flip/HSV augmentation (letterbox only)");
    sub->add_option("--checkpoint-every", o->checkpoint_every, "write <name>_last.weights every N steps");
    sub->add_option("--save-every", o->save_every, "keep <name>_<step>.weights every N steps");
    sub->add_option("--chart", o->chart, "training chart PNG (default <backup>/<name>_chart.png)");
    sub->add_flag("--no-chart", o->no_chart, "do not draw the chart");
    sub->add_option("--valid-split", o->valid_split, "with --dataset: the split to evaluate on for --map-every");
    sub->add_option("--map-every", o->map_every, "evaluate mAP@.5 on the valid set every N steps; keeps <name>_best.weights");
    sub->add_option("--stop-after", o->stop_after, "stop (with a checkpoint) after N steps in this run");
    sub->add_option("--class-data", o->class_data,
                    "YOLO9000 joint training: classification-only images, a folder of <class name>/ folders or a list "
                    "(each image's folder names its class)")
        ->check(CLI::ExistingPath);
    sub->add_option("--class-ratio", o->class_ratio,
                    "classification images per detection image in the batches (the paper's YOLO9000: 4)")
        ->check(CLI::PositiveNumber);
    sub->add_flag("-q,--quiet", o->quiet, "no progress lines");
    return [o] {
        TrainResult r = train_detector(*o);
        std::printf("trained %lld iterations in %.1f s (%.1f images/s), avg loss %.4f -> %s\n", (long long)r.iterations,
                    r.seconds, r.images_per_s, r.final_avg_loss, r.final_weights.c_str());
        return kExitOk;
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
        Network net = Network::from_cfg_file(o->cfg);
        net.load_weights(o->weights);
        if (o->layers > net.size())
            throw Error(o->cfg + ": --layers " + std::to_string(o->layers) + " but the network has " +
                        std::to_string(net.size()) + " layers");
        if (!o->keep_seen) net.header().seen = 0;
        net.save_weights(o->out, o->layers);
        std::cout << o->out << ": first " << o->layers << " layers, " << net.weights_file_bytes(o->layers) << " bytes\n";
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
