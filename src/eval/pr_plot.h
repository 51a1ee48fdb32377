// Precision-recall curves (VOC matching at IoU > .5) drawn with OpenCV: axes, grid, one
// curve per class, a legend with each class's all-point AP.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "eval/metrics.h"

namespace yolo9k::eval {

// One chart of the given classes (those without GT are left out).
cv::Mat draw_pr_chart(const std::vector<const ClassMetrics*>& classes, const std::string& title);

// DIR/pr_curves.png, or pr_curves_1.png, _2, ... with at most `per_chart` classes each so
// the legend stays readable (COCO's 80 classes). Returns the paths written.
std::vector<std::string> write_pr_charts(const std::string& dir, const EvalResult& result, int per_chart = 20);

}  // namespace yolo9k::eval
