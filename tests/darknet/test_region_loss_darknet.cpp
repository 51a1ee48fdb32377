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
#include "tree/word_tree.h"

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
    if (size_t(net->inputs) * net->batch != input.size()) {  // the copy below would overrun
        ADD_FAILURE() << "darknet input " << size_t(net->inputs) * net->batch << " floats, ours " << input.size();
        free_network(net);
        return {};
    }
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

// YOLO9000's case: a [region] with tree= (a 9-node, 4-group tree), detection images (leaf,
// inner-node and root labels) and classification-only images, which darknet marks by a
// truth with x and y above 100000.
//
// Debian's libdarknet is a CPU build, and its CPU [region] tree softmax is wrong: parse_region
// never sets `temperature` (0: every class output NaN), and forward_region_layer offsets the
// groups by entries, not by entries x cells, so it computes the right softmax only for a 1x1
// grid with one anchor (elsewhere it writes into the box entries and leaves raw inputs in
// the class entries). So: temperature is set to 1, our tree_softmax is compared with
// darknet's where darknet's is right (1x1, one anchor), and the loss is compared as a
// function of darknet's own activations (its box sizes included: darknet reads w, h from its
// output, we from the raw input, so the input we pass holds darknet's w, h outputs).
const char* kOracleTree = "animal -1\nplant -1\ndog 0\ncat 0\nbird 0\ntree 1\ngrass 1\nterrier 2\nhound 2\n";
constexpr int kTreeClasses = 9, kTreeBatch = 4;

struct TreeCase {
    const char* name;
    int w, h, num;
};
void PrintTo(const TreeCase& c, std::ostream* os) { *os << c.name; }

std::string tree_cfg_text(const TreeCase& c, const std::string& tree_file) {
    std::ostringstream s;
    s << "[net]\nbatch=" << kTreeBatch << "\nsubdivisions=1\nwidth=" << c.w << "\nheight=" << c.h
      << "\nchannels=" << c.num * (5 + kTreeClasses) << "\n\n[region]\nanchors = " << (c.num == 1 ? "0.9,1.2" : "0.9,1.2, 2.5,1.8")
      << "\nbias_match=1\nclasses=" << kTreeClasses << "\ncoords=4\nnum=" << c.num
      << "\nsoftmax=1\njitter=.2\nrescore=1\nobject_scale=5\nnoobject_scale=1.5\nclass_scale=1.3\ncoord_scale=0.7"
      << "\nthresh=.45\nrandom=0\n";
    if (!tree_file.empty()) s << "tree=" << tree_file << "\n";
    return s.str();
}

class RegionLossDarknetTree : public ::testing::TestWithParam<TreeCase> {};

