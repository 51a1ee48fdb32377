// Wiring of the side-by-side baselines on a one-layer net whose answer is known by hand
// (a 1x1 linear conv), so shapes, NCHW order, batch and width/height are all checked
// without a real model. darknet parts skip when libdarknet is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "perf/baselines.h"

using namespace yolo9k::perf;
namespace fs = std::filesystem;

namespace {

constexpr int kCin = 3, kCout = 4;

// A [net] + one 1x1 linear [convolutional] cfg and matching weights in a fresh temp dir.
struct TinyNet {
    fs::path dir, cfg, weights;
    std::vector<float> bias, w;  // w[o * kCin + c]

    TinyNet(int cfg_width, int cfg_height) {
        dir = fs::temp_directory_path() /
              ("yolo9k_perf_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
        fs::create_directories(dir);
        cfg = dir / "tiny.cfg";
        weights = dir / "tiny.weights";
        std::ofstream(cfg) << "[net]\nbatch=1\nsubdivisions=1\nwidth=" << cfg_width
                           << "\nheight=" << cfg_height << "\nchannels=" << kCin
                           << "\n\n[convolutional]\nfilters=" << kCout
                           << "\nsize=1\nstride=1\npad=0\nactivation=linear\n";
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (int o = 0; o < kCout; ++o) bias.push_back(u(rng));
        for (int i = 0; i < kCout * kCin; ++i) w.push_back(u(rng));
        std::ofstream out(weights, std::ios::binary);
        const int header[3] = {0, 2, 0};
        const std::uint64_t seen = 0;
        out.write(reinterpret_cast<const char*>(header), sizeof header);
        out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
        out.write(reinterpret_cast<const char*>(bias.data()), bias.size() * sizeof(float));
        out.write(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
    }
    ~TinyNet() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::vector<float> expected(const std::vector<float>& in, int batch, int width, int height) const {
        const int plane = width * height;
        std::vector<float> out(static_cast<std::size_t>(batch) * kCout * plane);
        for (int b = 0; b < batch; ++b)
            for (int o = 0; o < kCout; ++o)
                for (int p = 0; p < plane; ++p) {
                    float acc = bias[o];
                    for (int c = 0; c < kCin; ++c)
                        acc += w[o * kCin + c] * in[(static_cast<std::size_t>(b) * kCin + c) * plane + p];
                    out[(static_cast<std::size_t>(b) * kCout + o) * plane + p] = acc;
                }
        return out;
    }
};

void expect_close(std::span<const float> got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f) << "at " << i;
}

}  // namespace

TEST(PerfBaselines, SyntheticInputIsDeterministicAndInUnitRange) {
    const auto a = synthetic_input(2, 3, 5, 4);
    const auto b = synthetic_input(2, 3, 5, 4);
    ASSERT_EQ(a.size(), 2u * 3 * 5 * 4);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, synthetic_input(2, 3, 5, 4, 1));
    for (float v : a) {
        EXPECT_GE(v, 0.0f);
        EXPECT_LT(v, 1.0f);
    }
    // The first image of a batch equals a batch of one: batch sizes share a prefix.
    const auto one = synthetic_input(1, 3, 5, 4);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), a.begin()));
    EXPECT_THROW(synthetic_input(0, 3, 5, 4), yolo9k::Error);
}

TEST(PerfBaselines, OpenCvDnnMatchesHandComputedConv) {
    TinyNet net(8, 6);
    auto cv = make_opencv_dnn_baseline(1);
    EXPECT_EQ(cv->name(), "opencv-dnn");
    EXPECT_TRUE(cv->available(nullptr));
    EXPECT_TRUE(cv->output().empty());
    EXPECT_THROW(cv->forward(nullptr), yolo9k::Error);  // before load

    const int batch = 2, width = 10, height = 7;  // not the cfg's size: the blob decides
    cv->load(net.cfg, net.weights, batch, width, height);
    const auto in = synthetic_input(batch, kCin, width, height);
    cv->forward(in.data());
    EXPECT_EQ(cv->output_shape(), (std::vector<int>{batch, kCout, height, width}));
    expect_close(cv->output(), net.expected(in, batch, width, height));
}

TEST(PerfBaselines, DarknetMatchesHandComputedConv) {
    TinyNet net(8, 6);
    auto dn = make_darknet_baseline();
    EXPECT_EQ(dn->name(), "darknet");
    std::string why;
    if (!dn->available(&why)) GTEST_SKIP() << why;

    // Larger batch and another size than the cfg: exercises the reallocation path.
    const int batch = 3, width = 10, height = 7;
    dn->load(net.cfg, net.weights, batch, width, height);
    EXPECT_NE(darknet_load_log(*dn), "");  // quiet mode kept darknet's layer table
    const auto in = synthetic_input(batch, kCin, width, height);
    dn->forward(in.data());
    EXPECT_EQ(dn->output_shape(), (std::vector<int>{batch, kCout * width * height}));
    expect_close(dn->output(), net.expected(in, batch, width, height));

    // Back to the cfg's own size at batch 1.
    dn->load(net.cfg, net.weights, 1, 8, 6);
    const auto in1 = synthetic_input(1, kCin, 8, 6);
    dn->forward(in1.data());
    expect_close(dn->output(), net.expected(in1, 1, 8, 6));
}

TEST(PerfBaselines, MissingLibraryAndFilesAreReportedNotFatal) {
    auto dn = make_darknet_baseline({.library = "/nonexistent/libdarknet.so"});
    std::string why;
    EXPECT_FALSE(dn->available(&why));
    EXPECT_NE(why.find("/nonexistent/libdarknet.so"), std::string::npos) << why;
    EXPECT_THROW(dn->load("a.cfg", "a.weights", 1, 32, 32), yolo9k::Error);

    auto cv = make_opencv_dnn_baseline(1);
    try {
        cv->load("/nonexistent/x.cfg", "/nonexistent/x.weights", 1, 32, 32);
        FAIL() << "load of a missing cfg did not throw";
    } catch (const yolo9k::Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/x.cfg"), std::string::npos) << e.what();
    }

    const auto runs = run_baselines("/nonexistent/x.cfg", "/nonexistent/x.weights",
                                    {.engines = {"opencv-dnn", "darknet", "tflite"}});
    ASSERT_EQ(runs.size(), 3u);
    for (const auto& run : runs) {
        EXPECT_FALSE(run.ran) << run.name;
        EXPECT_FALSE(run.why.empty()) << run.name;
    }
}

TEST(PerfBaselines, RunBaselinesTimesEveryAvailableEngine) {
    TinyNet net(8, 6);
    const auto runs = run_baselines(net.cfg, net.weights,
                                    {.batch = 2, .width = 8, .height = 6, .threads = 1,
                                     .timing = {.warmup = 1, .iterations = 3}});
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].name, "opencv-dnn");
    EXPECT_TRUE(runs[0].ran) << runs[0].why;
    EXPECT_EQ(runs[0].timing.samples_ms.size(), 3u);
    EXPECT_EQ(runs[0].output_shape, (std::vector<int>{2, kCout, 6, 8}));
    EXPECT_EQ(runs[1].name, "darknet");
    if (runs[1].ran) EXPECT_EQ(runs[1].output_shape, (std::vector<int>{2, kCout * 8 * 6}));
    else EXPECT_FALSE(runs[1].why.empty());
}
