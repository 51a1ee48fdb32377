#pragma once

#include <cstdint>

#include "network/network.h"

namespace yolo9k {

// Fresh parameters for training from scratch or for benchmarks without published
// weights: zero biases, identity batch norm, and convolution weights uniform in
// ±sqrt(6/fan-in), of variance 2/fan-in, as Debian's (pjreddie's) darknet draws them
// (normal, same variance; tests/darknet/test_initialization_darknet.cpp checks it).
//
// `head_scale` multiplies the weights of the convolutions without batch norm (a detector's
// head, a classifier's last 1x1): the only ones whose scale reaches the output, since batch
// norm undoes it elsewhere. AlexeyAB's darknet draws every convolution in ±sqrt(2/fan-in),
// which is head_scale 1/sqrt(3) for the head; on a sparse set that starts the boxes nearer
// their anchors and learns much sooner (README, "When objectness stays near zero"). The other
// layers' draws are the same whatever head_scale is.
void initialize_weights(Network& net, uint32_t seed, float head_scale = 1.f);

}  // namespace yolo9k
