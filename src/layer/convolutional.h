// [convolutional]: 2-D convolution, optional batch norm, activation.
#pragma once

#include "layer/layer.h"

namespace yolo9k {

class ConvolutionalLayer : public Layer {
public:
    std::string_view type() const override { return "convolutional"; }
    void reshape(const std::vector<Shape>& inputs) override;
    double flops() const override;
    std::string describe() const override;
    std::vector<WeightBlob> weight_blobs() override;
    void release_weights() override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;

    // Weights and bias with batch norm folded in, as inference uses them:
    // w' = w * scale / (sqrt(var) + 1e-6), b' = bias - mean * scale / (sqrt(var) + 1e-6)
    // (darknet normalises with sqrt(var) + .000001, not sqrt(var + eps)).
    void folded(std::vector<float>& weights, std::vector<float>& bias) const;

    int filters = 1, size = 1, stride = 1, padding = 0;
    bool batch_normalize = false;
    Activation activation = Activation::logistic;

    // .weights order: biases, [scales, rolling_mean, rolling_variance], weights (OIHW)
    std::vector<float> biases, scales, rolling_mean, rolling_variance, weights;
};

}  // namespace yolo9k
