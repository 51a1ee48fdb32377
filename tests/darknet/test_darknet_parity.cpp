// Whole-network parity with Debian's libdarknet: the same random weights (written by us,
// read by darknet) and the same random input give the same output, and .weights files are
// byte-identical whichever side writes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/onednn/settings.h"
#include "darknet_oracle.h"
#include "network/network.h"
#include "support/test_support.h"

namespace {

using namespace yolo9k;
using namespace yolo9k::test;

constexpr float kRelTolerance = 1e-4f;  // max|diff| / max|value|

// ---- cfgs ---------------------------------------------------------------------------------

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

std::string strip(const std::string& s) {
    std::string r;
    for (char c : s)
        if (!std::isspace(static_cast<unsigned char>(c))) r += c;
    return r;
}

// The 2016 paper-era passthrough (yolo-voc.2.0.cfg): yolov2-voc without the 1x1 64-filter
// convolution after `[route] layers=-9`, so [reorg] stride=2 turns conv 16's 26x26x512
// straight into 13x13x2048, and the next route (now one layer closer to conv 24) takes
// `layers=-1,-3`. Layers: ... 24 conv 1024, 25 route 16, 26 reorg, 27 route 26+24 (3072),
// 28 conv 1024, 29 conv 125, 30 region.
std::string paper_passthrough_cfg() {
    const std::vector<std::string> lines = read_lines(darknet_cfg("yolov2-voc.cfg"));
    // Split into sections: [start, end) line ranges, each starting at its "[...]" line.
    std::vector<std::pair<size_t, size_t>> sections;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string t = strip(lines[i]);
        if (!t.empty() && t[0] == '[') {
            if (!sections.empty()) sections.back().second = i;
            sections.push_back({i, lines.size()});
        }
    }
    auto header = [&](size_t s) { return strip(lines[sections[s].first]); };
    auto has = [&](size_t s, const std::string& kv) {
        for (size_t i = sections[s].first + 1; i < sections[s].second; ++i)
            if (strip(lines[i]) == kv) return true;
        return false;
    };
    size_t route9 = 0;
    for (size_t s = 0; s < sections.size(); ++s)
        if (header(s) == "[route]" && has(s, "layers=-9")) route9 = s;
    if (route9 == 0 || route9 + 3 >= sections.size() || header(route9 + 1) != "[convolutional]" ||
        !has(route9 + 1, "filters=64") || header(route9 + 2) != "[reorg]" || header(route9 + 3) != "[route]" ||
        !has(route9 + 3, "layers=-1,-4"))
        throw std::runtime_error("yolov2-voc.cfg does not have the expected passthrough sections");

    std::ostringstream out;
    out << "# yolov2-voc.cfg with the 2016 paper-era passthrough (no 1x1 conv before [reorg])\n";
    for (size_t s = 0; s < sections.size(); ++s) {
        if (s == route9 + 1) continue;  // the 64-filter 1x1 convolution
        if (s == 0)
            for (size_t i = 0; i < sections[0].first; ++i) out << lines[i] << '\n';
        for (size_t i = sections[s].first; i < sections[s].second; ++i) {
            if (s == route9 + 3 && strip(lines[i]) == "layers=-1,-4")
                out << "layers=-1,-3\n";
            else
                out << lines[i] << '\n';
        }
    }
    return out.str();
}

// A cfg by key: a file darknet ships, or the generated paper-era variant (written into tmp).
std::string cfg_path(const std::string& key, const TempDir& tmp) {
    if (key == "yolov2-voc-paper") {
        const std::string p = tmp.file("yolov2-voc-paper.cfg");
        write_file(p, paper_passthrough_cfg());
        return p;
    }
    return darknet_cfg(key + ".cfg");
}

// ---- comparison ---------------------------------------------------------------------------

struct Comparison {
    float max_diff = 0, max_value = 0;
    float ratio() const { return max_value > 0 ? max_diff / max_value : max_diff; }
    bool ok() const { return max_diff <= kRelTolerance * max_value; }
};

Comparison compare(const std::vector<float>& ours, const std::vector<float>& theirs) {
    Comparison c;
    if (ours.size() != theirs.size()) {
        c.max_diff = INFINITY;
        return c;
    }
    c.max_value = max_abs(theirs.data(), theirs.size());
    c.max_diff = max_abs_diff(ours.data(), theirs.data(), ours.size());
    return c;
}

std::string format_ratio(float r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", double(r));
    return buf;
}

