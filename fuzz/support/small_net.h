// The fixed small network the weights and checkpoint targets load into: batch-normalised
// convolution, maxpool, plain convolution, region (154 weight floats, a 636-byte .weights).
#pragma once

#include <string>

#include "network/network.h"

namespace yolo9k_fuzz {

inline constexpr const char* kSmallNetCfg = R"([net]
batch=2
width=8
height=8
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=6
size=1
stride=1
activation=linear

[region]
anchors=1,1
classes=1
num=1
)";

inline yolo9k::Network small_net() {
    return yolo9k::Network::from_cfg(yolo9k::parse_cfg_text(kSmallNetCfg, "small_net.cfg"));
}

}  // namespace yolo9k_fuzz
