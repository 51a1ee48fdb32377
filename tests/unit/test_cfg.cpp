// The cfg parser: every cfg Debian's darknet ships for YOLOv2/9000 loads, and each kind
// of mistake is reported with file:line and what was expected.
#include <gtest/gtest.h>

#include "layer/convolutional.h"
#include "layer/maxpool.h"
#include "layer/region.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

std::string error_of(const std::string& text) {
    try {
        Network::from_cfg(parse_cfg_text(text, "net.cfg"));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const char* kNet = "[net]\nwidth=64\nheight=64\nchannels=3\n";

TEST(Cfg, DebianCfgsLoadWithDarknetsBflops) {
    // Totals darknet prints for these cfgs at their own input sizes.
    const std::pair<const char*, double> cases[] = {
        {"yolov2-voc.cfg", 29.36}, {"yolov2-tiny.cfg", 5.41}, {"yolov2-tiny-voc.cfg", 6.97}, {"yolov2.cfg", 62.94},
        {"yolo9000.cfg", 49.06},   {"darknet19.cfg", 7.29},   {"darknet19_448.cfg", 22.33}, {"tiny.cfg", 0.98}};
    for (const auto& [cfg, bflops] : cases) {
        Network net = Network::from_cfg_file(test::darknet_cfg(cfg));
        EXPECT_NEAR(net.total_flops() / 1e9, bflops, 0.005) << cfg;
    }
}

TEST(Cfg, ShapesFollowDarknet) {
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-voc.cfg"));
    EXPECT_EQ(net.size(), 32);
    EXPECT_EQ(net.layer(27).output_shape(), (Shape{256, 13, 13}));  // reorg
    EXPECT_EQ(net.layer(28).output_shape(), (Shape{1280, 13, 13}));  // route 27, 24
    EXPECT_EQ(net.layer(31).output_shape(), (Shape{125, 13, 13}));
    const auto& region = dynamic_cast<const RegionLayer&>(net.layer(31));
    EXPECT_EQ(region.num, 5);
    EXPECT_FLOAT_EQ(region.anchors[9], 10.0071f);
    EXPECT_TRUE(region.softmax && region.rescore && region.bias_match);
    EXPECT_EQ(net.params().steps, (std::vector<int>{40000, 60000}));

    Network tiny = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny.cfg"));
    const auto& pool = dynamic_cast<const MaxpoolLayer&>(tiny.layer(11));
    EXPECT_EQ(pool.stride, 1);
    EXPECT_EQ(tiny.layer(11).output_shape(), (Shape{512, 13, 13}));  // size 2 stride 1 keeps 13x13

    Network at608 = Network::from_cfg_file(test::darknet_cfg("yolov2.cfg"), {.width = 608, .height = 608});
    EXPECT_EQ(at608.layer(at608.output_layer()).output_shape(), (Shape{425, 19, 19}));
}

TEST(Cfg, Yolo9000TreeAndMapAreAccepted) {
    Network net = Network::from_cfg_file(test::darknet_cfg("yolo9000.cfg"));
    const auto& region = dynamic_cast<const RegionLayer&>(net.layer(net.output_layer()));
    EXPECT_EQ(region.classes, 9418);
    EXPECT_NE(region.tree_file.find("9k.tree"), std::string::npos);
    EXPECT_NE(region.map_file.find("coco9k.map"), std::string::npos);
    ASSERT_TRUE(region.tree);
    EXPECT_EQ(region.tree->size(), 9418);
    EXPECT_EQ(region.class_map.size(), 80u);
}

TEST(Cfg, TypoKeyNamesFileLineAndKey) {
    const std::string e = error_of(std::string(kNet) + "[convolutional]\nfilters=8\nsize=3\nstrid=1\n");
    EXPECT_NE(e.find("net.cfg:8:"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown option 'strid'"), std::string::npos) << e;
}

TEST(Cfg, RegionFiltersMismatchIsExplained) {
    const std::string e = error_of(std::string(kNet) +
                                   "[convolutional]\nfilters=100\nsize=1\n"
                                   "[region]\nclasses=20\nnum=5\nanchors=1,1,2,2,3,3,4,4,5,5\n");
    EXPECT_NE(e.find("net.cfg:8:"), std::string::npos) << e;
    EXPECT_NE(e.find("100 channels"), std::string::npos) << e;
    EXPECT_NE(e.find("filters=125"), std::string::npos) << e;
}

TEST(Cfg, BadValuesAndStructure) {
    EXPECT_NE(error_of(std::string(kNet) + "[convolutional]\nfilters=abc\n").find("net.cfg:6: [convolutional] filters: expected an integer, got 'abc'"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[convolutional]\nactivation=swish\n").find("expected one of linear, leaky"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[convolution]\n").find("net.cfg:5: unknown section [convolution]"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[maxpool]\n[route]\nlayers=-3\n").find("net.cfg:7:"), std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[region]\nnum=2\nanchors=1,1,1\nclasses=1\n").find("expected 4 numbers"),
              std::string::npos);
    EXPECT_NE(error_of("[convolutional]\nfilters=1\n").find("first section is [convolutional]; expected [net]"),
              std::string::npos);
    EXPECT_NE(error_of("filters=1\n").find("before any [section]"), std::string::npos);
    EXPECT_NE(error_of("[net]\nwidth=64\n").find("expected width, height and channels"), std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[reorg]\nstride=2\n").find("multiple of stride"), std::string::npos);
    EXPECT_NE(error_of(std::string(kNet) + "[convolutional]\nbatch_normalize=2\n").find("expected 0 or 1"),
              std::string::npos);
}

TEST(Cfg, MissingFileIsAnError) {
    try {
        Network::from_cfg_file("/nonexistent/x.cfg");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/x.cfg: no such cfg file"), std::string::npos);
    }
}

TEST(Cfg, DarknetWhitespaceAndCommentsAreTolerated) {
    Network net = Network::from_cfg(parse_cfg_text("# comment\n[net]\n width = 32 \nheight=32\nchannels=3\n; c\n\n"
                                                   "[convolutional]\nfilters = 4\nsize=3\npad=1\nactivation = leaky\n",
                                                   "ws.cfg"));
    const auto& conv = dynamic_cast<const ConvolutionalLayer&>(net.layer(0));
    EXPECT_EQ(conv.filters, 4);
    EXPECT_EQ(conv.padding, 1);
    EXPECT_EQ(conv.activation, Activation::leaky);
    EXPECT_EQ(net.layer(0).output_shape(), (Shape{4, 32, 32}));
}

}  // namespace
}  // namespace yolo9k
