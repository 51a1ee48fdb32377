// Presenting detections (the public functions are in yolo9k/image.h and yolo9k/detection.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "yolo9k/detection.h"
#include "yolo9k/image.h"

namespace yolo9k {

// The JSON of to_json_text (yolo9k/detection.h) as nlohmann values.
nlohmann::json to_json(const ImageDetections& image);
nlohmann::json to_json(const std::vector<ImageDetections>& images);  // array of the above

}  // namespace yolo9k
