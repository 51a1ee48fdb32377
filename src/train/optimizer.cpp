#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace yolo9k {

Optimizer::Optimizer(Network& net) : net_(net), adam_(net.params().adam) {
    for (int i = 0; i < net.size(); ++i)
        if (size_t n = net.layer(i).trainable_floats()) {
            layers_.push_back(i);
            velocity_.emplace_back(adam_ ? 2 * n : n, 0.f);  // Adam: first moments, then second
        }
}

size_t Optimizer::total_floats() const {
    size_t n = 0;
    for (const auto& v : velocity_) n += v.size();
    return n;
}

void Optimizer::step(const std::vector<LayerGradients>& grads, float lr, float momentum, float decay, int images,
                     int64_t iteration) {
    const float B = float(images);
    const NetParams& p = net_.params();
    const double t = double(iteration + 1);
    const float b1 = p.adam_b1, b2 = p.adam_b2, eps = p.adam_eps;
    const float m_correction = adam_ ? float(1 / (1 - std::pow(double(b1), t))) : 1.f;
    const float s_correction = adam_ ? float(1 / (1 - std::pow(double(b2), t))) : 1.f;
    for (const auto& g : grads) {
        size_t slot = 0;
        while (slot < layers_.size() && layers_[slot] != g.layer) ++slot;
        if (slot == layers_.size()) throw Error("optimizer: no parameters for layer " + std::to_string(g.layer));
        float* v = velocity_[slot].data();
        float* s = adam_ ? v + velocity_[slot].size() / 2 : nullptr;
        const float* gd = g.data.data();
        size_t off = 0;
        for (const auto& blob : net_.layer(g.layer).trainable_blobs()) {
            float* w = blob.data->data();
            const size_t n = blob.data->size();
            const float wd = blob.decay ? decay * B : 0.f;
            if (adam_) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
                for (size_t k = 0; k < n; ++k) {
                    const float u = gd[off + k] + wd * w[k];
                    const float m = b1 * v[off + k] + (1 - b1) * u;
                    const float sq = b2 * s[off + k] + (1 - b2) * u * u;
                    v[off + k] = m;
                    s[off + k] = sq;
                    w[k] -= lr * (m * m_correction) / (std::sqrt(sq * s_correction) + eps);
                }
            } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
                for (size_t k = 0; k < n; ++k) {
                    float vk = v[off + k] + gd[off + k] + wd * w[k];
                    w[k] -= lr / B * vk;
                    v[off + k] = momentum * vk;
                }
            }
            off += n;
        }
    }
}

}  // namespace yolo9k
