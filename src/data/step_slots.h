// Which image of which optimizer step a loader slot holds. Its random stream (image choice
// and augmentation) is keyed by (seed, step, image within the step), not by the pass, so the
// images of a step are the same however the step is split into passes and processes: one
// process with subdivisions 2 draws exactly what two data-parallel ranks with one pass each
// draw, and a run resumed on another number of ranks continues the same sequence.
#pragma once

#include <cstdint>

#include "data/augment.h"

namespace yolo9k {

struct StepSlots {
    int passes_per_step = 1;  // this process's passes (loader batches) per optimizer step
    int first_image = 0;      // this process's first image within a step (a rank's offset)
};

// The random stream of `slot` in loader batch `pass_index` of `batch` images.
inline AugmentRng step_slot_rng(std::uint64_t seed, std::int64_t pass_index, int slot, int batch, const StepSlots& s) {
    const std::int64_t step = pass_index / s.passes_per_step;
    const std::int64_t image = s.first_image + (pass_index % s.passes_per_step) * batch + slot;
    return AugmentRng(seed, static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(image));
}

}  // namespace yolo9k
