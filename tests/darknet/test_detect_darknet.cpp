// End-to-end detection against darknet's own pipeline on darknet's dog.jpg: the same
// random weights; darknet's load_image_color + letterbox_image + network_predict +
// get_network_boxes + do_nms_sort + draw_detections' thresholding and pixel boxes, vs
// yolo9k::Detector. Same (class, box) set, scores within 1e-3, boxes within 1 px.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>

#include "darknet.h"
#include "darknet_oracle.h"
#include "network/initialize.h"
#include "support/test_support.h"
#include "yolo9k/detector.h"

namespace yolo9k {
namespace {

using Found = test::DarknetFound;

std::vector<Found> darknet_detect(const std::string& cfg, const std::string& weights, const std::string& image_path,
                                  float thresh, float nms) {
    network* net = load_network(const_cast<char*>(cfg.c_str()), const_cast<char*>(weights.c_str()), 0);
    set_batch_network(net, 1);
    image im = load_image_color(const_cast<char*>(image_path.c_str()), 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    network_predict(net, sized.data);
    int nboxes = 0;
    detection* dets = get_network_boxes(net, im.w, im.h, thresh, .5f, nullptr, 1, &nboxes);
    const layer& l = net->layers[net->n - 1];
    if (nms > 0) do_nms_sort(dets, nboxes, l.classes, nms);
    std::vector<Found> out = test::darknet_reported_boxes(dets, nboxes, l.classes, thresh, im.w, im.h);
    free_detections(dets, nboxes);
    free_image(sized);
    free_image(im);
    free_network(net);
    return out;
}

struct Case {
    const char* cfg;
    int size;
    float thresh;
};

class DetectMatchesDarknet : public ::testing::TestWithParam<Case> {};

TEST_P(DetectMatchesDarknet, OnDogJpg) {
    const Case c = GetParam();
    test::TempDir dir;
    const std::string cfg = dir.file("net.cfg"), weights = dir.file("net.weights");
    test::write_darknet_cfg(test::darknet_cfg(c.cfg), cfg, c.size, c.size, 1);
    Network net = Network::from_cfg_file(cfg);
    test::randomize_weights(net, 2024);
    net.save_weights(weights);

    const std::string dog = test::darknet_data("dog.jpg");
    const auto theirs = darknet_detect(cfg, weights, dog, c.thresh, .45f);
    Detector det({.cfg = cfg, .weights = weights, .thresh = c.thresh, .nms = .45f});
    cv::Mat img = cv::imread(dog, cv::IMREAD_COLOR);
    const auto ours = det.detect(img);
    std::cout << c.cfg << "@" << c.size << ": darknet " << theirs.size() << " detections, yolo9k " << ours.size() << "\n";
    ASSERT_GT(theirs.size(), 0u) << "threshold too high for a meaningful comparison";
    ASSERT_EQ(ours.size(), theirs.size());

    // Match each darknet detection to one of ours of the same class and nearly the same box.
    std::vector<bool> used(ours.size(), false);
    float worst_score = 0, worst_px = 0;
    for (const Found& t : theirs) {
        int best = -1;
        float best_d = 1e9f;
        for (size_t k = 0; k < ours.size(); ++k) {
            if (used[k] || ours[k].class_id != t.cls) continue;
            const auto& b = ours[k].box;
            const float px = std::max({std::fabs(b.x1 - t.x1), std::fabs(b.y1 - t.y1), std::fabs(b.x2 - t.x2), std::fabs(b.y2 - t.y2)});
            // clamped boxes can coincide, so the score disambiguates
            const float d = px + 1000 * std::fabs(ours[k].score - t.score);
            if (d < best_d) best_d = d, best = int(k);
        }
        ASSERT_GE(best, 0) << "darknet's class " << t.cls << " detection has no counterpart";
        used[best] = true;
        // darknet prints whole pixels (truncated); compare ours truncated the same way
        const auto& b = ours[best].box;
        auto px = [](float v) { return std::trunc(v); };
        worst_px = std::max({worst_px, std::fabs(px(b.x1) - t.x1), std::fabs(px(b.y1) - t.y1), std::fabs(px(b.x2) - t.x2),
                             std::fabs(px(b.y2) - t.y2)});
        worst_score = std::max(worst_score, std::fabs(ours[best].score - t.score));
    }
    std::cout << "  worst score diff " << worst_score << ", worst box diff " << worst_px << " px\n";
    EXPECT_LE(worst_score, 1e-3f);
    EXPECT_LE(worst_px, 1.f);  // darknet truncates to whole pixels
}

INSTANTIATE_TEST_SUITE_P(Cfgs, DetectMatchesDarknet,
                         ::testing::Values(Case{"yolov2-voc.cfg", 416, .05f}, Case{"yolov2-tiny-voc.cfg", 416, .05f},
                                           Case{"yolov2.cfg", 608, .02f}),
                         [](const auto& info) {
                             std::string n = info.param.cfg;
                             n = n.substr(0, n.find('.'));
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n + "_" + std::to_string(info.param.size);
                         });

}  // namespace
}  // namespace yolo9k
