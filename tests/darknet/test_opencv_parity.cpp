// Parity with OpenCV's dnn module, a second independent reader of darknet cfg/weights files:
// the same random weights (our .weights file) and input give the same output at every
// layer OpenCV exposes, and its [region] output (decoded boxes, objectness, thresholded
// class probabilities) agrees with ours decoded the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "darknet_oracle.h"
#include "backend/backend.h"
#include "layer/region.h"
#include "network/network.h"
#include "support/test_support.h"

namespace {

using namespace yolo9k;
using namespace yolo9k::test;

constexpr float kRelTolerance = 1e-4f;  // max|diff| / max|value|

std::string format_ratio(float r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", double(r));
    return buf;
}

// The name OpenCV's darknet importer gives the blob that holds darknet layer i's output:
// the last of the OpenCV layers that layer became. A convolution becomes conv_i, then bn_i
// when batch-normalised, then its activation (named leaky_<i+1> by OpenCV 4.6, relu_i by
// later versions), so take conv_i and the bn/activation layers right after it in the
// (topologically ordered) layer list. Empty when OpenCV has no such layer.
std::string opencv_blob_name(const Layer& layer, int i, const std::vector<std::string>& names) {
    const std::string n = std::to_string(i);
    auto find = [&](const std::string& name) { return std::find(names.begin(), names.end(), name); };
    const std::string_view t = layer.type();
    if (t == "convolutional") {
        auto it = find("conv_" + n);
        if (it == names.end()) return {};
        auto starts = [](const std::string& s, const char* p) { return s.rfind(p, 0) == 0; };
        while (it + 1 != names.end()) {
            const std::string& next = *(it + 1);
            if (next == "bn_" + n || starts(next, "leaky_") || starts(next, "relu_") || starts(next, "logistic_"))
                ++it;
            else
                break;
        }
        return *it;
    }
    std::vector<std::string> candidates;
    if (t == "maxpool")
        candidates = {"pool_" + n};
    else if (t == "avgpool")
        candidates = {"avgpool_" + n};
    else if (t == "softmax")
        candidates = {"softmax_" + n};
    else if (t == "route")
        candidates = {"concat_" + n, "identity_" + n};
    else if (t == "reorg")
        candidates = {"reorg_" + n};
    else if (t == "cost")
        candidates = {"identity_" + n};
    for (const auto& c : candidates)
        if (find(c) != names.end()) return c;
    return {};
}

struct LayerDiff {
    int layer;
    std::string name;
    float max_diff, max_value;
    float ratio() const { return max_value > 0 ? max_diff / max_value : max_diff; }
    bool ok() const { return max_diff <= kRelTolerance * max_value; }
};

// OpenCV's [region] row (y*cols + x)*num + a holds [x, y, w, h, obj, p_0..p_classes-1] with
// x = (col + σ(t_x))/cols, y = (row + σ(t_y))/rows, w = e^{t_w} anchor_w / rows (sic: OpenCV
// normalises w by rows and h by cols; the nets here are square), h = e^{t_h} anchor_h / cols,
// obj = σ(t_o) and p_j = obj · softmax_j when above the cfg's thresh, else 0, after an NMS
// (threshold 0.4) that may zero more of them. Ours is the activated region tensor in darknet's
// layout (σ applied to x, y, obj, softmax to the classes, t_w and t_h raw).
// Compares x, y and obj directly (all in [0, 1]); w and h through the t_w, t_h they imply
// (e^t multiplies any error in t by the value itself, and random weights give t up to ~10);
// and each class probability OpenCV kept (non-zero) against ours, counting those above
// thresh on either side (NMS only removes).
struct RegionDiff {
    float max_diff_xyo = 0;               // x, y, obj
    float max_diff_twh = 0, max_twh = 0;  // t_w, t_h recovered from OpenCV's w, h
    float max_diff_probs = 0;
    int opencv_kept = 0, ours_above = 0;
};

RegionDiff compare_region(const RegionLayer& region, const std::vector<float>& ours, const cv::Mat& theirs) {
    const Shape s = region.output_shape();
    const int rows = s.h, cols = s.w, num = region.num, cell = region.entries(), classes = region.classes;
    RegionDiff d;
    auto at = [&](int a, int k, int y, int x) { return ours[((size_t(a) * cell + k) * rows + y) * cols + x]; };
    const float* t = theirs.ptr<float>();
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
            for (int a = 0; a < num; ++a) {
                const float* row = t + (size_t(y * cols + x) * num + a) * cell;
                const float xyo[3][2] = {{(x + at(a, 0, y, x)) / cols, row[0]},
                                         {(y + at(a, 1, y, x)) / rows, row[1]},
                                         {at(a, 4, y, x), row[4]}};
                for (const auto& e : xyo) d.max_diff_xyo = std::max(d.max_diff_xyo, std::fabs(e[0] - e[1]));
                const float twh[2][2] = {{at(a, 2, y, x), std::log(row[2] * rows / region.anchors[2 * a])},
                                         {at(a, 3, y, x), std::log(row[3] * cols / region.anchors[2 * a + 1])}};
                for (const auto& e : twh) {
                    d.max_diff_twh = std::max(d.max_diff_twh, std::fabs(e[0] - e[1]));
                    d.max_twh = std::max(d.max_twh, std::fabs(e[0]));
                }
                for (int j = 0; j < classes; ++j) {
                    const float p = at(a, 4, y, x) * at(a, 5 + j, y, x);
                    if (p > region.thresh) ++d.ours_above;
                    if (row[5 + j] != 0) {
                        ++d.opencv_kept;
                        d.max_diff_probs = std::max(d.max_diff_probs, std::fabs(p - row[5 + j]));
                    }
                }
            }
    return d;
}

class OpenCvParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OpenCvParity, EveryLayerMatchesOpenCvDnn) {
    const std::string cfg = darknet_cfg(GetParam() + ".cfg");
    TempDir tmp;
    Network net = Network::from_cfg_file(cfg);
    randomize_weights(net, 777);
    const std::string weights = tmp.file("random.weights");
    net.save_weights(weights);

