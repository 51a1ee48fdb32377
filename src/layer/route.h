// [route]: concatenates the outputs of earlier layers along channels
// (`layers=-1,-4`: negative indices are relative to this layer).
#pragma once

#include "layer/layer.h"

namespace yolo9k {

class RouteLayer : public Layer {
public:
    std::string_view type() const override { return "route"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: each source gets back its own channels of the output gradient.
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
};

}  // namespace yolo9k
