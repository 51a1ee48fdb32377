// What an int8 executor quantizes activations with: the range of values each layer's output
// (and the network input) took on real images, recorded by `yolo9k calibrate`
// (src/quantize/calibration.h). Backend-neutral: a backend decides which tensors it stores
// in 8 bits and derives their scales from these ranges.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace yolo9k {

struct ActivationRange {
    float min = 0, max = 0;
    float absmax() const { return std::max(std::fabs(min), std::fabs(max)); }
    bool nonnegative() const { return min >= 0; }
};

struct ActivationRanges {
    ActivationRange input;               // the network input (pixels in [0, 1] for detectors)
    std::vector<ActivationRange> layers;  // one per layer output, in network order
};

}  // namespace yolo9k
