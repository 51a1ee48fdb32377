// Calibrating a detector or classifier for int8 inference: run it in f32 on real images and
// record the range of every layer's output, written to a versioned text file that
// DetectorOptions::calibration (--calibration) then reads.
//
//   yolo9k::calibrate({.cfg = "tiny.cfg", .weights = "tiny.weights", .images = {"photos/"}},
//                     "tiny.calib");
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace yolo9k {

struct CalibrationOptions {
    std::string cfg, weights;
    int size = 0;                     // input width = height; 0: the cfg's
    std::vector<std::string> images;  // image files, folders or list files (as `detect` takes them)
    int count = 200;                  // images used, spread evenly over the list
    // "minmax": the extremes seen; "percentile": clip each layer at the |value| `percentile` %
    // of its values stay under (rare outliers then cost no resolution). minmax is the default
    // because it kept more of f32's mAP on the trained BCCD detector (README, int8 section).
    std::string method = "minmax";
    double percentile = 99.99;
    int threads = 0;  // 0: all cores
    // After each image: pass (1 or 2; percentile makes two), passes, images done, images.
    std::function<void(int pass, int passes, int done, int total)> on_progress;
};

struct CalibrationSummary {
    int images = 0;
    std::string method;
    // The widest calibrated |value| over the layers, and the layer it belongs to.
    float widest_range = 0;
    int widest_layer = -1;
};

// Writes the calibration file to `out` (atomically). Throws Error naming the file or image
// that is wrong.
CalibrationSummary calibrate(const CalibrationOptions& options, const std::string& out);

}  // namespace yolo9k
