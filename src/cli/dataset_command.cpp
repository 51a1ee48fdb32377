// `yolo9k dataset`: what a dataset holds (images, boxes per class, what was wrong with it)
// and, with --loader-bench, how fast the training loader prepares augmented batches.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "perf/stats.h"
#include "yolo9k/detector.h"  // read_names_file

namespace yolo9k::cli {

namespace {

void print_summary(const Dataset& d) {
    const DataReport& r = d.report;
    std::printf("images %zu, boxes %zu, classes %zu\n", r.images, r.boxes, d.class_names.size());
    const std::vector<size_t> per_class = count_boxes_per_class(d);
    for (size_t i = 0; i < per_class.size(); ++i) std::printf("  %3zu %-20s %zu\n", i, d.class_names[i].c_str(), per_class[i]);
    std::printf("skipped boxes %zu, clipped boxes %zu, images without labels %zu, missing images %zu\n",
                r.skipped_boxes, r.clipped_boxes, r.images_without_labels, r.missing_images);
}

}  // namespace

Action add_dataset_command(CLI::App& app) {
    struct Opts {
        std::vector<std::string> paths;
        std::string split, names;
        int bench_batches = 0, size = 416, batch = 8, threads = 2;
        uint64_t seed = 0;
        bool no_augment = false;
        AugmentOptions augment{.hue = .1f, .saturation = 1.5f, .exposure = 1.5f};  // yolov2-voc.cfg's
    };
    auto o = std::make_shared<Opts>();
    CLI::App* sub = app.add_subcommand("dataset", "Summarise a dataset; optionally measure the training loader");
    sub->add_option("PATH", o->paths, ".data file, image list, VOC folder, folder of VOC XMLs or COCO JSON (several: merged)")
        ->required();
    sub->add_option("--split", o->split, "VOC ImageSets/Main split, or train/valid of a .data file");
    sub->add_option("--names", o->names, ".names file fixing the class ids")->check(CLI::ExistingFile);
    sub->add_option("--loader-bench", o->bench_batches, "time this many loader batches (0: no benchmark)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--size", o->size, "network input size for the benchmark")->check(CLI::PositiveNumber);
    sub->add_option("--batch", o->batch, "images per batch")->check(CLI::PositiveNumber);
    sub->add_option("--threads", o->threads, "loader worker threads")->check(CLI::PositiveNumber);
    sub->add_option("--seed", o->seed, "random seed of the loader");
    sub->add_option("--jitter", o->augment.jitter, "[region] jitter");
    sub->add_flag("--no-augment", o->no_augment, "plain letterbox (validation) instead of darknet's augmentation");
    return [o] {
        DatasetOptions options;
        options.split = o->split;
        if (!o->names.empty()) options.class_names = read_names_file(o->names);
        Dataset dataset = load_datasets(o->paths, options);
        print_summary(dataset);
        if (o->bench_batches <= 0) return kExitOk;

        LoaderOptions lo;
        lo.batch = o->batch;
        lo.threads = o->threads;
        lo.prefetch = std::max(2 * o->threads, 2);
        lo.seed = o->seed;
        lo.size = {o->size, o->size};
        lo.augment = o->augment;
        lo.augment.enabled = !o->no_augment;
        DetectionLoader loader(std::move(dataset), lo);
        loader.next();  // warm-up: threads start, the first batches fill the queue
        std::vector<double> ms;
        for (int i = 0; i < o->bench_batches; ++i) {
            const double t0 = perf::now_ms();
            loader.next();
            ms.push_back(perf::now_ms() - t0);
        }
        const perf::Summary s = perf::summarize(ms);
        std::printf("loader: %d batches of %d at %dx%d, %d threads, %s: median %.1f ms/batch, %.1f images/s\n",
                    o->bench_batches, o->batch, o->size, o->size, o->threads,
                    o->no_augment ? "letterbox" : "augmented", s.median, o->batch * 1000.0 / s.median);
        if (loader.failed_images() > 0) std::printf("unreadable images: %zu\n", loader.failed_images());
        return kExitOk;
    };
}

}  // namespace yolo9k::cli
