// Darknet's detection augmentation with OpenCV doing the pixel work: one affine warp
// places (and crops) the scaled image on the grey canvas, cvtColor does RGB <-> HSV.
#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "detect/letterbox.h"
#include "network/network.h"

namespace yolo9k {

AugmentOptions augment_options_from(const NetParams& net, float region_jitter) {
    AugmentOptions o;
    o.jitter = region_jitter;
    o.hue = net.hue;
    o.saturation = net.saturation;
    o.exposure = net.exposure;
    return o;
}

namespace {
std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
}  // namespace

AugmentRng::AugmentRng(std::uint64_t seed, std::uint64_t stream, std::uint64_t slot) : state_(seed) {
    // Hash the triple so neighbouring batches / slots get unrelated sequences.
    std::uint64_t s = seed;
    state_ = splitmix(s) ^ (stream * 0xD1B54A32D192ED03ull);
    s = state_;
    state_ = splitmix(s) ^ (slot * 0xABC98388FB8FAC03ull);
    s = state_;
    state_ = splitmix(s);
}

std::uint64_t AugmentRng::next() { return splitmix(state_); }

float AugmentRng::uniform(float lo, float hi) {
    const double u = static_cast<double>(next() >> 11) * 0x1.0p-53;  // [0, 1)
    if (hi < lo) std::swap(lo, hi);
    return static_cast<float>(lo + (hi - lo) * u);
}

std::size_t AugmentRng::below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }

float AugmentRng::scale(float s) {
    const float v = uniform(1, s);
    return (next() & 1) ? v : 1 / v;
}

AugmentDraw draw_augmentation(int img_w, int img_h, int net_w, int net_h, const AugmentOptions& o, AugmentRng& rng) {
    AugmentDraw d;
    const float dw = o.jitter * img_w, dh = o.jitter * img_h;
    const float new_ar = (img_w + rng.uniform(-dw, dw)) / (img_h + rng.uniform(-dh, dh));
    const float scale = rng.uniform(o.scale_min, o.scale_max);
    if (new_ar < 1) {
        d.new_h = scale * net_h;
        d.new_w = d.new_h * new_ar;
    } else {
        d.new_w = scale * net_w;
        d.new_h = d.new_w / new_ar;
    }
    d.dx = rng.uniform(0, net_w - d.new_w);  // negative range when larger: a random crop
    d.dy = rng.uniform(0, net_h - d.new_h);
    d.hue = rng.uniform(-o.hue, o.hue);
    d.saturation = rng.scale(o.saturation);
    d.exposure = rng.scale(o.exposure);
    d.flip = o.flip && (rng.next() & 1);
    return d;
}

std::vector<TruthBox> transform_boxes(const std::vector<TruthBox>& boxes, float scale_x, float scale_y,
                                      float shift_x, float shift_y, bool flip) {
    std::vector<TruthBox> out;
    out.reserve(boxes.size());
    for (TruthBox b : boxes) {
        float left = (b.x - b.w / 2) * scale_x + shift_x, right = (b.x + b.w / 2) * scale_x + shift_x;
        float top = (b.y - b.h / 2) * scale_y + shift_y, bottom = (b.y + b.h / 2) * scale_y + shift_y;
        if (flip) {
            const float l = left;
            left = 1 - right;
            right = 1 - l;
        }
        left = std::clamp(left, 0.f, 1.f);
        right = std::clamp(right, 0.f, 1.f);
        top = std::clamp(top, 0.f, 1.f);
        bottom = std::clamp(bottom, 0.f, 1.f);
        b.x = (left + right) / 2;
        b.y = (top + bottom) / 2;
        b.w = right - left;
        b.h = bottom - top;
        if (b.w < .001f || b.h < .001f) continue;  // darknet's fill_truth_detection rule
        out.push_back(b);
    }
    return out;
}

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

std::vector<TruthBox> augment_detection(const cv::Mat& bgr, const std::vector<TruthBox>& boxes, int net_w,
                                        int net_h, const AugmentOptions& options, AugmentRng& rng, float* dst) {
    if (bgr.empty() || bgr.type() != CV_8UC3) throw Error("augment_detection: expected a non-empty 8-bit BGR image");
    if (net_w <= 0 || net_h <= 0) throw Error("augment_detection: network size must be positive");
    if (!options.enabled) {
        const LetterboxGeometry g = prepare_network_input(bgr, net_w, net_h, ResizeMode::Letterbox, dst);
        return transform_boxes(boxes, float(g.new_w) / net_w, float(g.new_h) / net_h, float(g.offset_x()) / net_w,
                               float(g.offset_y()) / net_h, false);
    }
    const AugmentDraw d = draw_augmentation(bgr.cols, bgr.rows, net_w, net_h, options, rng);

    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
    // Darknet's place_image samples src = (dst - d) * src_size / new_size (no half-pixel
    // shift): exactly this affine map; pixels outside the placed image stay grey.
    cv::Mat canvas(net_h, net_w, CV_32FC3, cv::Scalar::all(0.5));
    const cv::Matx23d to_canvas(d.new_w / bgr.cols, 0, d.dx, 0, d.new_h / bgr.rows, d.dy);
    cv::warpAffine(rgb, canvas, to_canvas, canvas.size(), cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);

    distort_hsv(canvas, d.hue, d.saturation, d.exposure);
    if (d.flip) cv::flip(canvas, canvas, 1);
    write_planar(canvas, dst);
    return transform_boxes(boxes, d.new_w / net_w, d.new_h / net_h, d.dx / net_w, d.dy / net_h, d.flip);
}

}  // namespace yolo9k
