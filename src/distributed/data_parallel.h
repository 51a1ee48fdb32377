// What the ranks of a data-parallel training job exchange each optimizer step, between the
// backward passes and the optimizer (which then applies the identical update on every rank):
//  - the gradients, summed with one all-reduce per bucket of layers (small layers are packed
//    together; a large one is reduced in place), last layer first, as the backward ends;
//  - the batch-norm running statistics, merged so that every rank holds what one process
//    running all the ranks' passes in rank order would hold;
//  - the step's totals (loss, counts), and whether any rank was asked to stop.
// Also the start: every rank takes rank 0's weights, optimizer state and schedule position.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/train_executor.h"
#include "distributed/communicator.h"

namespace yolo9k {

class Network;
class Optimizer;

class DataParallelStep {
public:
    // passes_per_rank: the forward/backward passes each rank makes per step.
    DataParallelStep(Communicator& job, Network& net, int passes_per_rank);

    // Before the step's first pass: remembers the running statistics.
    void begin();
    // After the step's last backward: sums `gradients` and `totals` over the ranks (in
    // place) and merges the running statistics. `iteration` names the step in a timeout.
    void finish(std::vector<LayerGradients>& gradients, std::span<double> totals, int64_t iteration);

    // Rank 0's parameters, running statistics and optimizer state to every rank.
    void broadcast_model(Optimizer& optimizer);

    // Seconds spent exchanging (all-reduces), and waiting at the step's end for the slowest
    // rank to finish its passes (load imbalance, not transfer).
    double communication_seconds() const { return communication_s_; }
    double waiting_seconds() const { return waiting_s_; }
    size_t bucket_floats() const { return bucket_.capacity(); }

private:
    void reduce_gradients(std::vector<LayerGradients>& gradients, const std::string& what);
    void merge_running_statistics(const std::string& what);

    Communicator& job_;
    Network& net_;
    const int passes_;
    std::vector<float> bucket_;
    std::vector<std::vector<float>> before_;  // running statistics at begin()
    std::vector<float> merged_;
    double communication_s_ = 0, waiting_s_ = 0;
};

}  // namespace yolo9k
