// Random initialisation against Debian's libdarknet: a network darknet builds from a cfg
// without weights, written out with save_weights, has in every convolution the weight spread
// that yolo9k's initialize_weights gives (darknet draws normal, we draw uniform, both of
// variance 2/fan-in), zero biases and identity batch norm. Training from scratch starts where
// darknet's does; issue 19 found a detector learning slowly because of this scale.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "darknet_oracle.h"
#include "layer/convolutional.h"
#include "network/initialize.h"
#include "network/network.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

double standard_deviation(const std::vector<float>& v) {
    double sum = 0, sq = 0;
    for (float x : v) sum += x;
    const double mean = sum / double(v.size());
    for (float x : v) sq += (x - mean) * (x - mean);
    return std::sqrt(sq / double(v.size()));
}

// The network darknet initialises for `cfg` (at batch 1), read back into ours.
Network darknet_initialised(const std::string& cfg, test::TempDir& dir) {
    const std::string small = dir.file("batch1.cfg");
    Network shape = Network::from_cfg_file(cfg);
    test::write_darknet_cfg(cfg, small, shape.params().width, shape.params().height, 1);
    test::DarknetNet darknet(small, "", 1);
    darknet.save_weights(dir.file("darknet_random.weights"));
    Network net = Network::from_cfg_file(cfg);
    net.load_weights(dir.file("darknet_random.weights"));
    return net;
}

std::vector<ConvolutionalLayer*> convolutions(Network& net) {
    std::vector<ConvolutionalLayer*> out;
    for (int i = 0; i < net.size(); ++i)
        if (auto* conv = dynamic_cast<ConvolutionalLayer*>(&net.layer(i))) out.push_back(conv);
    return out;
}

class InitializationDarknet : public ::testing::TestWithParam<const char*> {};

TEST_P(InitializationDarknet, EveryConvolutionHasDarknetsSpreadAndHeadScaleScalesOnlyTheHead) {
    test::TempDir dir;
    const std::string cfg = test::darknet_cfg(GetParam());
    Network theirs = darknet_initialised(cfg, dir);
    Network ours = Network::from_cfg_file(cfg);
    initialize_weights(ours, 7);
    Network alexeyab = Network::from_cfg_file(cfg);
    initialize_weights(alexeyab, 7, 1 / std::sqrt(3.f));
    const auto t = convolutions(theirs), o = convolutions(ours), a = convolutions(alexeyab);
    ASSERT_EQ(t.size(), o.size());
    int heads = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        const double n = double(t[i]->weights.size());
        // Each sample deviation is within about 1/sqrt(2n) of the true one (relative), so
        // their ratio within sqrt(1/n): 5 of those, and 1% for the normal draw's tails.
        const double tolerance = 5 / std::sqrt(n) + 0.01;
        const double ratio = standard_deviation(o[i]->weights) / standard_deviation(t[i]->weights);
        EXPECT_NEAR(ratio, 1.0, tolerance) << "convolution " << i << " (" << t[i]->weights.size() << " weights)";
        if (t[i]->batch_normalize) {
            EXPECT_EQ(a[i]->weights, o[i]->weights) << "head_scale touched convolution " << i << ", which has batch norm";
            for (float s : o[i]->scales) ASSERT_EQ(s, 1.f);
            for (float s : t[i]->scales) ASSERT_EQ(s, 1.f);
        } else {
            ++heads;
            EXPECT_NEAR(standard_deviation(a[i]->weights) / standard_deviation(o[i]->weights), 1 / std::sqrt(3.), 1e-5);
        }
        for (float b : o[i]->biases) ASSERT_EQ(b, 0.f);
        for (float b : t[i]->biases) ASSERT_EQ(b, 0.f);
    }
    EXPECT_EQ(heads, 1) << "a detector or classifier has one convolution without batch norm";
}

INSTANTIATE_TEST_SUITE_P(Cfgs, InitializationDarknet,
                         ::testing::Values("yolov2-tiny-voc.cfg", "yolov2-voc.cfg", "darknet19.cfg"),
                         [](const auto& info) { return test::test_name(info.param); });

}  // namespace
}  // namespace yolo9k
