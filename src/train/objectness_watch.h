// Watches a detector's training for the sparse-data failure of issue 19: the boxes are found
// (recall at IoU .5 is high) but objectness at their anchors stays near zero, so the detector
// cannot rank its own boxes above the background and mAP stays near zero on the training
// images too. Said once, on the progress stream, with a pointer to the README.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "train/region_loss.h"

namespace yolo9k {

struct ObjectnessWatchOptions {
    int64_t first_check = 400;    // no verdict before this step, nor before a quarter of the schedule
    int window = 100;             // steps averaged
    float max_objectness = 0.05f;  // below this at the boxes' anchors ...
    float min_recall = 0.5f;       // ... while at least this share of boxes is found
};

class ObjectnessWatch {
public:
    explicit ObjectnessWatch(int64_t max_batches, ObjectnessWatchOptions options = {});
    // Adds one step's statistics; returns the warning the first time the pattern holds over a
    // full window, else "".
    std::string add(int64_t iteration, const RegionLossStats& step);

private:
    struct Step {
        double objectness_sum, recall_sum, no_objectness;
        int boxes;
    };
    int64_t max_batches_;
    ObjectnessWatchOptions o_;
    std::deque<Step> window_;
    bool warned_ = false;
};

}  // namespace yolo9k
