// Training throughput: one optimizer step (forward, region loss, backward, SGD update)
// on random images and boxes, timed; the convolution work counted as darknet counts
// forward FLOPs, times 3 for forward + backward-data + backward-weights (times 2 for the
// first layer, whose input needs no gradient).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "backend/train_profile.h"

namespace yolo9k::perf {

struct TrainBenchOptions {
    std::string cfg;
    int size = 416;
    int batch = 8;
    int iterations = 5;  // timed steps (median reported), after one warm-up step
    int threads = 0;
    std::string backend = "onednn";
    bool layers = false;  // also time every layer's phases (TrainBenchResult::layers)
};

// One layer's share of a step: mean ms per step in each phase (train_profile.h).
struct TrainLayerTime {
    int layer = 0;
    std::string type;
    std::array<double, kTrainPhases> ms{};
    double conv_gflop = 0;  // one convolution pass (forward, or each backward) per step; 0 for other layers
    bool input_gradient = true;  // false for layer 0: no backward-data pass
    double total_ms() const;
};

struct TrainBenchResult {
    std::string cfg;
    int size = 0, batch = 0;
    double step_ms = 0;        // median
    double forward_ms = 0, loss_ms = 0, backward_ms = 0, update_ms = 0;  // medians of the parts
    double images_per_s = 0;
    double conv_gflop = 0;     // per step
    double gflops = 0;         // conv_gflop / step time
    std::vector<TrainLayerTime> layers;  // with options.layers (the profiled steps are separate from the timed ones)
    double profiled_passes_ms = 0;       // with options.layers: forward + backward of the profiled steps, mean per step
};

TrainBenchResult bench_training(const TrainBenchOptions& options);

}  // namespace yolo9k::perf
