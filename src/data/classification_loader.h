// ClassificationLoader: background threads preparing augmented classifier batches. Like
// darknet's classifier training, every image is drawn at random with replacement (no
// epochs); image choice and augmentation derive from (seed, step, image within the step)
// only (data/step_slots.h), so
// batch k is the same bytes whatever the thread count or timing, and a resumed run
// continues the same sequence. Unreadable images are reported (naming the file) and
// replaced by another draw; more than max_failed_images of them stops training.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/classification_augment.h"
#include "data/classification_dataset.h"
#include "data/step_slots.h"

namespace yolo9k {

struct ClassificationBatch {
    std::int64_t index = 0;
    int size = 0;               // network input side
    std::vector<float> images;  // batch x 3 x size x size, plain NCHW, RGB [0, 1]
    std::vector<int> labels;    // per image
    std::vector<std::string> paths;
};

struct ClassificationLoaderOptions {
    int batch = 8;
    int size = 224;
    int threads = 2;
    int prefetch = 4;
    std::uint64_t seed = 0;
    ClassifierAugmentOptions augment;
    std::int64_t first_batch = 0;
    StepSlots step_slots;  // how batches map to optimizer steps (subdivisions, ranks)
    std::size_t max_failed_images = 100;
    bool quiet = false;
};

class ClassificationLoader {
public:
    ClassificationLoader(ClassificationDataset dataset, ClassificationLoaderOptions options);
    ~ClassificationLoader();
    ClassificationLoader(const ClassificationLoader&) = delete;
    ClassificationLoader& operator=(const ClassificationLoader&) = delete;

    // Batches first_batch, first_batch + 1, ... in order; rethrows a worker's Error.
    ClassificationBatch next();
    // Batch `index` built on the calling thread (same bytes as next()).
    ClassificationBatch make_batch(std::int64_t index) const;
    std::size_t failed_images() const;
    std::vector<std::string> warnings() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace yolo9k
