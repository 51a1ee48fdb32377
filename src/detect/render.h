// Presenting detections: drawn onto the image, as darknet's console lines, and as JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "yolo9k/detection.h"

namespace yolo9k {

// A colour (BGR) for a class: neighbouring ids get clearly different hues.
cv::Scalar class_color(int class_id);

// Draws each detection's box and a "name score" label on a filled background, in place.
// Accepts 8-bit BGR (or BGRA/gray, drawn in kind).
void draw_detections(cv::Mat& image, const std::vector<Detection>& detections);

// darknet's console report: one "name: NN%" line per detection ("%s: %.0f%%" of score*100).
std::string to_console(const std::vector<Detection>& detections);
std::string to_console(const ImageDetections& image);

// {"file","width","height","detections":[{"class_id","name","score","box":[x1,y1,x2,y2]}]}
nlohmann::json to_json(const ImageDetections& image);
nlohmann::json to_json(const std::vector<ImageDetections>& images);  // array of the above

}  // namespace yolo9k
