#pragma once

#include <cstdint>

#include "network/network.h"

namespace yolo9k {

// Fresh parameters for training from scratch or for benchmarks without published
// weights: He-scaled uniform conv weights, zero biases, identity batch norm.
void initialize_weights(Network& net, uint32_t seed);

}  // namespace yolo9k
