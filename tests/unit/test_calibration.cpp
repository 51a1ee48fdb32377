// The int8 calibration file: what `yolo9k calibrate` records, that it reads back exactly, and
// that anything malformed, truncated, for another network or for other weights is refused
// with the file, the line and what was expected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "network/initialize.h"
#include "network/network.h"
#include "quantize/calibration.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

Network tiny_net(uint32_t seed) {
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"), {.width = 96, .height = 96});
    initialize_weights(net, seed);
    return net;
}

Calibration calibrated(Network& net, CalibrationMethod method, int images = 2) {
    const size_t n = net.input_shape().size();
    return calibrate_network(
        net, images,
        [&](int k, float* dst) {
            const auto v = test::random_vector(n, 40 + uint32_t(k), 0.f, 1.f);
            std::copy(v.begin(), v.end(), dst);
        },
        method, 99.9);
}

// The message of the Error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(Calibration, RoundTripsThroughItsFileExactly) {
    test::TempDir d;
    Network net = tiny_net(1);
    const Calibration c = calibrated(net, CalibrationMethod::percentile);
    save_calibration(c, d.file("tiny.calib"));
    const Calibration back = load_calibration(d.file("tiny.calib"));
    EXPECT_EQ(back.method, CalibrationMethod::percentile);
    EXPECT_DOUBLE_EQ(back.percentile, 99.9);
    EXPECT_EQ(back.images, 2);
    EXPECT_EQ(back.weights, c.weights);
    EXPECT_EQ(back.input_shape, c.input_shape);
    EXPECT_EQ(back.layer_types, c.layer_types);
    EXPECT_EQ(back.layer_shapes, c.layer_shapes);
    ASSERT_EQ(back.ranges.layers.size(), c.ranges.layers.size());
    for (size_t i = 0; i < c.ranges.layers.size(); ++i) {  // 9 significant digits: floats exactly
        EXPECT_EQ(back.ranges.layers[i].min, c.ranges.layers[i].min) << i;
        EXPECT_EQ(back.ranges.layers[i].max, c.ranges.layers[i].max) << i;
    }
    EXPECT_EQ(back.ranges.input.min, c.ranges.input.min);
    EXPECT_NO_THROW(check_calibration(back, net, d.file("tiny.calib")));
}

TEST(Calibration, PercentileClipsWithinTheExtremesAndMinmaxKeepsThem) {
    Network net = tiny_net(2);
    const Calibration minmax = calibrated(net, CalibrationMethod::minmax);
    const Calibration pct = calibrated(net, CalibrationMethod::percentile);
    int clipped = 0;
    for (size_t i = 0; i < minmax.ranges.layers.size(); ++i) {
        EXPECT_LE(pct.ranges.layers[i].absmax(), minmax.ranges.layers[i].absmax()) << i;
        EXPECT_GT(pct.ranges.layers[i].absmax(), 0.f) << i;
        clipped += pct.ranges.layers[i].absmax() < minmax.ranges.layers[i].absmax();
    }
    EXPECT_GT(clipped, 0) << "99.9% clipped nothing: is the histogram used?";
    // Pixels: the input range is what the images hold.
    EXPECT_GE(minmax.ranges.input.min, 0.f);
    EXPECT_LE(minmax.ranges.input.max, 1.f);
}

