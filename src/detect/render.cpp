#include "detect/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/json_read.h"

namespace yolo9k {

namespace {

// JSON numbers: a float widened to double prints 17 digits ("0.87349122762680054"); going
// through the float's shortest decimal form prints what the float actually means ("0.8734912").
double json_number(float v) {
    if (!std::isfinite(v)) return 0.0;
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof(buf) - 1, v);
    *res.ptr = '\0';
    return std::strtod(buf, nullptr);
}

std::string format_score(float score) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(score));
    return buf;
}

}  // namespace

cv::Scalar class_color(int class_id) {
    // Golden-ratio hue steps spread consecutive ids around the colour wheel.
    const double golden = 0.6180339887498949;
    double hue = std::fmod(0.11 + std::max(class_id, 0) * golden, 1.0) * 6.0;
    const double s = 0.85, v = 0.95;
    const int sector = static_cast<int>(hue) % 6;
    const double f = hue - std::floor(hue);
    const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r = 0, g = 0, b = 0;
    switch (sector) {
        case 0: r = v; g = t; b = p; break;
        case 1: r = q; g = v; b = p; break;
        case 2: r = p; g = v; b = t; break;
        case 3: r = p; g = q; b = v; break;
        case 4: r = t; g = p; b = v; break;
        default: r = v; g = p; b = q; break;
    }
    return cv::Scalar(b * 255, g * 255, r * 255);
}

void draw_detections(cv::Mat& image, const std::vector<Detection>& detections) {
    if (image.empty()) return;
    // Line and text size follow the image size, like darknet's width = h * .006.
    const int thickness = std::max(2, static_cast<int>(std::lround(image.rows * 0.006)));
    const double font_scale = std::max(0.35, image.rows / 1200.0);
    const int font = cv::FONT_HERSHEY_SIMPLEX;
    for (const Detection& d : detections) {
        const cv::Scalar color = class_color(d.class_id);
        const cv::Point p1(static_cast<int>(d.box.x1), static_cast<int>(d.box.y1));
        const cv::Point p2(static_cast<int>(d.box.x2), static_cast<int>(d.box.y2));
        cv::rectangle(image, p1, p2, color, thickness, cv::LINE_8);

        const std::string label = d.name + " " + format_score(d.score);
        int baseline = 0;
        const cv::Size text = cv::getTextSize(label, font, font_scale, 1, &baseline);
        const int pad = 2;
        const int label_h = text.height + baseline + 2 * pad;
        // Above the box when there is room, otherwise just inside its top edge.
        int top = p1.y - label_h;
        if (top < 0) top = std::min(p1.y, std::max(0, image.rows - label_h));
        const cv::Rect bg(p1.x, top, text.width + 2 * pad, label_h);
        cv::rectangle(image, bg, color, cv::FILLED);
        // Dark text on light colours, light text on dark ones.
        const double luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2];
        const cv::Scalar ink = luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
        cv::putText(image, label, cv::Point(p1.x + pad, top + pad + text.height), font, font_scale, ink, 1,
                    cv::LINE_AA);
    }
}

std::string to_console(const std::vector<Detection>& detections) {
    std::string out;
    char buf[64];
    for (const Detection& d : detections) {
        // darknet prints prob*100 computed in float, rounded by printf.
        const float pct = d.score * 100;
        std::snprintf(buf, sizeof(buf), ": %.0f%%\n", static_cast<double>(pct));
        out += d.name;
        out += buf;
    }
    return out;
}

std::string to_console(const ImageDetections& image) { return to_console(image.detections); }

nlohmann::json to_json(const ImageDetections& image) {
    nlohmann::json dets = nlohmann::json::array();
    for (const Detection& d : image.detections) {
        dets.push_back({{"class_id", d.class_id},
                        {"name", d.name},
                        {"score", json_number(d.score)},
                        {"box",
                         {json_number(d.box.x1), json_number(d.box.y1), json_number(d.box.x2),
                          json_number(d.box.y2)}}});
    }
    return {{"file", image.file}, {"width", image.width}, {"height", image.height}, {"detections", dets}};
}

nlohmann::json to_json(const std::vector<ImageDetections>& images) {
    nlohmann::json all = nlohmann::json::array();
    for (const ImageDetections& im : images) all.push_back(to_json(im));
    return all;
}

std::string to_json_text(const ImageDetections& image, int indent) { return dump_json(to_json(image), indent); }
std::string to_json_text(const std::vector<ImageDetections>& images, int indent) {
    return dump_json(to_json(images), indent);
}

}  // namespace yolo9k
