// `bench --train --layers`: the training executor's per-layer, per-phase profile. Every
// convolution phase the oneDNN kernel marks gets time, the first layer has no data-gradient
// pass, unmarked work lands in "other", and the phases add up to about the unprofiled passes.
#include <gtest/gtest.h>

#include "network/network.h"
#include "perf/train_bench.h"
#include "support/training_fixtures.h"

namespace yolo9k {
namespace {

double phase(const perf::TrainLayerTime& l, TrainPhase p) { return l.ms[size_t(p)]; }

TEST(TrainProfile, EveryConvolutionPhaseIsTimedAndThePhasesAddUpToThePasses) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 1);
    const std::string cfg = dir.file("tiny.cfg");
    const perf::TrainBenchResult r =
        perf::bench_training({.cfg = cfg, .size = 64, .batch = 2, .iterations = 3, .threads = 1, .layers = true});
    const Network net = Network::from_cfg_file(cfg, {.width = 64, .height = 64});
    ASSERT_EQ(int(r.layers.size()), net.size());
    int convolutions = 0;
    double profiled = 0;
    for (const perf::TrainLayerTime& l : r.layers) {
        SCOPED_TRACE("layer " + std::to_string(l.layer) + " " + l.type);
        profiled += l.total_ms();
        if (l.type != "convolutional") {
            EXPECT_EQ(phase(l, TrainPhase::conv_forward), 0);
            EXPECT_EQ(phase(l, TrainPhase::backward_weights), 0);
            EXPECT_EQ(l.conv_gflop, 0);
            continue;
        }
        ++convolutions;
        EXPECT_GT(l.conv_gflop, 0);
        EXPECT_GT(phase(l, TrainPhase::conv_forward), 0);
        EXPECT_GT(phase(l, TrainPhase::bn_activation_backward), 0);
        EXPECT_GT(phase(l, TrainPhase::backward_weights), 0);
        if (l.layer == 0) {
            EXPECT_FALSE(l.input_gradient);
            EXPECT_EQ(phase(l, TrainPhase::backward_data), 0);  // the image needs no gradient
        } else {
            EXPECT_GT(phase(l, TrainPhase::backward_data), 0);
        }
    }
    EXPECT_GE(convolutions, 2);
    // Against the wall time of the same profiled passes (not the separately timed steps: on a
    // loaded machine CI saw those differ 6x): the marks lie inside the passes, so their sum
    // cannot exceed them (a double count would), and they cover the layers' work, so they
    // hold most of it (a missed pass would leave half or more out).
    const double passes = r.profiled_passes_ms;
    EXPECT_LE(profiled, passes * 1.01 + 0.05) << "profiled " << profiled << " ms, passes " << passes << " ms";
    EXPECT_GT(profiled, passes * 0.6) << "profiled " << profiled << " ms, passes " << passes << " ms";
}

// The reference backend's kernels mark nothing: all of a layer's time is its "other" time.
TEST(TrainProfile, AKernelThatMarksNothingIsTimedAsOther) {
    test::TempDir dir;
    test::write_shapes_dataset(dir, 1);
    const perf::TrainBenchResult r = perf::bench_training(
        {.cfg = dir.file("tiny.cfg"), .size = 32, .batch = 1, .iterations = 1, .threads = 1, .backend = "reference", .layers = true});
    ASSERT_FALSE(r.layers.empty());
    const perf::TrainLayerTime& first = r.layers.front();
    EXPECT_EQ(first.type, "convolutional");
    EXPECT_EQ(phase(first, TrainPhase::conv_forward), 0);
    EXPECT_GT(phase(first, TrainPhase::other_forward), 0);
    EXPECT_GT(phase(first, TrainPhase::other_backward), 0);
    EXPECT_NEAR(first.total_ms(), phase(first, TrainPhase::other_forward) + phase(first, TrainPhase::other_backward), 1e-9);
}

}  // namespace
}  // namespace yolo9k
