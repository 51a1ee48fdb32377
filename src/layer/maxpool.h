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

    // Training (reference). The state holds, per output, the in-plane index (y*w + x) of the
    // window's winning input (-1: the window lies wholly in padding), stored as a float.
    size_t train_state_floats(int batch) const override;
    void forward_train_reference(std::span<const float* const> inputs, float* output, float* state,
                                 int batch) override;
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;

    int size = 2, stride = 2, padding = 1;
    int pad_before() const { return padding / 2; }

private:
    // The forward; also writes each window's winner into `argmax` when it is not null.
    void pool(const float* x, float* y, float* argmax, int batch) const;
};

}  // namespace yolo9k