    const Shape in = net.input_shape();
    const std::vector<float> input = random_vector(in.size(), 4242, 0.f, 1.f);
    auto exec = make_executor(net, "onednn", {.batch = 1, .keep_outputs = true});
    exec->forward(input.data());

    cv::dnn::Net cvnet = cv::dnn::readNetFromDarknet(cfg, weights);
    ASSERT_FALSE(cvnet.empty());
    cvnet.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    cvnet.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    // Without fusion every layer OpenCV builds keeps its own blob. With it, OpenCV 4.6 hands
    // back all zeros for leaky_25 (layer 24 of yolov2-voc and yolov2, the second input of the
    // [route] concat at layer 28) although the concat itself, and everything after, is right.
    cvnet.enableFusion(false);
    const std::vector<std::string> names = cvnet.getLayerNames();

    // Which of our layers OpenCV exposes, and under what name.
    std::vector<int> layers;
    std::vector<std::string> blob_names;
    const RegionLayer* region = nullptr;
    int region_index = -1;
    for (int i = 0; i < net.size(); ++i) {
        if (auto* r = dynamic_cast<const RegionLayer*>(&net.layer(i))) {
            region = r;
            region_index = i;
            continue;
        }
        const std::string name = opencv_blob_name(net.layer(i), i, names);
        if (name.empty()) continue;
        layers.push_back(i);
        blob_names.push_back(name);
    }
    if (region) blob_names.push_back("detection_out");
    ASSERT_FALSE(layers.empty());

    const int sizes[4] = {1, in.c, in.h, in.w};
    cv::Mat blob(4, sizes, CV_32F, const_cast<float*>(input.data()));
    cvnet.setInput(blob);
    std::vector<cv::Mat> outs;
    cvnet.forward(outs, blob_names);
    ASSERT_EQ(outs.size(), blob_names.size());

