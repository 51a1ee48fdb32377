// `dataset --check`: decode every image of a dataset the way training and evaluation will,
// so a bad file is found before a run trips over it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "yolo9k/dataset.h"  // UnreadableImage

namespace yolo9k {

// Decodes every image with `threads` workers (through io/image_reader, with its limits);
// returns the ones that fail, in dataset order. `progress(done, total)` is called now and then.
std::vector<UnreadableImage> find_unreadable_images(const Dataset& dataset, int threads,
                                                    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace yolo9k
