#include "cli/loader_bench.h"

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "perf/stats.h"

namespace yolo9k::cli {

int run_loader_bench(const LoaderBenchOptions& o) {
    DatasetOptions data;
    data.split = o.split;
    data.class_names = o.class_names;
    data.quiet = true;  // `dataset` has printed the summary and its warnings already
    LoaderOptions lo;
    lo.batch = o.batch;
    lo.threads = o.threads;
    lo.prefetch = std::max(2 * o.threads, 2);
    lo.seed = o.seed;
    lo.size = {o.size, o.size};
    lo.augment = {.enabled = o.augment, .jitter = o.jitter, .hue = .1f, .saturation = 1.5f, .exposure = 1.5f};  // yolov2-voc.cfg's
    DetectionLoader loader(load_datasets(o.paths, data), lo);
    loader.next();  // warm-up: threads start, the first batches fill the queue
    std::vector<double> ms;
    for (int i = 0; i < o.batches; ++i) {
        const double t0 = perf::now_ms();
        loader.next();
        ms.push_back(perf::now_ms() - t0);
    }
    const perf::Summary s = perf::summarize(ms);
    std::printf("loader: %d batches of %d at %dx%d, %d threads, %s: median %.1f ms/batch, %.1f images/s\n", o.batches,
                o.batch, o.size, o.size, o.threads, o.augment ? "augmented" : "letterbox", s.median,
                o.batch * 1000.0 / s.median);
    if (loader.failed_images() > 0) std::printf("unreadable images: %zu\n", loader.failed_images());
    return kExitOk;
}

}  // namespace yolo9k::cli
