#include "network/initialize.h"

#include <cmath>
#include <random>

#include "layer/convolutional.h"

namespace yolo9k {

void initialize_weights(Network& net, uint32_t seed, float head_scale) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int i = 0; i < net.size(); ++i) {
        auto* conv = dynamic_cast<ConvolutionalLayer*>(&net.layer(i));
        if (!conv) continue;
        float scale = std::sqrt(6.f / float(conv->input_shape().c * conv->size * conv->size));
        if (!conv->batch_normalize) scale *= head_scale;
        for (auto& w : conv->weights) w = u(rng) * scale;
        std::fill(conv->biases.begin(), conv->biases.end(), 0.f);
        if (conv->batch_normalize) {
            std::fill(conv->scales.begin(), conv->scales.end(), 1.f);
            std::fill(conv->rolling_mean.begin(), conv->rolling_mean.end(), 0.f);
            std::fill(conv->rolling_variance.begin(), conv->rolling_variance.end(), 1.f);
        }
    }
}

}  // namespace yolo9k
