// Reading images with errors that name the file and say what went wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace yolo9k {

// Decodes an image file into 8-bit BGR (grayscale and alpha images are converted). Like
// darknet's OpenCV loader (imread with IMREAD_COLOR), EXIF orientation is applied.
// Throws Error: "PATH: no such file", "PATH: is a directory", "PATH: cannot read ...",
// "PATH: truncated JPEG ..." and "PATH: not a decodable image (expected JPEG/PNG/...)".
cv::Mat load_image(const std::string& path);

// Same for bytes already in memory; `name` is used in messages.
cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name);

// 8-bit BGR from 8/16-bit grey, BGR or BGRA (as decoders and cameras deliver).
cv::Mat to_bgr8(const cv::Mat& image);

}  // namespace yolo9k