// After a mismatch: every layer's output, ours (oneDNN, keep_outputs) against darknet's,
// to name the first layer that disagrees.
std::string per_layer_report(const Network& net, DarknetNet& dn, const std::vector<float>& input, int batch) {
    auto exec = make_executor(net, "onednn", {.batch = batch, .keep_outputs = true});
    exec->forward(input.data());
    std::ostringstream s;
    s << "per-layer comparison (oneDNN vs libdarknet):\n";
    int first_bad = -1;
    for (int i = 0; i < net.size() && i < dn.layers(); ++i) {
        const std::vector<float> ours = exec->layer_output(i);
        const std::vector<float> theirs = dn.layer_output(i);
        const Comparison c = compare(ours, theirs);
        s << "  layer " << i << " " << net.layer(i).type() << " " << net.layer(i).output_shape().str() << ": ";
        if (ours.size() != theirs.size())
            s << "size " << ours.size() << " vs darknet " << theirs.size();
        else
            s << "max|diff| " << c.max_diff << " max|value| " << c.max_value << " ratio " << format_ratio(c.ratio());
        if (!c.ok() && first_bad < 0) {
            first_bad = i;
            s << "   <== first mismatch";
            // Where inside the layer: the first few differing positions.
            if (ours.size() == theirs.size()) {
                const Shape sh = net.layer(i).output_shape();
                int shown = 0;
                for (size_t k = 0; k < ours.size() && shown < 5; ++k)
                    if (std::fabs(ours[k] - theirs[k]) > kRelTolerance * c.max_value) {
                        const size_t per = sh.size(), hw = size_t(sh.h) * sh.w;
                        s << "\n      [n=" << k / per << " c=" << (k % per) / hw << " y=" << (k % hw) / sh.w
                          << " x=" << k % sh.w << "] ours " << ours[k] << " darknet " << theirs[k];
                        ++shown;
                    }
            }
        }
        s << '\n';
    }
    return s.str();
}

// ---- forward parity -----------------------------------------------------------------------

struct ParityCase {
    std::string cfg;  // key for cfg_path()
    int size;         // width = height
    int batch;
    onednn::ConvAlgorithm conv = onednn::ConvAlgorithm::fast;  // the default (Winograd on 3x3) or --direct-conv
};

std::string case_name(const ParityCase& c) {
    return test_name(c.cfg + "_" + std::to_string(c.size) + (c.batch > 1 ? "_batch" + std::to_string(c.batch) : "") +
                     (c.conv == onednn::ConvAlgorithm::direct ? "_direct" : ""));
}

void PrintTo(const ParityCase& c, std::ostream* os) { *os << case_name(c); }

class DarknetForwardParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(DarknetForwardParity, OneDnnOutputMatchesLibdarknet) {
    const ParityCase& pc = GetParam();
    TempDir tmp;
    const std::string cfg = cfg_path(pc.cfg, tmp);
    const auto t0 = std::chrono::steady_clock::now();

    Network net = Network::from_cfg_file(cfg, {.width = pc.size, .height = pc.size});
    randomize_weights(net, 1234 + pc.size);
    const std::string weights = tmp.file("random.weights");
    net.save_weights(weights);

    const Shape in = net.input_shape();
    const int out_layer = net.output_layer();
    const size_t out_per_image = net.layer(out_layer).output_shape().size();
    const std::vector<float> input = random_vector(size_t(pc.batch) * in.size(), 99 + pc.batch, 0.f, 1.f);

    auto exec = make_executor(net, "onednn", {.batch = pc.batch, .settings = onednn::settings(pc.conv)});
    exec->forward(input.data());
    const std::vector<float> ours(exec->output(), exec->output() + size_t(pc.batch) * out_per_image);
    const auto t1 = std::chrono::steady_clock::now();

    const std::string dn_cfg = tmp.file("darknet.cfg");
    write_darknet_cfg(cfg, dn_cfg, pc.size, pc.size, pc.batch);
    DarknetNet dn(dn_cfg, weights, pc.batch);
    ASSERT_EQ(dn.layers(), net.size()) << "layer count";
    ASSERT_EQ(dn.output_layer(), out_layer) << "output layer";
    ASSERT_EQ(dn.input_size(), in.size()) << "input size";
    ASSERT_EQ(dn.output_size(), out_per_image) << "output size";
    ASSERT_EQ(dn.batch(), pc.batch);
    const std::vector<float> theirs = dn.predict(input.data());
    const auto t2 = std::chrono::steady_clock::now();

    const Comparison c = compare(ours, theirs);
    const std::string label = (pc.cfg == "yolov2-voc-paper" ? std::string("yolov2-voc-paper(generated)") : pc.cfg + ".cfg") +
                              "@" + std::to_string(pc.size) + (pc.batch > 1 ? " batch " + std::to_string(pc.batch) : "") +
                              (pc.conv == onednn::ConvAlgorithm::direct ? " direct conv" : " Winograd");
    using ms = std::chrono::duration<double, std::milli>;
    std::cout << "parity " << label << ": max|diff|/max|value| = " << format_ratio(c.ratio())
              << " (max|diff| " << c.max_diff << ", max|value| " << c.max_value << "; yolo9k "
              << int(ms(t1 - t0).count()) << " ms, darknet " << int(ms(t2 - t1).count()) << " ms)" << std::endl;
    RecordProperty("max_abs_diff_over_max_abs", format_ratio(c.ratio()));
    EXPECT_TRUE(c.ok()) << label << ": max|diff| " << c.max_diff << " > " << kRelTolerance << " x max|value| "
                        << c.max_value << "\n"
                        << per_layer_report(net, dn, input, pc.batch);
}

