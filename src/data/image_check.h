// `dataset --check`: decode every image of a dataset the way training and evaluation will,
// so a bad file is found before a run trips over it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace yolo9k {

struct UnreadableImage {
    size_t index = 0;  // in dataset.images
    std::string why;   // the reader's message, naming the file (truncated JPEG, not an image, missing ...)
};

// Decodes every image with `threads` workers (through io/image_reader, with its limits);
// returns the ones that fail, in dataset order. `progress(done, total)` is called now and then.
std::vector<UnreadableImage> find_unreadable_images(const Dataset& dataset, int threads,
                                                    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace yolo9k
