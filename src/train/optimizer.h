// SGD with momentum and weight decay, applied exactly as darknet's update: per layer,
//   v = v + g + decay * B * w     (decay only on weights; g summed over the B images)
//   w = w - lr / B * v
//   v = momentum * v
// where B = batch * subdivisions (images per optimizer step). The velocity buffers are
// per layer and contiguous like the gradients, and are saved with checkpoints so a
// resumed run continues exactly.
#pragma once

#include <vector>

#include "backend/train_executor.h"
#include "network/network.h"

namespace yolo9k {

class SgdOptimizer {
public:
    explicit SgdOptimizer(Network& net);
    void step(const std::vector<LayerGradients>& grads, float lr, float momentum, float decay, int images_per_step);

    // Velocity buffers in layer order (for checkpoints).
    std::vector<std::vector<float>>& velocity() { return velocity_; }
    size_t total_floats() const;

private:
    Network& net_;
    std::vector<int> layers_;
    std::vector<std::vector<float>> velocity_;
};

}  // namespace yolo9k
