// The training chart (like AlexeyAB darknet's chart.png): loss and its running average
// over iterations, and mAP@.5 points on a second axis when evaluation runs during training.
#pragma once

#include <string>

#include "train/checkpoint.h"

namespace yolo9k {

// Writes a PNG atomically (a viewer never sees half a file). max_iteration sets the x range.
void write_training_chart(const std::string& path, const TrainHistory& history, int64_t max_iteration,
                          const std::string& title);

}  // namespace yolo9k
