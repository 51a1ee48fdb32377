#include "data/classification_augment.h"

#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "detect/letterbox.h"
#include "network/network.h"

namespace yolo9k {
namespace {

void check_image(const cv::Mat& bgr, int size) {
    if (bgr.empty() || bgr.type() != CV_8UC3) throw Error("classifier input: expected a non-empty 8-bit BGR image");
    if (size <= 0) throw Error("classifier input: network size must be positive");
}

}  // namespace

ClassifierAugmentOptions classifier_augment_options_from(const NetParams& net) {
    ClassifierAugmentOptions o;
    o.min_crop = net.min_crop > 0 ? net.min_crop : net.width;
    o.max_crop = net.max_crop > 0 ? net.max_crop : 2 * net.width;
    o.angle = net.angle;
    o.aspect = net.aspect;
    o.hue = net.hue;
    o.saturation = net.saturation;
    o.exposure = net.exposure;
    return o;
}

ClassifierAugmentDraw draw_classifier_augmentation(int img_w, int img_h, int size,
                                                   const ClassifierAugmentOptions& o, AugmentRng& rng) {
    ClassifierAugmentDraw d;
    const int lo = o.min_crop > 0 ? o.min_crop : size, hi = std::max(lo, o.max_crop > 0 ? o.max_crop : 2 * size);
    d.aspect = rng.scale(o.aspect);
    d.shorter_side = lo + int(rng.below(size_t(hi - lo + 1)));
    const float shorter = std::min(float(img_h), img_w * d.aspect);
    const float s = d.shorter_side / shorter;
    d.radians = rng.uniform(-o.angle, o.angle) * float(M_PI) / 180.f;
    // Offsets up to half the slack on each axis (negative slack: the crop is larger).
    const float slack_x = (img_w * s / d.aspect - size) / 2, slack_y = (img_h * s - size) / 2;
    d.dx = slack_x == 0 ? 0 : rng.uniform(-std::abs(slack_x), std::abs(slack_x));
    d.dy = slack_y == 0 ? 0 : rng.uniform(-std::abs(slack_y), std::abs(slack_y));
    d.flip = o.flip && (rng.next() & 1);
    d.hue = o.hue == 0 ? 0 : rng.uniform(-o.hue, o.hue);
    d.saturation = rng.scale(o.saturation);
    d.exposure = rng.scale(o.exposure);
    return d;
}

void apply_classifier_augmentation(const cv::Mat& bgr, int size, const ClassifierAugmentDraw& d, float* dst) {
    check_image(bgr, size);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
    const float shorter = std::min(float(bgr.rows), bgr.cols * d.aspect);
    const float s = d.shorter_side / shorter;
    // Output pixel (x, y) samples the source at
    //   R(rad) * [(x - size/2 + dx) * aspect / s, (y - size/2 + dy) / s] + image centre
    // (darknet's rotate_crop_image), bilinear with 0 outside the image, in float as darknet.
    const float c = std::cos(d.radians), sn = std::sin(d.radians);
    const float cx = bgr.cols / 2.f, cy = bgr.rows / 2.f;
    cv::Mat crop(size, size, CV_32FC3);
    auto pixel = [&](int x, int y) {
        return (x < 0 || y < 0 || x >= rgb.cols || y >= rgb.rows) ? cv::Vec3f(0, 0, 0) : rgb.at<cv::Vec3f>(y, x);
    };
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            const float u = (x - size / 2.f) / s * d.aspect + d.dx / s * d.aspect;
            const float v = (y - size / 2.f) / s + d.dy / s;
            const float rx = c * u - sn * v + cx, ry = sn * u + c * v + cy;
            const int ix = int(std::floor(rx)), iy = int(std::floor(ry));
            const float fx = rx - ix, fy = ry - iy;
            crop.at<cv::Vec3f>(y, x) = (1 - fy) * (1 - fx) * pixel(ix, iy) + fy * (1 - fx) * pixel(ix, iy + 1) +
                                       (1 - fy) * fx * pixel(ix + 1, iy) + fy * fx * pixel(ix + 1, iy + 1);
        }
    if (d.flip) cv::flip(crop, crop, 1);
    distort_hsv(crop, d.hue, d.saturation, d.exposure);
    write_planar(crop, dst);
}

void augment_classification(const cv::Mat& bgr, int size, const ClassifierAugmentOptions& o, AugmentRng& rng,
                            float* dst) {
    check_image(bgr, size);
    if (!o.enabled) return center_crop_input(bgr, size, dst);
    apply_classifier_augmentation(bgr, size, draw_classifier_augmentation(bgr.cols, bgr.rows, size, o, rng), dst);
}

void center_crop_input(const cv::Mat& bgr, int size, float* dst) {
    check_image(bgr, size);
    // darknet's center_crop_image: the central square of side min(w, h) (integer offsets),
    // then resize_image to size x size.
    const int side = std::min(bgr.cols, bgr.rows);
    const cv::Mat square = bgr(cv::Rect((bgr.cols - side) / 2, (bgr.rows - side) / 2, side, side));
    darknet_resize_into(square, size, size, dst, size, size * size);
}

}  // namespace yolo9k
