// DetectionLoader: background threads that prepare augmented training batches ahead of
// the trainer. Like darknet, every batch draws its images at random with replacement
// (no epochs). All randomness (image choice and augmentation) derives from (seed, step,
// image within the step) (data/step_slots.h), so batch k is the same bytes whatever the
// thread count or timing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/step_slots.h"

namespace yolo9k {

struct DetectionBatch {
    std::int64_t index = 0;
    int width = 0, height = 0;                 // network input size of this batch
    std::vector<float> images;                 // batch x 3 x height x width, plain NCHW, RGB [0, 1]
    std::vector<std::vector<TruthBox>> truths; // per image, relative to the network input
    std::vector<std::string> paths;            // the image each slot holds
    // Per slot: the label of a classification-only image (then truths[slot] is empty), -1
    // for a detection image. region_loss's image_classes.
    std::vector<int> image_classes;
};

struct NetSize {
    int width = 416, height = 416;
};

struct LoaderOptions {
    int batch = 8;
    int threads = 2;   // worker threads
    int prefetch = 4;  // batches prepared ahead of the consumer (at least `threads` is sensible)
    std::uint64_t seed = 0;
    AugmentOptions augment;
    // Network size per batch index (the trainer's multi-scale schedule). Called from the
    // worker threads, ahead of time: it must be a pure function of the index. Empty: `size`.
    std::function<NetSize(std::int64_t batch_index)> size_for_batch;
    NetSize size;
    // Index of the first batch next() returns: a resumed run continues the same sequence.
    std::int64_t first_batch = 0;
    // How batches map to optimizer steps (subdivisions, data-parallel ranks): the slots' keys.
    StepSlots step_slots;
    // Unreadable images are replaced by another random draw; the loader stops with an
    // Error once more than this many distinct images failed, or a slot fails 50 draws running.
    std::size_t max_failed_images = 100;
    bool quiet = false;  // do not echo the per-image warnings to stderr
    // Mixed batches (YOLO9000's joint training): with a classification-only set given to
    // the loader, each slot draws from it with this probability (from the slot's own random
    // stream, so still a pure function of (seed, batch, slot)), else from the detection set.
    double class_share = 0;
};

class DetectionLoader {
public:
    // Throws Error when the dataset has no images or the options make no sense.
    // class_only: classification-only images (each with image_class >= 0 and no boxes),
    // mixed in with options.class_share; empty for plain detection training.
    DetectionLoader(Dataset dataset, LoaderOptions options, Dataset class_only = {});
    ~DetectionLoader();  // stops and joins the workers
    DetectionLoader(const DetectionLoader&) = delete;
    DetectionLoader& operator=(const DetectionLoader&) = delete;

    // Batches 0, 1, 2, ... in order; blocks until the next is ready. Rethrows a worker's
    // Error (e.g. too many unreadable images).
    DetectionBatch next();

    // Batch `index` prepared on the calling thread, without the queue (same bytes as next()).
    DetectionBatch make_batch(std::int64_t index) const;

    std::size_t failed_images() const;               // distinct images that could not be read
    std::vector<std::string> warnings() const;       // the first few, naming the files
    const Dataset& dataset() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace yolo9k