TEST_P(RegionLossDarknetTree, TreeClassesAndClassificationOnlyImagesMatchLibdarknet) {
    const TreeCase& c = GetParam();
    test::TempDir dir;
    const std::string tree_path = dir.file("small.tree");
    test::write_file(tree_path, kOracleTree);
    const std::string dn_cfg = dir.file("tree.cfg");
    test::write_file(dn_cfg, tree_cfg_text(c, tree_path));
    // Our layer: the same [region], its tree attached.
    const std::string our_cfg = dir.file("ours.cfg");
    test::write_file(our_cfg, tree_cfg_text(c, ""));
    Network net = Network::from_cfg_file(our_cfg);
    RegionLayer region = dynamic_cast<const RegionLayer&>(net.layer(0));
    region.tree = std::make_shared<const WordTree>(load_word_tree(tree_path));
    region.tree_file = tree_path;

    const size_t per_image = region.output_shape().size();
    const int cells = c.w * c.h, entries = 5 + kTreeClasses;
    const std::vector<float> input = test::random_vector(kTreeBatch * per_image, 4321, -2.5f, 2.5f);
    // Image 0: truths labelled with a leaf, an inner node and a root (two in one cell);
    // image 1: classification-only "hound" (a leaf, depth 2); image 2: detection; image 3:
    // classification-only "plant" (a root).
    std::vector<std::vector<TruthBox>> truths(kTreeBatch);
    truths[0] = {{8, .30f, .40f, .35f, .50f}, {2, .70f, .20f, .20f, .25f}, {1, .72f, .22f, .5f, .45f}, {6, .1f, .9f, .15f, .1f}};
    truths[2] = {{7, .55f, .55f, .6f, .7f}, {4, .12f, .3f, .1f, .12f}};
    const std::vector<int> image_classes = {-1, 8, -1, 1};

    // darknet: same input, truths in its buffer (classification-only: x = y = 100001).
    std::string cfg_copy = dn_cfg;
    network* dn = parse_network_cfg(cfg_copy.data());
    ASSERT_EQ(size_t(dn->inputs) * dn->batch, input.size());
    dn->layers[0].temperature = 1;
    std::memcpy(dn->input, input.data(), input.size() * sizeof(float));
    std::fill(dn->truth, dn->truth + size_t(dn->truths) * dn->batch, 0.f);
    for (int b = 0; b < kTreeBatch; ++b) {
        float* p = dn->truth + size_t(b) * dn->truths;
        if (image_classes[b] >= 0) {
            p[0] = p[1] = 100001.f, p[2] = p[3] = 1.f, p[4] = float(image_classes[b]);
            continue;
        }
        for (size_t t = 0; t < truths[b].size(); ++t, p += 5) {
            const TruthBox& tb = truths[b][t];
            p[0] = tb.x, p[1] = tb.y, p[2] = tb.w, p[3] = tb.h, p[4] = float(tb.class_id);
        }
    }
    *dn->seen = 100000;
    dn->train = 1;
    std::fflush(stdout);
    testing::internal::CaptureStdout();
    forward_network(dn);
    std::fflush(stdout);
    const std::string console = testing::internal::GetCapturedStdout();
    const layer& l = dn->layers[0];
    const std::vector<float> output(l.output, l.output + size_t(l.outputs) * l.batch);
    const std::vector<float> delta(l.delta, l.delta + size_t(l.outputs) * l.batch);
    free_network(dn);

    if (cells * c.num == 1) {  // where darknet's CPU tree softmax is right: ours gives the same
        for (int b = 0; b < kTreeBatch; ++b) {
            float mine[kTreeClasses];
            tree_softmax(*region.tree, input.data() + b * per_image + 5, mine, 1);
            EXPECT_LE(test::max_abs_diff(mine, output.data() + b * per_image + 5, kTreeClasses), 1e-6f) << "image " << b;
        }
    }
    std::vector<float> loss_input = input;  // darknet's w, h outputs where it reads them
    for (size_t k = 0; k < input.size(); ++k)
        if (const int entry = int(k / cells) % entries; entry == 2 || entry == 3) loss_input[k] = output[k];

    std::vector<float> grad(input.size());
    const RegionLossStats st =
        region_loss(region, loss_input.data(), output.data(), truths, kTreeBatch, 100000, grad.data(), image_classes);
    double max_abs = 0, max_rel = 0;
    int active = 0;
    for (size_t k = 0; k < grad.size(); ++k) {
        const int entry = int(k / cells) % entries;
        const float o = output[k];
        const double mine = entry == 0 || entry == 1 || entry == 4 ? -double(grad[k]) / (double(o) * (1 - o)) : -grad[k];
        const double err = std::abs(mine - delta[k]);
        max_abs = std::max(max_abs, err);
        max_rel = std::max(max_rel, err / std::max(std::abs(double(delta[k])), 1e-3));
        active += delta[k] != 0;
        EXPECT_LE(err, 1e-4 * std::max(std::abs(double(delta[k])), 1e-2))
            << "image " << k / per_image << " anchor " << (k % per_image) / (cells * entries) << " entry " << entry
            << " cell " << k % cells << ": ours " << mine << " darknet " << delta[k];
    }
    std::printf("[ region loss vs darknet ] tree, %s: max |delta diff| %.2e, max relative %.2e, %d active deltas\n",
                c.name, max_abs, max_rel, active);
    // The classification-only images got class deltas, not only "no object".
    for (int b : {1, 3}) {
        int class_deltas = 0;
        for (size_t k = b * per_image; k < (b + 1) * per_image; ++k)
            class_deltas += int(k / cells) % entries >= 5 && delta[k] != 0;
        EXPECT_GT(class_deltas, 0) << "image " << b;
    }

    float iou, cls, obj, noobj, recall;
    int count;
    const size_t at = console.find("Region Avg IOU");
    ASSERT_NE(at, std::string::npos) << console;
    ASSERT_EQ(std::sscanf(console.c_str() + at,
                          "Region Avg IOU: %f, Class: %f, Obj: %f, No Obj: %f, Avg Recall: %f, count: %d", &iou, &cls,
                          &obj, &noobj, &recall, &count),
              6)
        << console;
    EXPECT_EQ(st.count, count);
    EXPECT_EQ(st.class_count, count + 2);
    EXPECT_NEAR(st.avg_iou, iou, 2e-6);
    EXPECT_NEAR(st.avg_class, cls, 2e-6);
    EXPECT_NEAR(st.avg_obj, obj, 2e-6);
    EXPECT_NEAR(st.avg_noobj, noobj, 2e-6);
    EXPECT_NEAR(st.recall50, recall, 2e-6);
}

INSTANTIATE_TEST_SUITE_P(Cases, RegionLossDarknetTree,
                         ::testing::Values(TreeCase{"grid4x3_2anchors", 4, 3, 2}, TreeCase{"grid1x1_1anchor", 1, 1, 1}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
