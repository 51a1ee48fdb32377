// Where a training step's time goes, layer by layer and phase by phase (what
// `yolo9k bench --train --layers` prints). A TrainExecutor given a profile times each layer's
// forward and backward; a kernel that splits its work (the convolution: the convolution
// itself, batch norm + activation, the weight and the data gradients) marks each phase as it
// ends, and whatever a kernel does not mark counts as the layer's "other" time.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <vector>

namespace yolo9k {

enum class TrainPhase : int {
    conv_forward,
    bn_activation_forward,
    other_forward,
    bn_activation_backward,
    backward_weights,
    backward_data,
    other_backward,
    count
};
constexpr std::size_t kTrainPhases = std::size_t(TrainPhase::count);
const char* train_phase_name(TrainPhase phase);

struct TrainProfile {
    std::vector<std::array<double, kTrainPhases>> ms;  // per layer and phase, summed over the passes recorded
    void reset(int layers) { ms.assign(std::size_t(layers), {}); }
};

// Charges wall time to one layer's phases: mark(phase) adds the time since the previous mark
// (or begin()) to that phase. Kernels call mark() only when the executor gave them a clock.
class PhaseClock {
public:
    void begin(TrainProfile& profile, int layer) {
        profile_ = &profile;
        layer_ = std::size_t(layer);
        last_ = std::chrono::steady_clock::now();
    }
    void mark(TrainPhase phase) {
        const auto now = std::chrono::steady_clock::now();
        profile_->ms[layer_][std::size_t(phase)] += std::chrono::duration<double, std::milli>(now - last_).count();
        last_ = now;
    }

private:
    TrainProfile* profile_ = nullptr;
    std::size_t layer_ = 0;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace yolo9k
