// `yolo9k dataset`: what a dataset holds (images, boxes per class, what was wrong with it)
// and, with --loader-bench, how fast the training loader prepares augmented batches.
// `yolo9k dataset crops`: a classification set of box crops (see data/box_crops.h).
#include <cstdio>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/loader_bench.h"
#include "cli/validators.h"
#include "yolo9k/dataset.h"
#include "yolo9k/detector.h"  // read_names_file
#include "yolo9k/synthetic_dataset.h"

namespace yolo9k::cli {

namespace {

// The warnings the reader collected (the first few of each kind), as the log sink would show them.
void print_warnings(const std::vector<std::string>& warnings) {
    for (const std::string& w : warnings) std::fprintf(stderr, "yolo9k: warning: %s\n", w.c_str());
}

void print_summary(const LabelledImages& d) {
    const std::vector<size_t> per_class = count_boxes_per_class(d);
    size_t boxes = 0;
    for (size_t n : per_class) boxes += n;
    std::printf("images %zu, boxes %zu, classes %zu\n", d.images.size(), boxes, d.class_names.size());
    for (size_t i = 0; i < per_class.size(); ++i) std::printf("  %3zu %-20s %zu\n", i, d.class_names[i].c_str(), per_class[i]);
    std::printf("skipped boxes %zu, clipped boxes %zu, images without labels %zu, missing images %zu\n",
                d.skipped_boxes, d.clipped_boxes, d.images_without_labels, d.missing_images);
}

// PATH... as one set: the first names the options' `path`, the rest are merged after it.
LabelledImages read_paths(const std::vector<std::string>& paths, const std::string& split,
                          const std::vector<std::string>& class_names) {
    DatasetReadOptions o{.path = paths.front(),
                         .more_paths = {paths.begin() + 1, paths.end()},
                         .class_names = class_names,
                         .split = split};
    LabelledImages set = read_dataset(o);
    print_warnings(set.warnings);
    return set;
}

void print_crop_report(const CropReport& r) {
    std::printf("%-12s", "crops");
    for (const CropSplitReport& s : r.splits) std::printf(" %10s", s.name.c_str());
    std::printf("\n");
    for (size_t c = 0; c < r.class_names.size(); ++c) {
        std::printf("  %-10s", r.class_names[c].c_str());
        for (const CropSplitReport& s : r.splits) std::printf(" %10zu", s.crops_per_class[c]);
        std::printf("\n");
    }
    std::printf("  %-10s", "total");
    for (const CropSplitReport& s : r.splits) std::printf(" %10zu", s.crops);
    std::printf("\n");
    for (const CropSplitReport& s : r.splits)
        std::printf("%s: %zu images, %zu crops, %zu boxes under --min-size, %zu difficult skipped, %zu unreadable images -> %s\n",
                    s.name.c_str(), s.images, s.crops, s.small_boxes, s.difficult_boxes, s.unreadable_images,
                    s.list_path.c_str());
    std::printf("darknet files: %s, %s\n", r.labels_path.c_str(), r.data_path.c_str());
    if (r.ambiguous_label_paths > 0)
        std::printf("warning: %zu crop paths hold no or several class names; darknet's classifier would mislabel them\n",
                    r.ambiguous_label_paths);
}

// `dataset crops PATH... --out DIR`: one split per source split, named as the classifier
// expects (train, valid).
Action add_crops_subcommand(CLI::App& parent) {
    struct Opts {
        std::vector<std::string> paths;
        std::string out, names, train_split, valid_split;
        bool whole = false;
        CropOptions crop;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = parent.add_subcommand(
        "crops", "Write one image per box as a classification set: OUT/<train|valid>/<class>/<stem>_<k>.jpg, "
                 "plus darknet's labels.txt, <split>.list and crops.data");
    sub->add_option("PATH", o->paths, "detection dataset(s): .data file, image list, VOC folder, VOC XMLs or COCO JSON")
        ->required();
    sub->add_option("--out", o->out, "output folder")->required();
    sub->add_option("--names", o->names, ".names file fixing the class ids")->check(CLI::ExistingFile);
    sub->add_option("--train-split", o->train_split, "source split written as OUT/train (VOC split, or train/valid of a .data)");
    sub->add_option("--valid-split", o->valid_split, "source split written as OUT/valid");
    sub->add_option("--context", o->crop.context, "each side grows by this fraction of the box size")
        ->check(finite_range(0.0, 10.0));
    sub->add_flag("--square", o->crop.square, "extend the shorter side to the longer (centred)");
    sub->add_option("--min-size", o->crop.min_size, "skip boxes whose shorter side is below N pixels")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--size", o->crop.output_size, "resize so the longer side is N pixels (0: native)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--quality", o->crop.jpeg_quality, "JPEG quality")->check(CLI::Range(1, 100));
    sub->add_flag("--skip-difficult", o->crop.skip_difficult, "leave out VOC `difficult` boxes");
    sub->add_flag("--overwrite", o->crop.overwrite, "replace OUT/<split>/ from an earlier run");
    return [o] {
        std::vector<std::string> class_names;
        if (!o->names.empty()) class_names = read_names_file(o->names);
        // Without splits the whole dataset (a .data file: its train list) becomes OUT/train.
        std::vector<std::pair<std::string, std::string>> wanted;  // (OUT folder, source split)
        if (o->train_split.empty() && o->valid_split.empty()) wanted.push_back({"train", ""});
        if (!o->train_split.empty()) wanted.push_back({"train", o->train_split});
        if (!o->valid_split.empty()) wanted.push_back({"valid", o->valid_split});
        std::vector<CropSplitSource> splits;
        for (const auto& [folder, source] : wanted) {
            // Both splits must number classes alike: the first one fixes them when --names does not.
            LabelledImages d = read_paths(o->paths, source, class_names);
            if (class_names.empty()) class_names = d.class_names;
            splits.push_back({folder, std::move(d)});
        }
        print_crop_report(write_box_crops(splits, o->out, o->crop));
        return kExitOk;
    };
}

// `dataset synth --out DIR`: a labelled set yolo9k draws itself (see data/synthetic_dataset.h).
Action add_synth_subcommand(CLI::App& parent) {
    struct Opts {
        SyntheticOptions synth;
        std::string layout = "voc", colours = "per-class";
        bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = parent.add_subcommand(
        "synth", "Draw a labelled detection set (5 shape/texture classes on cluttered backgrounds) with "
                 "train/val/test splits, in VOC or darknet layout");
    sub->add_option("--out", o->synth.out, "output folder")->required();
    sub->add_option("--images", o->synth.images, "images over all splits")->check(CLI::Range(1, 1000000));
    sub->add_option("--seed", o->synth.seed, "random seed (the same seed gives the same files)");
    sub->add_option("--format", o->layout, "voc (Annotations/, JPEGImages/, ImageSets/Main/) or darknet (images/, "
                                           "labels/, lists, synth.data)")
        ->check(CLI::IsMember({"voc", "darknet"}));
    sub->add_option("--valid-fraction", o->synth.valid_fraction, "share of images in the validation split")
        ->check(finite_range(0.0, 0.9));
    sub->add_option("--test-fraction", o->synth.test_fraction, "share of images in the test split")
        ->check(finite_range(0.0, 0.9));
    sub->add_option("--min-objects", o->synth.min_objects, "at least this many objects per image (fewer when they do not fit)")
        ->check(CLI::Range(0, 50));
    sub->add_option("--max-objects", o->synth.max_objects, "at most this many objects per image")->check(CLI::Range(1, 50));
    sub->add_option("--min-size", o->synth.min_object_size,
                    "smallest object (longer box side) as a fraction of the image's shorter side")
        ->check(finite_range(0.02, 1.0));
    sub->add_option("--max-size", o->synth.max_object_size, "largest object, likewise")->check(finite_range(0.02, 1.0));
    sub->add_option("--colours", o->colours, "per-class (each class its own hue family) or random (any colour: only "
                                             "shape and texture tell the classes apart)")
        ->check(CLI::IsMember({"per-class", "random"}));
    sub->add_flag("--overwrite", o->synth.overwrite, "replace a synthetic set written there before");
    sub->add_flag("--quiet", o->quiet, "no progress line");
    return [o] {
        o->synth.layout = o->layout == "darknet" ? SyntheticLayout::darknet : SyntheticLayout::voc;
        o->synth.palette = o->colours == "random" ? SyntheticPalette::random : SyntheticPalette::per_class;
        int last_percent = -1;
        const SyntheticReport r = write_synthetic_dataset(o->synth, [&](int done, int total) {
            const int percent = 100 * done / total;
            if (o->quiet || percent == last_percent) return;
            last_percent = percent;
            std::fprintf(stderr, "\rsynth: %d/%d images", done, total);
            if (done == total) std::fprintf(stderr, "\n");
        });
        std::printf("%-10s %8s %8s %10s", "split", "images", "boxes", "difficult");
        for (const std::string& n : r.class_names) std::printf(" %9s", n.c_str());
        std::printf("\n");
        for (const SyntheticSplitReport& s : r.splits) {
            std::printf("%-10s %8zu %8zu %10zu", s.name.c_str(), s.images, s.boxes, s.difficult_boxes);
            for (size_t c : s.boxes_per_class) std::printf(" %9zu", c);
            std::printf("\n");
        }
        std::printf("wrote %s (%s layout); class names: %s%s%s\n", r.out.c_str(), o->layout.c_str(), r.names_path.c_str(),
                    r.data_path.empty() ? "" : "; data file: ", r.data_path.c_str());
        return kExitOk;
    };
}

}  // namespace

Action add_dataset_command(CLI::App& app) {
    struct Opts {
        std::vector<std::string> paths;
        std::string split, names;
        int threads = 2;  // image checks and loader workers
        bool check = false;
        LoaderBenchOptions bench;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("dataset", "Summarise a dataset; optionally measure the training loader");
    // Not required by CLI11: `dataset crops PATH...` takes its own; checked in the action.
    sub->add_option("PATH", o->paths, ".data file, image list, VOC folder, folder of VOC XMLs or COCO JSON (several: merged)");
    sub->add_option("--split", o->split, "VOC ImageSets/Main split, or train/valid of a .data file");
    sub->add_option("--names", o->names, ".names file fixing the class ids")->check(CLI::ExistingFile);
    sub->add_option("--loader-bench", o->bench.batches, "time this many loader batches (0: no benchmark)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--size", o->bench.size, "network input size for the benchmark")->check(CLI::PositiveNumber);
    sub->add_option("--batch", o->bench.batch, "images per batch")->check(CLI::PositiveNumber);
    sub->add_option("--threads", o->threads, "loader worker threads")->check(CLI::PositiveNumber);
    sub->add_option("--seed", o->bench.seed, "random seed of the loader");
    sub->add_option("--jitter", o->bench.jitter, "[region] jitter")->check(finite_range(0, 0.99));
    sub->add_flag("!--no-augment", o->bench.augment, "plain letterbox (validation) instead of darknet's augmentation");
    sub->add_flag("--check", o->check,
                  "decode every image (with --threads workers) and list the ones training and evaluation would skip; "
                  "exit 1 if any");
    Action crops_action = add_crops_subcommand(*sub);
    CLI::App* crops = sub->get_subcommand("crops");
    Action synth_action = add_synth_subcommand(*sub);
    CLI::App* synth = sub->get_subcommand("synth");
    return [o, crops, crops_action, synth, synth_action] {
        if (crops->parsed()) return crops_action();
        if (synth->parsed()) return synth_action();
        if (o->paths.empty()) {
            std::cerr << "dataset: PATH is required (or `dataset crops PATH... --out DIR`, `dataset synth --out DIR`)\n";
            return kExitUsage;
        }
        std::vector<std::string> class_names;
        if (!o->names.empty()) class_names = read_names_file(o->names);
        const LabelledImages dataset = read_paths(o->paths, o->split, class_names);
        print_summary(dataset);
        if (o->check) {
            const bool tty = isatty(2);
            const std::vector<UnreadableImage> bad =
                find_unreadable_images(dataset, o->threads, [tty](size_t done, size_t total) {
                    if (tty) std::cerr << "\rchecked " << done << "/" << total << " images" << (done == total ? "\n" : "") << std::flush;
                });
            if (bad.empty()) {
                std::printf("check: all %zu images decode\n", dataset.images.size());
            } else {
                std::printf("check: %zu of %zu images cannot be read; training skips them (each replaced by another "
                            "image) and evaluation leaves them out:\n",
                            bad.size(), dataset.images.size());
                for (const UnreadableImage& b : bad) std::printf("  %s\n", b.why.c_str());
            }
            if (!bad.empty()) return kExitFailure;
        }
        if (o->bench.batches <= 0) return kExitOk;
        o->bench.paths = o->paths;
        o->bench.split = o->split;
        o->bench.class_names = class_names;
        o->bench.threads = o->threads;
        return run_loader_bench(o->bench);
    };
}

}  // namespace yolo9k::cli
