#include "train/chart.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/atomic_file.h"
#include "core/error.h"

namespace yolo9k {
namespace {

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten.
double nice_ceiling(double v) {
    if (!(v > 0)) return 1;
    double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v) return m * p;
    return 10 * p;
}

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, v >= 100 || v == std::floor(v) ? "%.0f" : "%.2g", v);
    return b;
}

}  // namespace

void write_training_chart(const std::string& path, const TrainHistory& h, int64_t max_iteration,
                          const std::string& title, const std::string& metric_label) {
    const int W = 1000, H = 640, L = 70, R = 70, T = 50, B = 60;
    cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
    const int pw = W - L - R, ph = H - T - B;
    int64_t xmax = std::max<int64_t>(max_iteration, h.iteration.empty() ? 1 : h.iteration.back());
    xmax = std::max<int64_t>(xmax, 1);
    // Loss axis: robust to the huge first iterations - scale to the largest running average.
    double ymax = 0;
    for (float a : h.avg_loss)
        if (std::isfinite(a)) ymax = std::max(ymax, double(a));
    ymax = nice_ceiling(ymax * 1.1);
    auto X = [&](double it) { return L + int(std::lround(pw * it / double(xmax))); };
    auto Y = [&](double loss) { return T + ph - int(std::lround(ph * std::clamp(loss / ymax, 0.0, 1.0))); };
    auto Ymap = [&](double m) { return T + ph - int(std::lround(ph * std::clamp(m, 0.0, 1.0))); };

    const cv::Scalar grid(225, 225, 225), axis(60, 60, 60);
    for (int k = 0; k <= 10; ++k) {
        int y = T + ph * k / 10, x = L + pw * k / 10;
        cv::line(img, {L, y}, {L + pw, y}, grid);
        cv::line(img, {x, T}, {x, T + ph}, grid);
        cv::putText(img, fmt(ymax * (10 - k) / 10.0), {4, y + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4, axis);
        cv::putText(img, fmt(double(xmax) * k / 10.0), {x - 14, T + ph + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.4, axis);
    }
    cv::rectangle(img, {L, T}, {L + pw, T + ph}, axis);
    cv::putText(img, title, {L, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.6, axis, 1, cv::LINE_AA);
    cv::putText(img, "iteration", {L + pw / 2 - 30, H - 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5, axis);

    const cv::Scalar loss_colour(235, 190, 150), avg_colour(200, 80, 20), map_colour(30, 30, 220);
    auto polyline = [&](const std::vector<float>& ys, const cv::Scalar& c, int thickness) {
        std::vector<cv::Point> pts;
        for (size_t i = 0; i < ys.size() && i < h.iteration.size(); ++i)
            if (std::isfinite(ys[i])) pts.emplace_back(X(double(h.iteration[i])), Y(ys[i]));
        if (pts.size() > 1) cv::polylines(img, pts, false, c, thickness, cv::LINE_AA);
    };
    polyline(h.loss, loss_colour, 1);
    polyline(h.avg_loss, avg_colour, 2);
    cv::putText(img, "loss", {L + pw - 150, T + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5, loss_colour, 1, cv::LINE_AA);
    cv::putText(img, "avg loss", {L + pw - 150, T + 40}, cv::FONT_HERSHEY_SIMPLEX, 0.5, avg_colour, 1, cv::LINE_AA);
    if (!h.map.empty()) {
        for (int k = 0; k <= 10; k += 2)
            cv::putText(img, fmt(k / 10.0), {L + pw + 8, T + ph * (10 - k) / 10 + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                        map_colour);
        std::vector<cv::Point> pts;
        for (size_t i = 0; i < h.map.size() && i < h.map_iteration.size(); ++i) pts.emplace_back(X(double(h.map_iteration[i])), Ymap(h.map[i]));
        if (pts.size() > 1) cv::polylines(img, pts, false, map_colour, 2, cv::LINE_AA);
        for (size_t i = 0; i < pts.size(); ++i) {
            cv::circle(img, pts[i], 3, map_colour, cv::FILLED);
            cv::putText(img, fmt(h.map[i] * 100) + "%", pts[i] + cv::Point(4, -6), cv::FONT_HERSHEY_SIMPLEX, 0.4,
                        map_colour);
        }
        cv::putText(img, metric_label, {L + pw - 150, T + 60}, cv::FONT_HERSHEY_SIMPLEX, 0.5, map_colour, 1, cv::LINE_AA);
        // The same metric on training images, thinner and lighter: far above the validation
        // curve is overfitting; both low is not learning.
        const cv::Scalar train_colour(140, 200, 60);
        std::vector<cv::Point> train_pts;
        for (size_t i = 0; i < h.train_map.size() && i < h.map_iteration.size(); ++i)
            if (h.train_map[i] >= 0) train_pts.emplace_back(X(double(h.map_iteration[i])), Ymap(h.train_map[i]));
        if (train_pts.size() > 1) cv::polylines(img, train_pts, false, train_colour, 1, cv::LINE_AA);
        for (const cv::Point& p : train_pts) cv::circle(img, p, 3, train_colour, cv::FILLED);
        if (!train_pts.empty())
            cv::putText(img, metric_label + " (training images)", {L + pw - 260, T + 80}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
                        train_colour, 1, cv::LINE_AA);
    }
    std::vector<uchar> png;
    if (!cv::imencode(".png", img, png)) throw Error(path + ": cannot encode the chart as PNG");
    write_file_atomically(path, std::string(png.begin(), png.end()));
}

}  // namespace yolo9k
