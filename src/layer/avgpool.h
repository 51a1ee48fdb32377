// [avgpool]: global average pooling, w x h x c -> 1 x 1 x c (Darknet-19's classifier head).
#pragma once

#include "layer/layer.h"

namespace yolo9k {

class AvgpoolLayer : public Layer {
public:
    std::string_view type() const override { return "avgpool"; }
    void reshape(const std::vector<Shape>& inputs) override {
        inputs_ = inputs;
        output_ = {inputs.at(0).c, 1, 1};
    }
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: every input of a channel gets 1/(h*w) of its output's gradient.
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
};

}  // namespace yolo9k
