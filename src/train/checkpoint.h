// Training checkpoints. The .weights file is darknet's format (darknet can load it);
// what darknet's format cannot hold - the iteration, the optimizer's velocity, the
// loss history for the chart, the run's seed - goes to a sidecar "<weights>.state".
// Both are written atomically (temp, fsync, rename). The sidecar records the weights'
// `seen`, so a kill between the two renames is detected on resume (stale sidecar:
// resume from the weights alone, velocity reset, with a warning).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "network/network.h"
#include "train/optimizer.h"

namespace yolo9k {

struct TrainHistory {
    std::vector<int64_t> iteration;
    std::vector<float> loss, avg_loss;
    std::vector<int64_t> map_iteration;  // evaluation points (mAP@.5) for the chart
    std::vector<float> map;
    // mAP@.5 on training images at the same points; -1 where not measured; empty: never.
    std::vector<float> train_map;
};

struct TrainState {
    int64_t iteration = 0;  // optimizer steps done
    uint64_t seen = 0;      // images seen (as in the weights header)
    uint64_t seed = 0;
    float avg_loss = -1;    // darknet's running average (-1: none yet)
    float best_map = -1;
    TrainHistory history;
};

void save_checkpoint(const std::string& weights_path, const Network& net, const TrainState& state,
                     Optimizer& optimizer);

// Loads weights (must match the cfg exactly) and, when a consistent sidecar exists, the
// state and optimizer velocity. Returns the state; `warning` says what was reset, if anything.
TrainState load_checkpoint(const std::string& weights_path, Network& net, Optimizer& optimizer,
                           int images_per_step, std::string& warning);

}  // namespace yolo9k
