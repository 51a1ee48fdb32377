// `yolo9k dataset --loader-bench N`: how fast the training loader prepares augmented batches.
// A benchmark tool (like `bench`), so it drives the library's loader directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace yolo9k::cli {

struct LoaderBenchOptions {
    std::vector<std::string> paths;  // merged, as `dataset PATH...` reads them
    std::string split;
    std::vector<std::string> class_names;  // fixing the ids; empty: the data's own
    int batches = 0, size = 416, batch = 8, threads = 2;
    uint64_t seed = 0;
    float jitter = .2f;     // [region] jitter
    bool augment = true;    // false: plain letterbox, as validation
};

// Prints one line: median ms per batch and images/s. Returns the exit code.
int run_loader_bench(const LoaderBenchOptions& options);

}  // namespace yolo9k::cli
