// The region loss against Debian's libdarknet: the same cfg parsed by both, the same raw
// head input and truths, darknet's training forward (forward_network with net->train = 1)
// run on it; its region layer's deltas and printed statistics compared with ours.
#include <darknet.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "network/network.h"
#include "support/test_support.h"
#include "train/region_loss.h"

namespace {

using namespace yolo9k;

struct OracleCase {
    const char* name;
    bool softmax, bias_match, rescore;
    uint64_t seen;
};
void PrintTo(const OracleCase& c, std::ostream* os) { *os << c.name; }

// Non-square grid (catches W/H mix-ups), 3 anchors, 4 classes, 2 images.
constexpr int kW = 5, kH = 4, kNum = 3, kClasses = 4, kBatch = 2;

std::string cfg_text(const OracleCase& c) {
    std::ostringstream s;
    s << "[net]\nbatch=" << kBatch << "\nsubdivisions=1\nwidth=" << kW << "\nheight=" << kH
      << "\nchannels=" << kNum * (5 + kClasses) << "\n\n[region]\nanchors = 0.8,1.1, 2.2,1.6, 3.9,3.5\n"
      << "bias_match=" << c.bias_match << "\nclasses=" << kClasses << "\ncoords=4\nnum=" << kNum
      << "\nsoftmax=" << c.softmax << "\njitter=.2\nrescore=" << c.rescore
      << "\nobject_scale=5\nnoobject_scale=1.5\nclass_scale=1.3\ncoord_scale=0.7\nthresh=.45\nrandom=0\n";
    return s.str();
}

// Random boxes, plus two truths sharing a cell (different classes, similar shapes, so
// usually one slot: darknet's later-wins and multi-label rules).
std::vector<std::vector<TruthBox>> make_truths(uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pos(.02f, .98f), size(.08f, .9f);
    std::vector<std::vector<TruthBox>> truths(kBatch);
    for (int b = 0; b < kBatch; ++b) {
        for (int k = 0; k < 6 + b; ++k) truths[b].push_back({int(rng() % kClasses), pos(rng), pos(rng), size(rng), size(rng)});
        truths[b].push_back({0, .51f, .52f, .30f, .35f});
        truths[b].push_back({3, .55f, .56f, .32f, .33f});
    }
    return truths;
}

struct DarknetRun {
    std::vector<float> output, delta;
    std::string console;
};

DarknetRun run_darknet(const std::string& cfg, const std::vector<float>& input,
                       const std::vector<std::vector<TruthBox>>& truths, uint64_t seen) {
    std::string path = cfg;
    network* net = parse_network_cfg(path.data());
    EXPECT_EQ(net->n, 1);
    EXPECT_EQ(size_t(net->inputs) * net->batch, input.size());
    std::memcpy(net->input, input.data(), input.size() * sizeof(float));
    // darknet's truth layout: per image `truths` floats of (x, y, w, h, class), ended by x = 0.
    std::fill(net->truth, net->truth + size_t(net->truths) * net->batch, 0.f);
    for (int b = 0; b < kBatch; ++b)
        for (size_t t = 0; t < truths[b].size(); ++t) {
            float* p = net->truth + size_t(b) * net->truths + t * 5;
            const TruthBox& tb = truths[b][t];
            p[0] = tb.x, p[1] = tb.y, p[2] = tb.w, p[3] = tb.h, p[4] = float(tb.class_id);
        }
    *net->seen = seen;
    net->train = 1;
    std::fflush(stdout);
    testing::internal::CaptureStdout();
    forward_network(net);
    std::fflush(stdout);
    DarknetRun run;
    run.console = testing::internal::GetCapturedStdout();
    const layer& l = net->layers[0];
    run.output.assign(l.output, l.output + size_t(l.outputs) * l.batch);
    run.delta.assign(l.delta, l.delta + size_t(l.outputs) * l.batch);
    free_network(net);
    return run;
}

class RegionLossDarknet : public ::testing::TestWithParam<OracleCase> {};

TEST_P(RegionLossDarknet, DeltasAndStatsMatchLibdarknet) {
    const OracleCase& c = GetParam();
    test::TempDir dir;
    const std::string cfg = dir.file("region.cfg");
    test::write_file(cfg, cfg_text(c));
    Network net = Network::from_cfg_file(cfg);
    ASSERT_EQ(net.size(), 1);
    const auto& region = dynamic_cast<const RegionLayer&>(net.layer(0));

    const size_t per_image = region.output_shape().size();
    const std::vector<float> input = test::random_vector(kBatch * per_image, 1234 + c.seen, -2.5f, 2.5f);
    const auto truths = make_truths(99);
    ASSERT_LE(truths[1].size(), 30u) << "darknet reads at most 30 truths per image";

    std::vector<float> output(input.size()), grad(input.size());
    const float* in = input.data();
    region.forward_reference(std::span<const float* const>(&in, 1), output.data(), kBatch);
    const RegionLossStats st = region_loss(region, input.data(), output.data(), truths, kBatch, c.seen, grad.data());
    const DarknetRun dn = run_darknet(cfg, input, truths, c.seen);

    ASSERT_EQ(dn.output.size(), output.size());
    EXPECT_LE(test::max_abs_diff(dn.output.data(), output.data(), output.size()), 1e-6f);

    // Our gradient back in darknet's convention: delta = -grad / σ' on the logistic
    // entries (x, y, objectness), -grad elsewhere (w, h, classes).
    const int cells = kW * kH, entries = 5 + kClasses;
    double max_rel = 0, max_abs = 0;
    int active = 0;
    for (size_t k = 0; k < grad.size(); ++k) {
        const int entry = int(k / cells) % entries;
        const float o = output[k];
        const double mine = entry == 0 || entry == 1 || entry == 4 ? -double(grad[k]) / (double(o) * (1 - o)) : -grad[k];
        const double ref = dn.delta[k];
        const double err = std::abs(mine - ref);
        max_abs = std::max(max_abs, err);
        max_rel = std::max(max_rel, err / std::max(std::abs(ref), 1e-3));
        active += ref != 0;
        EXPECT_LE(err, 1e-4 * std::max(std::abs(ref), 1e-2))
            << c.name << ": image " << k / per_image << " anchor " << (k % per_image) / (cells * entries) << " entry "
            << entry << " cell " << k % cells << ": ours " << mine << " darknet " << ref;
    }
    std::printf("[ region loss vs darknet ] %s: max |delta diff| %.2e, max relative %.2e, %d active deltas\n", c.name,
                max_abs, max_rel, active);

    // "Region Avg IOU: %f, Class: %f, Obj: %f, No Obj: %f, Avg Recall: %f,  count: %d"
    float iou, cls, obj, noobj, recall;
    int count;
    const size_t at = dn.console.find("Region Avg IOU");
    ASSERT_NE(at, std::string::npos) << dn.console;
    ASSERT_EQ(std::sscanf(dn.console.c_str() + at,
                          "Region Avg IOU: %f, Class: %f, Obj: %f, No Obj: %f, Avg Recall: %f, count: %d", &iou, &cls,
                          &obj, &noobj, &recall, &count),
              6)
        << dn.console;
    EXPECT_EQ(st.count, count);
    EXPECT_NEAR(st.avg_iou, iou, 2e-6);
    EXPECT_NEAR(st.avg_class, cls, 2e-6);
    EXPECT_NEAR(st.avg_obj, obj, 2e-6);
    EXPECT_NEAR(st.avg_noobj, noobj, 2e-6);
    EXPECT_NEAR(st.recall50, recall, 2e-6);
}

INSTANTIATE_TEST_SUITE_P(Cases, RegionLossDarknet,
                         ::testing::Values(OracleCase{"early_softmax_biasmatch", true, true, false, 0},
                                           OracleCase{"late_softmax_biasmatch_rescore", true, true, true, 12800},
                                           OracleCase{"early_predicted_shape_rescore", true, false, true, 6400},
                                           OracleCase{"late_predicted_shape", true, false, false, 50000},
                                           OracleCase{"early_logistic_classes_rescore", false, true, true, 12799},
                                           OracleCase{"late_logistic_classes", false, false, false, 12800}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
