#include "data/classification_augment.h"

#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "detect/letterbox.h"
#include "network/network.h"

namespace yolo9k {
namespace {

// Darknet's distort_image on an RGB float image (a copy of the small helper in
// augment.cpp, which keeps its own private).
void distort_hsv(cv::Mat& rgb, float hue, float saturation, float exposure) {
    if (hue == 0 && saturation == 1 && exposure == 1) return;
    cv::Mat hsv;
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);  // float: H in [0, 360), S and V in [0, 1]
    const float dh = hue * 360;
    hsv.forEach<cv::Vec3f>([&](cv::Vec3f& p, const int*) {
        float h = p[0] + dh;
        if (h >= 360) h -= 360;
        if (h < 0) h += 360;
        p = {h, p[1] * saturation, p[2] * exposure};
    });
    cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
    cv::min(cv::max(rgb, 0.f), 1.f, rgb);
}

void write_planar(const cv::Mat& rgb, float* dst) {
    const int plane = rgb.rows * rgb.cols;
    cv::Mat planes[3] = {cv::Mat(rgb.rows, rgb.cols, CV_32F, dst), cv::Mat(rgb.rows, rgb.cols, CV_32F, dst + plane),
                         cv::Mat(rgb.rows, rgb.cols, CV_32F, dst + 2 * plane)};
    cv::split(rgb, planes);
}

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
    const double s = d.shorter_side / shorter;
    // Output pixel (x, y) samples the source at
    //   R(rad) * [(x - size/2 + dx) * aspect / s, (y - size/2 + dy) / s] + image centre
    // (darknet's rotate_crop_image); pixels falling outside the image are 0.
    const double c = std::cos(d.radians), sn = std::sin(d.radians);
    const double ax = d.aspect / s, ay = 1 / s;
    const double ox = d.dx - size / 2.0, oy = d.dy - size / 2.0;
    const cv::Matx23d out_to_src(c * ax, -sn * ay, c * ax * ox - sn * ay * oy + bgr.cols / 2.0,  //
                                 sn * ax, c * ay, sn * ax * ox + c * ay * oy + bgr.rows / 2.0);
    cv::Mat crop;
    cv::warpAffine(rgb, crop, out_to_src, cv::Size(size, size), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                   cv::BORDER_CONSTANT, cv::Scalar::all(0));
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
    // darknet's resize_min: integer arithmetic on the longer side.
    int w = size, h = size;
    if (bgr.cols < bgr.rows) h = std::max(size, bgr.rows * size / bgr.cols);
    else w = std::max(size, bgr.cols * size / bgr.rows);
    std::vector<float> resized(size_t(3) * w * h);
    darknet_resize_into(bgr, w, h, resized.data(), w, w * h);
    const int x0 = (w - size) / 2, y0 = (h - size) / 2;
    for (int ch = 0; ch < 3; ++ch)
        for (int y = 0; y < size; ++y) {
            const float* src = resized.data() + size_t(ch) * w * h + size_t(y + y0) * w + x0;
            std::copy(src, src + size, dst + (size_t(ch) * size + y) * size);
        }
}

}  // namespace yolo9k
