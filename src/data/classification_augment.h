// Darknet's classifier input pipeline (load_data_augment with CLASSIFICATION_DATA, and the
// fixed crops `classifier valid` / `predict` use).
//
// Training sample (random_augment_image, then a flip, then random_distort_image):
//   aspect a = rand_scale(aspect); the shorter side (height vs width * a) is scaled to a
//   random r in [min_crop, max_crop]; a rotation of U(-angle, angle) degrees; a crop of the
//   network size at a random offset within the scaled image (pixels outside it are 0);
//   horizontal flip with p = .5; hue shift U(-hue, hue), saturation and exposure scaled by
//   rand_scale. Darknet samples one bilinear tap per output pixel; so does this.
#pragma once

#include <opencv2/core.hpp>

#include "data/augment.h"

namespace yolo9k {

struct NetParams;

struct ClassifierAugmentOptions {
    bool enabled = true;           // false: the validation crop (resize_min + centre crop)
    int min_crop = 0, max_crop = 0;  // shorter side range in pixels; 0: darknet's defaults w, 2w
    float angle = 0;               // degrees
    float aspect = 1;
    float hue = 0, saturation = 1, exposure = 1;
    bool flip = true;
};

// From [net] (min_crop / max_crop default to width / 2 * width, as darknet's parser does).
ClassifierAugmentOptions classifier_augment_options_from(const NetParams& net);

// The random choices for one sample, in darknet's draw order.
struct ClassifierAugmentDraw {
    float aspect = 1;
    int shorter_side = 0;  // r
    float radians = 0;
    float dx = 0, dy = 0;  // crop offset from the centre, in scaled pixels
    bool flip = false;
    float hue = 0, saturation = 1, exposure = 1;
};
ClassifierAugmentDraw draw_classifier_augmentation(int img_w, int img_h, int size,
                                                   const ClassifierAugmentOptions& options, AugmentRng& rng);

// A training input: size x size planar RGB floats in [0, 1] written to dst.
void augment_classification(const cv::Mat& bgr, int size, const ClassifierAugmentOptions& options, AugmentRng& rng,
                            float* dst);
// The same with fixed draws (tests).
void apply_classifier_augmentation(const cv::Mat& bgr, int size, const ClassifierAugmentDraw& draw, float* dst);

// `classifier valid`'s input (darknet's validate_classifier_single): resize so the shorter
// side is `size` (darknet's resize_min + resize_image), then the centre size x size crop.
void center_crop_input(const cv::Mat& bgr, int size, float* dst);

}  // namespace yolo9k
