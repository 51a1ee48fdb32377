// Darknet's learning-rate schedule: burn-in (lr * (b/burn_in)^power for the first
// burn_in batches), then the cfg's policy. `batch_num` counts optimizer steps
// (darknet: seen / (batch * subdivisions)).
#pragma once

#include <cstdint>

#include "network/network.h"

namespace yolo9k {

float learning_rate_at(const NetParams& p, int64_t batch_num);

// Multi-scale training (`random=1`): the input side for a given optimizer step. Darknet
// draws (rand() % 10 + 10) * 32 every 10 batches and pins 608 for the last 200; we draw
// from (seed, step / 10) so a resumed run sees the same sizes.
int multiscale_size(uint64_t seed, int64_t batch_num, int max_batches);

}  // namespace yolo9k
