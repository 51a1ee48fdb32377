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
    test::expect_same_detections(theirs, ours, c.cfg + std::string("@") + std::to_string(c.size));
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