TEST(Calibration, ABadFileIsRefusedWithItsLine) {
    test::TempDir d;
    Network net = tiny_net(3);
    save_calibration(calibrated(net, CalibrationMethod::minmax), d.file("good.calib"));
    const std::string good = test::read_file(d.file("good.calib"));
    // Each case: an edit of the good file's text, and what the error must say.
    const auto line_of = [&](int n) {
        size_t at = 0;
        for (int k = 1; k < n; ++k) at = good.find('\n', at) + 1;
        return std::make_pair(at, good.find('\n', at) - at);
    };
    const auto replace_line = [&](int n, const std::string& with) {
        std::string s = good;
        const auto [at, len] = line_of(n);
        return s.replace(at, len, with);
    };
    struct Case {
        std::string text, expect;
    };
    const std::vector<Case> cases = {
        {"", "bad.calib:1: file ends early"},
        {"# a model\n", "bad.calib:1: not a yolo9k calibration file"},
        {replace_line(1, "yolo9k-calibration 7"), "bad.calib:1: calibration format version 7"},
        {replace_line(2, "weights xyz"), "bad.calib:2: expected 'weights <16 hex digits>'"},
        {replace_line(3, "method kl"), "bad.calib:3: expected 'method minmax' or 'method percentile P'"},
        {replace_line(3, "method percentile 120"), "bad.calib:3: the percentile must be in (0, 100]"},
        {replace_line(4, "images 28888888888888888888888888888888888"), "bad.calib:4: expected a whole number of images"},
        {replace_line(5, "input 3x96 0 1"), "bad.calib:5: expected a shape CxHxW"},
        {replace_line(5, "input 99999999999x96x96 0 1"), "bad.calib:5: expected a shape CxHxW"},
        {replace_line(5, "input 3x96x96 0 1e39"), "bad.calib:5: expected the largest value within float's range"},
        {replace_line(7, "layer 1 maxpool 16x48x48 nan 2"), "bad.calib:7: expected the smallest value (a finite number), got 'nan'"},
        {replace_line(7, "layer 1 maxpool 16x48x48 3 2"), "bad.calib:7: the smallest value 3 is above the largest 2"},
        {replace_line(7, "layer 5 maxpool 16x48x48 0 2"), "bad.calib:7: expected layer 1, got layer 5"},
        {good.substr(0, line_of(10).first), "bad.calib:10: file ends early"},
        {replace_line(22, "end 3"), "bad.calib:22: 'end 3' after 16 layers"},
        {good + good, "bad.calib:23: text after 'end 16' (two files joined?)"},
    };
    ASSERT_EQ(line_of(22).second, std::string("end 16").size()) << good;
    for (const Case& c : cases) {
        test::write_file(d.file("bad.calib"), c.text);
        const std::string what = error_of([&] { load_calibration(d.file("bad.calib")); });
        EXPECT_NE(what.find(c.expect), std::string::npos) << "got: " << what << "\nexpected: " << c.expect;
    }
    EXPECT_NE(error_of([&] { load_calibration(d.file("missing.calib")); }).find("missing.calib"), std::string::npos);
}

TEST(Calibration, AnotherNetworkOrOtherWeightsAreRefusedByName) {
    test::TempDir d;
    Network net = tiny_net(4);
    save_calibration(calibrated(net, CalibrationMethod::minmax), d.file("tiny.calib"));
    const Calibration c = load_calibration(d.file("tiny.calib"));

    Network other = Network::from_cfg_file(test::darknet_cfg("yolov2-voc.cfg"), {.width = 96, .height = 96});
    initialize_weights(other, 4);
    std::string what = error_of([&] { check_calibration(c, other, d.file("tiny.calib")); });
    EXPECT_NE(what.find("tiny.calib:6: layer 0 was calibrated as convolutional with 16 channels, but "), std::string::npos) << what;
    EXPECT_NE(what.find("another network"), std::string::npos) << what;

    Network retrained = tiny_net(5);
    what = error_of([&] { check_calibration(c, retrained, d.file("tiny.calib")); });
    EXPECT_NE(what.find("tiny.calib:2: recorded with other weights"), std::string::npos) << what;
    EXPECT_NE(what.find("stale"), std::string::npos) << what;

    // Another input size is the same network: ranges do not depend on it.
    Network bigger = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"), {.width = 160, .height = 160});
    initialize_weights(bigger, 4);
    EXPECT_NO_THROW(check_calibration(c, bigger, d.file("tiny.calib")));
}

}  // namespace
}  // namespace yolo9k
