// Darknet's YOLOv2 detection augmentation (load_data_detection): random aspect jitter and
// scale, random placement on a 0.5 grey canvas of the network size, HSV distortion and a
// horizontal flip, with the truth boxes moved to match. With augmentation off it is the
// plain letterbox darknet validates with.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "data/dataset.h"

namespace yolo9k {

struct NetParams;

struct AugmentOptions {
    bool enabled = true;     // false: letterbox only (validation), no randomness used
    float jitter = .2f;      // [region] jitter: aspect ratio change of up to ±jitter per side
    float scale_min = .25f;  // placed size relative to the network input: U(scale_min, scale_max)
    float scale_max = 2.f;
    float hue = 0;           // hue shift U(-hue, hue), in turns (darknet: [net] hue)
    float saturation = 1;    // saturation and exposure scaled by a factor in [1/s, s]
    float exposure = 1;
    bool flip = true;        // horizontal flip with p = .5
};

// Hue, saturation and exposure from [net]; jitter from the cfg's [region].
AugmentOptions augment_options_from(const NetParams& net, float region_jitter);

// A small, fast, portable random source (splitmix64): the same numbers on every platform,
// so a (seed, batch, slot) triple always gives the same sample.
class AugmentRng {
public:
    explicit AugmentRng(std::uint64_t seed) : state_(seed) {}
    AugmentRng(std::uint64_t seed, std::uint64_t stream, std::uint64_t slot);
    std::uint64_t next();
    float uniform(float lo, float hi);                 // [lo, hi)
    std::size_t below(std::size_t n);                  // [0, n)
    float scale(float s);                              // darknet's rand_scale: [1, s] or its inverse

private:
    std::uint64_t state_;
};

// The random choices for one sample, drawn in darknet's order.
struct AugmentDraw {
    float new_w = 0, new_h = 0;  // placed image size in network pixels
    float dx = 0, dy = 0;        // its top-left corner (may be negative: cropped)
    float hue = 0, saturation = 1, exposure = 1;
    bool flip = false;
};
AugmentDraw draw_augmentation(int img_w, int img_h, int net_w, int net_h, const AugmentOptions& options,
                              AugmentRng& rng);

// Writes the network input (planar RGB floats in [0, 1], 3 * net_w * net_h) for an 8-bit
// BGR image into dst and returns the boxes in network-input coordinates: transformed,
// clipped to [0, 1], dropped when narrower or lower than 0.001 (darknet's rule).
std::vector<TruthBox> augment_detection(const cv::Mat& bgr, const std::vector<TruthBox>& boxes, int net_w,
                                        int net_h, const AugmentOptions& options, AugmentRng& rng, float* dst);

// The geometric half on its own: boxes on the original image → boxes on the network input.
std::vector<TruthBox> transform_boxes(const std::vector<TruthBox>& boxes, float scale_x, float scale_y,
                                      float shift_x, float shift_y, bool flip);

// Darknet's distort_image on a 3-channel float RGB image in [0, 1], in place: hue shifted by
// `hue` turns (wrapping), saturation and value scaled, the result clamped to [0, 1].
void distort_hsv(cv::Mat& rgb, float hue, float saturation, float exposure);

// Writes a 3-channel float image as the network input: planar R, G, B planes at dst.
void write_planar(const cv::Mat& rgb, float* dst);

}  // namespace yolo9k
