// Calibration for int8 inference: the range of values each layer's output takes on real
// images (`yolo9k calibrate`), and its file.
//
// The file is plain text, versioned, one line per layer, so a user can read it and an error
// can name its line:
//
//   yolo9k-calibration 1
//   weights 3f2a...            fingerprint of the weights the ranges were recorded with
//   method percentile 99.99    or: method minmax
//   images 200
//   input 3x416x416 0 1        C x H x W, then the smallest and largest value seen
//   layer 0 convolutional 16x416x416 -0.52 7.9
//   ...
//   end 31                     the layer count again: a truncated file is refused
//
// It is checked against the network it is used with: same layer types and channel counts
// (spatial sizes may differ: --size changes them, not the value ranges), and the same weights
// (ranges recorded with other weights are stale).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/activation_ranges.h"
#include "core/shape.h"

namespace yolo9k {

class Network;

enum class CalibrationMethod {
    minmax,      // the extremes seen: nothing clips, outliers widen the 8-bit step
    percentile,  // the |value| below which `percentile` % of the values fall: rare outliers clip
};
CalibrationMethod parse_calibration_method(const std::string& text);  // "minmax" | "percentile"
const char* calibration_method_name(CalibrationMethod m);

struct Calibration {
    static constexpr int kVersion = 1;
    CalibrationMethod method = CalibrationMethod::minmax;
    double percentile = 100;  // method percentile
    int images = 0;
    std::uint64_t weights = 0;  // weights_fingerprint() of the network calibrated
    Shape input_shape;
    std::vector<std::string> layer_types;
    std::vector<Shape> layer_shapes;
    std::vector<int> layer_lines;  // where each layer's line is in the file it was read from
    ActivationRanges ranges;
};

// A fingerprint of every parameter the network holds (.weights order, batch norm unfolded),
// for staleness checks.
std::uint64_t weights_fingerprint(const Network& net);

struct CalibrationProgress {
    int pass = 1, passes = 1;  // percentile needs a second pass (histograms within the extremes)
    int images_done = 0, images = 0;
};

// Runs the network (f32, the reference arithmetic of the fast backend) on `images` inputs,
// which `fill_input(i, dst)` writes (network input floats), and records each layer's range.
Calibration calibrate_network(Network& net, int images, const std::function<void(int image, float* dst)>& fill_input,
                              CalibrationMethod method, double percentile = 99.99, int threads = 0,
                              const std::function<void(const CalibrationProgress&)>& progress = {});

// Written atomically. Throws Error naming the file.
void save_calibration(const Calibration& c, const std::string& path);
// Throws Error naming the file and line for anything malformed, truncated or of another version.
Calibration load_calibration(const std::string& path);
// The ranges, after checking `c` (read from `path`) against `net`; throws Error naming the
// file, the line and the layer that disagrees, or the weights when they are not the ones calibrated.
ActivationRanges check_calibration(const Calibration& c, const Network& net, const std::string& path);

// What an executor's options need: for int8, the ranges from the calibration file at `path`
// (required, loaded and checked against `net`); for other precisions null, and `path` must be
// empty (a calibration file given with f32 or bf16 is a mistake worth saying).
std::shared_ptr<const ActivationRanges> activation_ranges_for(const std::string& precision, const std::string& path,
                                                              const Network& net);

}  // namespace yolo9k
