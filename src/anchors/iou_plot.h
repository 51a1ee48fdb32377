// The paper's Figure 2 (left): average IoU of the boxes with their closest centroid as a
// function of the number of clusters k, drawn with OpenCV.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace yolo9k {

struct IouPoint {
    int k = 0;
    double avg_iou = 0;  // 0..1
};

// A white chart with axes, ticks, labels, the curve and its points; k ascending.
cv::Mat draw_iou_curve(const std::vector<IouPoint>& points, const std::string& title);
// Writes the chart as an image (format from the extension); throws yolo9k::Error on failure.
void write_iou_plot(const std::string& path, const std::vector<IouPoint>& points, const std::string& title);

}  // namespace yolo9k
