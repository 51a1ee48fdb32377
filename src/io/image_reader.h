// Image reading beyond the public load_image / decode_image (include/yolo9k/image.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "yolo9k/image.h"

namespace yolo9k {

// 8-bit BGR from 8/16-bit grey, BGR or BGRA (as decoders and cameras deliver).
cv::Mat to_bgr8(const cv::Mat& image);

}  // namespace yolo9k
