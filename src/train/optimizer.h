// The optimizer step, applied exactly as darknet's update, per layer, with
// B = batch * subdivisions (images per optimizer step) and g the gradient summed over them:
//   SGD with momentum (default):
//     v = v + g + decay * B * w     (decay only on weights)
//     w = w - lr / B * v
//     v = momentum * v
//   Adam (darknet's adam=1, B1, B2, eps), step t = 1, 2, ...:
//     u = g + decay * B * w
//     m = B1 * m + (1 - B1) * u,   s = B2 * s + (1 - B2) * u^2
//     w = w - lr * (m / (1 - B1^t)) / (sqrt(s / (1 - B2^t)) + eps)
// The state buffers (SGD: v; Adam: m then s) are per layer and contiguous like the
// gradients, and are saved with checkpoints so a resumed run continues exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/train_executor.h"
#include "network/network.h"

namespace yolo9k {

class Optimizer {
public:
    // Adam when the network's [net] says adam=1, else SGD with momentum.
    explicit Optimizer(Network& net);
    // `iteration`: steps already taken (0 for the first); Adam's bias correction needs it.
    void step(const std::vector<LayerGradients>& grads, float lr, float momentum, float decay, int images_per_step,
              int64_t iteration = 0);

    bool adam() const { return adam_; }
    // State buffers in layer order (for checkpoints).
    std::vector<std::vector<float>>& velocity() { return velocity_; }
    size_t total_floats() const;

private:
    Network& net_;
    bool adam_ = false;
    std::vector<int> layers_;
    std::vector<std::vector<float>> velocity_;
};

}  // namespace yolo9k
