// Settings only the oneDNN backend understands; pass them as ExecutorOptions::settings.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/executor.h"

namespace yolo9k::onednn {

// How 3x3 stride-1 convolutions are computed.
enum class ConvAlgorithm {
    // Winograd (F(4,3) or F(2,3), whichever oneDNN picks) where it is faster, direct elsewhere:
    // 2-3x fewer multiplications on the 3x3 layers, with a rounding error that grows with the
    // input channels (see README, "Winograd accuracy").
    fast,
    direct,  // direct convolution everywhere: the closest to darknet's arithmetic
};

struct Settings final : BackendSettings {
    ConvAlgorithm conv_algorithm = ConvAlgorithm::fast;
    // With `fast`: how many bytes Winograd kernels may add to the network's weight memory by
    // keeping pre-transformed weights (1.8x-4x the plain ones), granted in layer order.
    // The default keeps yolov2-voc's detect under 2x its weights file and gives small
    // networks (yolov2-tiny-voc: 45 MiB) every such layer; kUnlimited is the fastest.
    static constexpr size_t kUnlimited = SIZE_MAX;
    size_t winograd_memory = size_t(48) << 20;
};

// ExecutorOptions::settings for the oneDNN backend.
inline std::shared_ptr<const BackendSettings> settings(ConvAlgorithm algorithm,
                                                       size_t winograd_memory = Settings().winograd_memory) {
    auto s = std::make_shared<Settings>();
    s->conv_algorithm = algorithm;
    s->winograd_memory = winograd_memory;
    return s;
}

}  // namespace yolo9k::onednn
