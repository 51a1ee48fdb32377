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
    // The same folding done in place: batch_normalize becomes false, and forward is unchanged.
    void fold_batch_norm() override;

    // Training (reference). Gradient layout: biases, [scales], weights (OIHW); decay on
    // weights only. Batch norm in training mode normalises each filter over batch x H x W
    // with the biased variance and sqrt(var + 1e-5), as oneDNN does.
    std::vector<TrainableBlob> trainable_blobs() override;
    // With batch norm: x̂ (batch x output, NCHW), then 1/sqrt(σ² + ε) per filter. None without.
    size_t train_state_floats(int batch) const override;
    void forward_train_reference(std::span<const float* const> inputs, float* output, float* state,
                                 int batch) override;
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
    static constexpr float batch_norm_epsilon = 1e-5f;
    // darknet's rolling statistics: x = .99 x + .01 * (the pass's batch value).
    // (.01f, not 1 - .99f, which rounds differently: darknet's literals.)
    static constexpr float rolling_decay = .99f, rolling_rate = .01f;
    std::vector<RunningStatistic> running_statistics() override;

    int filters = 1, size = 1, stride = 1, padding = 0;
    bool batch_normalize = false;
    Activation activation = Activation::logistic;

    // .weights order: biases, [scales, rolling_mean, rolling_variance], weights (OIHW)
    std::vector<float> biases, scales, rolling_mean, rolling_variance, weights;

private:
    // w *= k and b -= mean * k per filter, k = scale / (sqrt(var) + 1e-6).
    void fold_into(std::vector<float>& w, std::vector<float>& b) const;
    // Plain convolution without bias, in double: z (batch x output) = weights * x.
    void convolve(const float* x, double* z, int batch) const;
    // dweights += dconv ⋆ x, and dx += weightsᵀ * dconv (dx may be null).
    void convolve_backward(const float* x, const float* dconv, float* dweights, float* dx, int batch) const;
};

}  // namespace yolo9k
