// Drawing the synthetic set's images (the public side, yolo9k/synthetic_dataset.h, writes
// whole sets): exposed for tests, which check the drawing without writing files.
#pragma once

#include <vector>

#include "data/dataset.h"
#include "yolo9k/synthetic_dataset.h"

namespace yolo9k {

// One image and its labels, drawn from (seed, index): what write_synthetic_dataset writes
// for that index before JPEG encoding. Exposed for tests.
struct SyntheticImage {
    std::vector<unsigned char> bgr;  // height * width * 3
    int width = 0, height = 0;
    int jpeg_quality = 90;
    std::vector<TruthBox> boxes;
};
SyntheticImage draw_synthetic_image(const SyntheticOptions& options, int index);

}  // namespace yolo9k
