// [maxpool]: max over size x size windows. Darknet pads implicitly: `padding`
// defaults to size-1, split as padding/2 before and the rest after, and padded
// cells never win (so size 2 stride 1 keeps 13x13 at 13x13, as in yolov2-tiny).
#pragma once

#include "layer/layer.h"

namespace yolo9k {

class MaxpoolLayer : public Layer {
public:
    std::string_view type() const override { return "maxpool"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;

    int size = 2, stride = 2, padding = 1;
    int pad_before() const { return padding / 2; }
};

}  // namespace yolo9k