INSTANTIATE_TEST_SUITE_P(Cfgs, DarknetForwardParity,
                         ::testing::Values(ParityCase{"yolov2-voc", 416, 1},         //
                                           ParityCase{"yolov2-tiny-voc", 416, 1},    //
                                           ParityCase{"yolov2-tiny-voc", 416, 2},    //
                                           ParityCase{"yolov2", 416, 1},             //
                                           ParityCase{"yolov2", 608, 1},             //
                                           ParityCase{"darknet19_448", 448, 1},      //
                                           ParityCase{"darknet19", 224, 1},          //
                                           ParityCase{"tiny", 224, 1},               //
                                           ParityCase{"yolov2-tiny", 416, 1},        //
                                           ParityCase{"yolov2-voc-paper", 416, 1}),  //
                         [](const auto& info) { return case_name(info.param); });

// The generated paper-era cfg has the shape the 2016 network had.
TEST(DarknetPaperPassthrough, GeneratedCfgHasReorgOn26x26x512) {
    TempDir tmp;
    const std::string cfg = cfg_path("yolov2-voc-paper", tmp);
    Network net = Network::from_cfg_file(cfg);
    ASSERT_EQ(net.size(), 31);
    EXPECT_EQ(net.layer(25).type(), "route");
    EXPECT_EQ(net.layer(25).sources(), std::vector<int>{16});
    EXPECT_EQ(net.layer(25).output_shape(), (Shape{512, 26, 26}));
    EXPECT_EQ(net.layer(26).type(), "reorg");
    EXPECT_EQ(net.layer(26).output_shape(), (Shape{2048, 13, 13}));
    EXPECT_EQ(net.layer(27).type(), "route");
    EXPECT_EQ(net.layer(27).sources(), (std::vector<int>{26, 24}));
    EXPECT_EQ(net.layer(27).output_shape(), (Shape{3072, 13, 13}));
    EXPECT_EQ(net.layer(28).input_shape(), (Shape{3072, 13, 13}));
    EXPECT_EQ(net.layer(29).output_shape(), (Shape{125, 13, 13}));
    EXPECT_EQ(net.layer(30).type(), "region");

    DarknetNet dn(cfg, "");
    ASSERT_EQ(dn.layers(), 31);
    EXPECT_EQ(dn.layer_out_c(26), 2048);
    EXPECT_EQ(dn.layer_out_h(26), 13);
    EXPECT_EQ(dn.layer_out_c(27), 3072);
}

// ---- .weights interop ---------------------------------------------------------------------

// Where two byte strings first differ, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    std::ostringstream s;
    s << "sizes " << a.size() << " vs " << b.size();
    if (i < n || a.size() != b.size()) s << ", first difference at byte " << i;
    return s.str();
}

class DarknetWeightsInterop : public ::testing::TestWithParam<std::string> {};

TEST_P(DarknetWeightsInterop, FilesAreByteIdenticalBothWays) {
    TempDir tmp;
    const std::string cfg = cfg_path(GetParam(), tmp);
    Network net = Network::from_cfg_file(cfg);
    randomize_weights(net, 4321);
    net.header().seen = 0x123456789ull;  // exercises the 64-bit `seen`
    const std::string ours = tmp.file("ours.weights");
    net.save_weights(ours);
    const std::string ours_bytes = read_file(ours);
    ASSERT_EQ(ours_bytes.size(), net.weights_file_bytes());

    // darknet reads our file and writes it back: same bytes.
    {
        const std::string dn_cfg = tmp.file("darknet.cfg");
        write_darknet_cfg(cfg, dn_cfg, net.params().width, net.params().height, 1);
        DarknetNet dn(dn_cfg, ours);
        const std::string theirs = tmp.file("darknet.weights");
        dn.save_weights(theirs);
        const std::string theirs_bytes = read_file(theirs);
        EXPECT_TRUE(theirs_bytes == ours_bytes) << "darknet's save_weights after loading ours: "
                                                << first_difference(ours_bytes, theirs_bytes);
    }
    // We read our file (as darknet wrote it, byte for byte) and write it back: same bytes.
    {
        Network again = Network::from_cfg_file(cfg);
        again.load_weights(ours);
        EXPECT_EQ(again.header().seen, 0x123456789ull);
        const std::string round = tmp.file("round.weights");
        again.save_weights(round);
        const std::string round_bytes = read_file(round);
        EXPECT_TRUE(round_bytes == ours_bytes) << "load -> save round trip: " << first_difference(ours_bytes, round_bytes);
    }
}

INSTANTIATE_TEST_SUITE_P(Cfgs, DarknetWeightsInterop,
                         // Every weight layout these cfgs use (conv with and without batch norm, layers without
                         // weights between them); yolov2 and the paper variant add only more of the same.
                         ::testing::Values("yolov2-voc", "yolov2-tiny-voc", "darknet19_448", "yolov2-tiny"),
                         [](const auto& info) { return test_name(info.param); });

}  // namespace
