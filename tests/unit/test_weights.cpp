// .weights files: byte-exact round trips, darknet's two header versions, and clear
// errors for files that do not fit the cfg.
#include <gtest/gtest.h>

#include <filesystem>

#include "layer/convolutional.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

Network tiny_voc() { return Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg")); }

std::string error_loading(Network& net, const std::string& path) {
    try {
        net.load_weights(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(Weights, RoundTripIsByteIdentical) {
    test::TempDir dir;
    Network net = tiny_voc();
    test::randomize_weights(net, 3);
    net.header().seen = 123456789012ull;
    net.save_weights(dir.file("a.weights"));
    EXPECT_EQ(std::filesystem::file_size(dir.file("a.weights")), net.weights_file_bytes());

    Network again = tiny_voc();
    again.load_weights(dir.file("a.weights"));
    EXPECT_EQ(again.header().seen, 123456789012ull);
    again.save_weights(dir.file("b.weights"));
    EXPECT_EQ(test::read_file(dir.file("a.weights")), test::read_file(dir.file("b.weights")));
    const auto& c0 = dynamic_cast<const ConvolutionalLayer&>(again.layer(0));
    const auto& o0 = dynamic_cast<const ConvolutionalLayer&>(net.layer(0));
    EXPECT_EQ(c0.weights, o0.weights);
    EXPECT_EQ(c0.rolling_variance, o0.rolling_variance);
}

TEST(Weights, OldHeaderHasA32BitSeen) {
    test::TempDir dir;
    Network net = tiny_voc();
    test::randomize_weights(net, 4);
    net.header() = {0, 1, 0, 77};
    net.save_weights(dir.file("old.weights"));
    EXPECT_EQ(std::filesystem::file_size(dir.file("old.weights")), net.weights_file_bytes());
    Network again = tiny_voc();
    again.load_weights(dir.file("old.weights"));
    EXPECT_EQ(again.header().minor, 1);
    EXPECT_EQ(again.header().seen, 77u);
    again.save_weights(dir.file("old2.weights"));
    EXPECT_EQ(test::read_file(dir.file("old.weights")), test::read_file(dir.file("old2.weights")));
}

TEST(Weights, TruncatedFileSaysWhereItEnds) {
    test::TempDir dir;
    Network net = tiny_voc();
    net.save_weights(dir.file("full.weights"));
    const std::string full = test::read_file(dir.file("full.weights"));
    test::write_file(dir.file("short.weights"), full.substr(0, full.size() - 1000));
    const std::string e = error_loading(net, dir.file("short.weights"));
    EXPECT_NE(e.find("short.weights: file ends at byte " + std::to_string(full.size() - 1000)), std::string::npos) << e;
    EXPECT_NE(e.find("layer 14"), std::string::npos) << e;
    EXPECT_NE(e.find("should be " + std::to_string(full.size()) + " bytes"), std::string::npos) << e;

    test::write_file(dir.file("tiny.weights"), full.substr(0, 10));
    EXPECT_NE(error_loading(net, dir.file("tiny.weights")).find("too short for a .weights header"), std::string::npos);
}

TEST(Weights, OversizedFileIsRejected) {
    test::TempDir dir;
    Network net = tiny_voc();
    net.save_weights(dir.file("full.weights"));
    const std::string full = test::read_file(dir.file("full.weights"));
    test::write_file(dir.file("long.weights"), full + std::string(8, '\0'));
    const std::string e = error_loading(net, dir.file("long.weights"));
    EXPECT_NE(e.find(std::to_string(full.size() + 8) + " bytes, but"), std::string::npos) << e;
    EXPECT_NE(e.find("needs exactly " + std::to_string(full.size())), std::string::npos) << e;
    EXPECT_NE(e.find("8 bytes too many"), std::string::npos) << e;
}

TEST(Weights, WrongCfgAndMissingFile) {
    test::TempDir dir;
    Network voc = Network::from_cfg_file(test::darknet_cfg("yolov2-voc.cfg"));
    voc.save_weights(dir.file("voc.weights"));
    Network tiny = tiny_voc();
    EXPECT_NE(error_loading(tiny, dir.file("voc.weights")).find("do the cfg and the weights belong together?"),
              std::string::npos);
    EXPECT_NE(error_loading(tiny, dir.file("nope.weights")).find("no such weights file"), std::string::npos);
}

TEST(Weights, PrefixFilesLoadForTransfer) {
    // darknet's `partial` output: the first layers only, ending on a layer boundary.
    test::TempDir dir;
    Network net = tiny_voc();
    test::randomize_weights(net, 5);
    net.save_weights(dir.file("part.weights"), 6);  // layers 0..5: three convs
    Network fresh = tiny_voc();
    EXPECT_EQ(fresh.load_weights(dir.file("part.weights"), /*allow_prefix=*/true), 6);
    EXPECT_EQ(dynamic_cast<const ConvolutionalLayer&>(fresh.layer(4)).weights,
              dynamic_cast<const ConvolutionalLayer&>(net.layer(4)).weights);
    EXPECT_NE(error_loading(fresh, dir.file("part.weights")), "");  // strict load refuses it
}

}  // namespace
}  // namespace yolo9k
