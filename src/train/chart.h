// The training chart (like AlexeyAB darknet's chart.png): loss and its running average
// over iterations, and mAP@.5 points on a second axis when evaluation runs during training.
#pragma once

#include <string>

#include "train/checkpoint.h"

namespace yolo9k {

// metric_label names the second-axis points ("top-1" for classifiers).
// Writes a PNG atomically (a viewer never sees half a file). max_iteration sets the x range.
void write_training_chart(const std::string& path, const TrainHistory& history, int64_t max_iteration,
                          const std::string& title, const std::string& metric_label = "mAP@.5");

}  // namespace yolo9k
