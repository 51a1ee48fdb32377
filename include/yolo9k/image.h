// Images in and out: decoding with errors that name the file and with the pixel limit
// (yolo9k/limits.h) checked from the header before decoding, and drawing detections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "yolo9k/detection.h"
#include "yolo9k/error.h"

namespace yolo9k {

// Decodes an image file into 8-bit BGR (grayscale and alpha images are converted). Like
// darknet's OpenCV loader (imread with IMREAD_COLOR), EXIF orientation is applied.
// Throws Error: "PATH: no such file", "PATH: is a directory", "PATH: cannot read ...",
// "PATH: truncated JPEG ..." and "PATH: not a decodable image (expected JPEG/PNG/...)".
cv::Mat load_image(const std::string& path);
// Same for bytes already in memory (an upload); `name` is used in messages.
cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name);

// A colour (BGR) for a class: neighbouring ids get clearly different hues.
cv::Scalar class_color(int class_id);
// Draws each detection's box and a "name score" label on a filled background, in place.
// Accepts 8-bit BGR (or BGRA/gray, drawn in kind).
void draw_detections(cv::Mat& image, const std::vector<Detection>& detections);

}  // namespace yolo9k
