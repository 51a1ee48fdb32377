// Turning a decoded image into the network input exactly as darknet does, and the geometry
// needed to map boxes predicted on that input back onto the original image.
#pragma once

#include <opencv2/core.hpp>

namespace yolo9k {

enum class ResizeMode {
    Letterbox,  // darknet's letterbox_image: keep aspect, pad with 0.5 (what `darknet detect` does)
    Resize,     // darknet's resize_image: stretch to the network size
};

// Where the resized image sits inside the network input.
struct LetterboxGeometry {
    int net_w = 0, net_h = 0;
    int img_w = 0, img_h = 0;
    int new_w = 0, new_h = 0;  // size of the resized image inside the input
    ResizeMode mode = ResizeMode::Letterbox;

    int offset_x() const { return (net_w - new_w) / 2; }
    int offset_y() const { return (net_h - new_h) / 2; }
};

// Darknet's fit rule (float comparison, integer division). new_w/new_h are kept >= 1 where
// darknet would compute 0 for extreme aspect ratios (it then produces an all-grey input).
LetterboxGeometry make_letterbox_geometry(int img_w, int img_h, int net_w, int net_h, ResizeMode mode);

// Writes the network input into dst: planar CHW, RGB, floats in [0,1], net_w*net_h*3 values.
// Accepts 8-bit BGR, grayscale or BGRA; throws Error for empty images or other pixel types.
LetterboxGeometry prepare_network_input(const cv::Mat& image, int net_w, int net_h, ResizeMode mode,
                                        float* dst);

// Darknet's two-pass bilinear resize (resize_image) of an 8-bit BGR/gray/BGRA image to planar RGB
// floats (out_w*out_h*3) written into dst with row pitch dst_stride and plane pitch plane_stride
// (in floats), so it can land directly inside a letterboxed input.
void darknet_resize_into(const cv::Mat& image, int out_w, int out_h, float* dst, int dst_stride,
                         int plane_stride);

}  // namespace yolo9k
