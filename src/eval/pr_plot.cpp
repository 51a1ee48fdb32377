#include "eval/pr_plot.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace yolo9k::eval {
namespace {

// Evenly spaced hues, alternately darker, so neighbours in the legend are told apart.
cv::Scalar class_colour(int i, int n) {
    cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(int(180.0 * i / std::max(n, 1)), 230, i % 2 ? 150 : 230)), bgr;
    cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
    const auto c = bgr.at<cv::Vec3b>(0, 0);
    return {double(c[0]), double(c[1]), double(c[2])};
}

}  // namespace

cv::Mat draw_pr_chart(const std::vector<const ClassMetrics*>& all, const std::string& title) {
    std::vector<const ClassMetrics*> classes;
    for (const auto* c : all)
        if (c->has_truth()) classes.push_back(c);
    const int plot = 600, left = 70, top = 50, bottom = 60, legend_w = 280;
    const int legend_h = 30 + 22 * int(classes.size());
    const int width = left + plot + 30 + legend_w, height = std::max(top + plot + bottom, legend_h + top);
    cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    auto to_px = [&](double recall, double precision) {
        return cv::Point(left + int(std::lround(recall * plot)), top + plot - int(std::lround(precision * plot)));
    };
    // Grid every .1 with labels, then the axes box.
    for (int k = 0; k <= 10; ++k) {
        const double v = k / 10.0;
        cv::line(img, to_px(v, 0), to_px(v, 1), cv::Scalar(225, 225, 225), 1);
        cv::line(img, to_px(0, v), to_px(1, v), cv::Scalar(225, 225, 225), 1);
        char label[8];
        std::snprintf(label, sizeof label, "%.1f", v);
        cv::putText(img, label, to_px(v, 0) + cv::Point(-12, 20), font, .45, cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
        cv::putText(img, label, to_px(0, v) + cv::Point(-35, 5), font, .45, cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
    }
    cv::rectangle(img, to_px(0, 1), to_px(1, 0), cv::Scalar(0, 0, 0), 1);
    cv::putText(img, "recall", to_px(.5, 0) + cv::Point(-25, 45), font, .6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    cv::putText(img, "precision", cv::Point(5, top - 12), font, .6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    cv::putText(img, title, cv::Point(left + 110, top - 18), font, .6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);

    const int lx = left + plot + 30;
    cv::putText(img, "class (AP, IoU>.5, all-point)", cv::Point(lx, top + 5), font, .45, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
    for (int i = 0; i < int(classes.size()); ++i) {
        const ClassMetrics& c = *classes[i];
        const cv::Scalar colour = class_colour(i, int(classes.size()));
        std::vector<cv::Point> points;
        for (size_t k = 0; k < c.pr.recall.size(); ++k) points.push_back(to_px(c.pr.recall[k], c.pr.precision[k]));
        if (points.size() == 1) cv::circle(img, points[0], 3, colour, cv::FILLED, cv::LINE_AA);
        if (points.size() > 1) cv::polylines(img, points, false, colour, 2, cv::LINE_AA);
        const int y = top + 25 + 22 * i;
        cv::line(img, cv::Point(lx, y - 5), cv::Point(lx + 25, y - 5), colour, 3, cv::LINE_AA);
        char text[160];
        std::snprintf(text, sizeof text, "%.40s (%.1f)", c.name.c_str(), 100 * c.ap_voc);
        cv::putText(img, text, cv::Point(lx + 32, y), font, .45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    return img;
}

std::vector<std::string> write_pr_charts(const std::string& dir, const EvalResult& result, int per_chart) {
    std::vector<const ClassMetrics*> classes;
    for (const auto& c : result.per_class)
        if (c.has_truth()) classes.push_back(&c);
    std::vector<std::string> paths;
    if (classes.empty()) return paths;
    const int charts = int((classes.size() + per_chart - 1) / per_chart);
    for (int k = 0; k < charts; ++k) {
        std::vector<const ClassMetrics*> part(classes.begin() + k * per_chart,
                                              classes.begin() + std::min<size_t>(classes.size(), (k + 1) * per_chart));
        char title[96];
        std::snprintf(title, sizeof title, "precision-recall, mAP %.1f", 100 * result.map_voc);
        const std::string name = charts == 1 ? "pr_curves.png" : "pr_curves_" + std::to_string(k + 1) + ".png";
        paths.push_back((std::filesystem::path(dir) / name).string());
        if (!cv::imwrite(paths.back(), draw_pr_chart(part, title))) throw Error(paths.back() + ": cannot write PNG");
    }
    return paths;
}

}  // namespace yolo9k::eval
