#include "train/optimizer.h"

#include "core/error.h"

namespace yolo9k {

SgdOptimizer::SgdOptimizer(Network& net) : net_(net) {
    for (int i = 0; i < net.size(); ++i)
        if (size_t n = net.layer(i).trainable_floats()) {
            layers_.push_back(i);
            velocity_.emplace_back(n, 0.f);
        }
}

size_t SgdOptimizer::total_floats() const {
    size_t n = 0;
    for (const auto& v : velocity_) n += v.size();
    return n;
}

void SgdOptimizer::step(const std::vector<LayerGradients>& grads, float lr, float momentum, float decay,
                        int images) {
    const float B = float(images);
    for (const auto& g : grads) {
        size_t slot = 0;
        while (slot < layers_.size() && layers_[slot] != g.layer) ++slot;
        if (slot == layers_.size()) throw Error("optimizer: no parameters for layer " + std::to_string(g.layer));
        float* v = velocity_[slot].data();
        const float* gd = g.data.data();
        size_t off = 0;
        for (const auto& blob : net_.layer(g.layer).trainable_blobs()) {
            float* w = blob.data->data();
            const size_t n = blob.data->size();
            const float wd = blob.decay ? decay * B : 0.f;
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (size_t k = 0; k < n; ++k) {
                float vk = v[off + k] + gd[off + k] + wd * w[k];
                w[k] -= lr / B * vk;
                v[off + k] = momentum * vk;
            }
            off += n;
        }
    }
}

}  // namespace yolo9k
