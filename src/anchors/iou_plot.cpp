#include "anchors/iou_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace yolo9k {

cv::Mat draw_iou_curve(const std::vector<IouPoint>& points, const std::string& title) {
    if (points.empty()) throw Error("no points to plot");
    const int width = 640, height = 480, left = 80, right = 30, top = 50, bottom = 70;
    cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    const cv::Scalar black(0, 0, 0), grey(220, 220, 220), blue(180, 90, 20);
    const int font = cv::FONT_HERSHEY_SIMPLEX;

    int k_lo = points.front().k, k_hi = points.front().k;
    double y_lo = 1, y_hi = 0;
    for (const IouPoint& p : points) {
        k_lo = std::min(k_lo, p.k), k_hi = std::max(k_hi, p.k);
        y_lo = std::min(y_lo, p.avg_iou), y_hi = std::max(y_hi, p.avg_iou);
    }
    if (k_hi == k_lo) --k_lo, ++k_hi;
    // IoU axis in percent on a 5-point grid that encloses the data.
    const double pct_lo = std::floor(y_lo * 100 / 5) * 5, pct_hi = std::max(pct_lo + 5, std::ceil(y_hi * 100 / 5) * 5);
    auto px = [&](double k) { return left + int(std::lround((k - k_lo) / double(k_hi - k_lo) * (width - left - right))); };
    auto py = [&](double iou) {
        return height - bottom - int(std::lround((iou * 100 - pct_lo) / (pct_hi - pct_lo) * (height - top - bottom)));
    };

    char buf[32];
    for (double pct = pct_lo; pct <= pct_hi + 1e-9; pct += 5) {
        const int y = py(pct / 100);
        cv::line(img, {left, y}, {width - right, y}, grey, 1);
        std::snprintf(buf, sizeof buf, "%.0f", pct);
        cv::putText(img, buf, {left - 35, y + 5}, font, 0.45, black, 1, cv::LINE_AA);
    }
    const int k_step = std::max(1, (k_hi - k_lo + 9) / 10);
    for (int k = k_lo; k <= k_hi; k += k_step) {
        const int x = px(k);
        cv::line(img, {x, height - bottom}, {x, height - bottom + 5}, black, 1);
        std::snprintf(buf, sizeof buf, "%d", k);
        cv::putText(img, buf, {x - 6, height - bottom + 22}, font, 0.45, black, 1, cv::LINE_AA);
    }
    cv::line(img, {left, top}, {left, height - bottom}, black, 1);
    cv::line(img, {left, height - bottom}, {width - right, height - bottom}, black, 1);
    cv::putText(img, "# clusters (k)", {width / 2 - 60, height - 20}, font, 0.55, black, 1, cv::LINE_AA);
    // Vertical axis label, drawn horizontally then rotated into place.
    cv::Mat label(24, 150, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(label, "avg IoU (%)", {10, 17}, font, 0.55, black, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int ly = top + (height - top - bottom - rotated.rows) / 2;
    rotated.copyTo(img(cv::Rect(8, std::max(0, ly), rotated.cols, rotated.rows)));
    cv::putText(img, title, {left, 30}, font, 0.6, black, 1, cv::LINE_AA);

    std::vector<IouPoint> sorted = points;
    std::sort(sorted.begin(), sorted.end(), [](IouPoint a, IouPoint b) { return a.k < b.k; });
    for (size_t i = 1; i < sorted.size(); ++i)
        cv::line(img, {px(sorted[i - 1].k), py(sorted[i - 1].avg_iou)}, {px(sorted[i].k), py(sorted[i].avg_iou)}, blue, 2,
                 cv::LINE_AA);
    for (const IouPoint& p : sorted) cv::circle(img, {px(p.k), py(p.avg_iou)}, 4, blue, cv::FILLED, cv::LINE_AA);
    return img;
}

void write_iou_plot(const std::string& path, const std::vector<IouPoint>& points, const std::string& title) {
    const cv::Mat img = draw_iou_curve(points, title);
    bool ok = false;
    try {
        ok = cv::imwrite(path, img);
    } catch (const cv::Exception& e) {
        throw Error(path + ": cannot write the plot: " + e.what());
    }
    if (!ok) throw Error(path + ": cannot write the plot (is the extension an image format, e.g. .png?)");
}

}  // namespace yolo9k
