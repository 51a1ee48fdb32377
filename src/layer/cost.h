// [cost]: the training loss on a classifier's output. At inference it passes its
// input through, and the network's output is the layer before it (as in darknet).
#pragma once

#include <string>

#include "layer/layer.h"

namespace yolo9k {

class CostLayer : public Layer {
public:
    std::string_view type() const override { return "cost"; }
    void reshape(const std::vector<Shape>& inputs) override {
        inputs_ = inputs;
        output_ = inputs.at(0);
    }
    std::string describe() const override { return "cost                                           " + std::to_string(output_.size()); }
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: an identity here (the trainer's loss owns the cost itself).
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
    bool is_identity() const override { return true; }

    std::string cost_type = "sse";  // sse, masked, smooth, L1
    float scale = 1, ratio = 0, noobject_scale = 1, thresh = 0;
};

}  // namespace yolo9k