    std::vector<LayerDiff> diffs;
    for (size_t k = 0; k < layers.size(); ++k) {
        const std::vector<float> ours = exec->layer_output(layers[k]);
        const cv::Mat& m = outs[k];
        ASSERT_TRUE(m.isContinuous());
        ASSERT_EQ(m.total(), ours.size()) << "layer " << layers[k] << " (" << blob_names[k] << ") size";
        diffs.push_back({layers[k], blob_names[k], max_abs_diff(ours.data(), m.ptr<float>(), ours.size()),
                         max_abs(m.ptr<float>(), m.total())});
    }

    float worst = 0;
    int worst_layer = -1;
    std::ostringstream table;
    for (const auto& d : diffs) {
        table << "  layer " << d.layer << " " << net.layer(d.layer).type() << " (" << d.name << "): ratio "
              << format_ratio(d.ratio()) << " (max|diff| " << d.max_diff << ", max|value| " << d.max_value << ")"
              << (d.ok() ? "" : "   <== mismatch") << '\n';
        if (d.ratio() >= worst) worst = d.ratio(), worst_layer = d.layer;
    }
    // The network's last computing layer: the final conv for detectors, the softmax for darknet19.
    const int last = region ? region_index - 1 : net.output_layer();
    const auto last_it = std::find_if(diffs.begin(), diffs.end(), [&](const LayerDiff& d) { return d.layer == last; });
    ASSERT_NE(last_it, diffs.end()) << "OpenCV exposes no output for layer " << last;

    std::cout << "opencv parity " << GetParam() << ".cfg@" << in.w << ": last " << net.layer(last).type() << " (layer "
              << last << ", " << last_it->name << ") max|diff|/max|value| = " << format_ratio(last_it->ratio())
              << "; worst of " << diffs.size() << " layers " << format_ratio(worst) << " (layer " << worst_layer << ")"
              << std::endl;
    RecordProperty("last_layer_ratio", format_ratio(last_it->ratio()));
    RecordProperty("worst_layer_ratio", format_ratio(worst));
    const bool all_ok = std::all_of(diffs.begin(), diffs.end(), [](const LayerDiff& d) { return d.ok(); });
    EXPECT_TRUE(all_ok) << "layers disagree with OpenCV dnn (max|diff| > " << kRelTolerance << " x max|value|):\n"
                        << table.str();

    if (region) {
        const cv::Mat& det = outs.back();
        ASSERT_EQ(det.total(), region->output_shape().size()) << "detection_out size";
        const RegionDiff r = compare_region(*region, exec->layer_output(region_index), det);
        std::cout << "opencv parity " << GetParam() << ".cfg@" << in.w << ": region x,y,obj max|diff| = " << r.max_diff_xyo
                  << "; t_w,t_h (from w,h) max|diff|/max|t| = " << format_ratio(r.max_diff_twh / r.max_twh)
                  << "; class probabilities kept by OpenCV " << r.opencv_kept << " (ours above thresh " << r.ours_above
                  << "), max|diff| " << r.max_diff_probs << std::endl;
        RecordProperty("region_xyo_max_abs_diff", format_ratio(r.max_diff_xyo));
        RecordProperty("region_twh_ratio", format_ratio(r.max_diff_twh / r.max_twh));
        EXPECT_LE(r.max_diff_xyo, kRelTolerance);  // values in [0, 1]
        EXPECT_LE(r.max_diff_twh, kRelTolerance * r.max_twh);
        EXPECT_LE(r.max_diff_probs, kRelTolerance);  // probabilities
        EXPECT_LE(r.opencv_kept, r.ours_above);      // NMS only removes
    }
}

// OpenCV 4.6 reads all of these; yolov2-tiny has the stride-1 [maxpool] with darknet's
// asymmetric padding, yolov2-voc the [reorg] passthrough, darknet19 [avgpool] + [softmax].
INSTANTIATE_TEST_SUITE_P(Cfgs, OpenCvParity,
                         ::testing::Values("yolov2-voc", "yolov2-tiny-voc", "yolov2", "yolov2-tiny", "darknet19",
                                           "darknet19_448"),
                         [](const auto& info) { return test::test_name(info.param); });

}  // namespace
