// The YOLOv2 region loss: its gradient against central finite differences of its own loss
// value, and small hand-computed cases (assignment, suppression, loss value, statistics).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "support/test_support.h"
#include "train/region_loss.h"

namespace {

using namespace yolo9k;

struct RegionSetup {
    int grid = 3, num = 2, classes = 3;
    std::vector<float> anchors = {1.2f, 0.9f, 2.5f, 2.8f};
    bool softmax = true, bias_match = true, rescore = false;
    float thresh = .5f;
};

RegionLayer make_region(const RegionSetup& s) {
    RegionLayer l;
    l.classes = s.classes;
    l.num = s.num;
    l.anchors = s.anchors;
    l.softmax = s.softmax;
    l.bias_match = s.bias_match;
    l.rescore = s.rescore;
    l.thresh = s.thresh;
    l.object_scale = 5;
    l.noobject_scale = 1;
    l.class_scale = 1;
    l.coord_scale = 1;
    l.reshape({Shape{s.num * l.entries(), s.grid, s.grid}});
    return l;
}

std::vector<float> activate(const RegionLayer& l, const std::vector<float>& in, int batch) {
    std::vector<float> out(in.size());
    const float* p = in.data();
    l.forward_reference(std::span<const float* const>(&p, 1), out.data(), batch);
    return out;
}

RegionLossStats run(const RegionLayer& l, const std::vector<float>& in, const std::vector<std::vector<TruthBox>>& t,
                    uint64_t seen, std::vector<float>& grad) {
    const int batch = int(t.size());
    grad.assign(in.size(), std::numeric_limits<float>::quiet_NaN());  // must be overwritten
    return region_loss(l, in.data(), activate(l, in, batch).data(), t, batch, seen, grad.data());
}

// Index of entry e of anchor n at cell (i, j) of image b.
size_t at(const RegionLayer& l, int b, int n, int e, int i, int j) {
    const Shape s = l.output_shape();
    return ((size_t(b) * l.num + n) * l.entries() + e) * s.h * s.w + size_t(j) * s.w + i;
}

const std::vector<std::vector<TruthBox>> kTruths = {
    {{0, .30f, .42f, .35f, .50f}, {2, .71f, .80f, .22f, .18f}, {1, .55f, .20f, .60f, .33f}},
    {{1, .12f, .63f, .20f, .55f}, {0, .88f, .35f, .70f, .62f}},
};

struct GradCase {
    const char* name;
    bool softmax, bias_match;
    uint64_t seen;
};
void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

class RegionLossGradient : public ::testing::TestWithParam<GradCase> {};

// With rescore=0 every target is piecewise constant in the input (which slots are
// suppressed, which anchor a truth takes), so the loss is differentiable almost everywhere
// and its true gradient is what region_loss returns: central differences must agree.
TEST_P(RegionLossGradient, MatchesCentralDifferences) {
    const GradCase& c = GetParam();
    RegionSetup s;
    s.softmax = c.softmax;
    s.bias_match = c.bias_match;
    s.thresh = .3f;  // low enough that some slots are suppressed
    const RegionLayer l = make_region(s);
    const int batch = int(kTruths.size());
    std::vector<float> in = test::random_vector(batch * l.output_shape().size(), 7, -1.5f, 1.5f);
    std::vector<float> grad, scratch;
    run(l, in, kTruths, c.seen, grad);

    const float eps = 1e-2f;
    double max_rel = 0;
    int nonzero = 0;
    for (size_t e = 0; e < in.size(); ++e) {
        const float x = in[e];
        in[e] = x + eps;
        const double up = run(l, in, kTruths, c.seen, scratch).loss;
        in[e] = x - eps;
        const double down = run(l, in, kTruths, c.seen, scratch).loss;
        in[e] = x;
        const double fd = (up - down) / (2 * double(eps));
        const double rel = std::abs(fd - grad[e]) / std::max({std::abs(fd), std::abs(double(grad[e])), 1e-3});
        max_rel = std::max(max_rel, rel);
        nonzero += grad[e] != 0;
        EXPECT_LE(rel, 1e-3) << c.name << ": entry " << e << " analytic " << grad[e] << " numeric " << fd;
    }
    EXPECT_GT(nonzero, int(in.size()) / 5) << "the check must cover many active terms";
    std::printf("[ region loss FD ] %s: max relative error %.2e over %zu inputs (%d with a gradient)\n", c.name,
                max_rel, in.size(), nonzero);
}

INSTANTIATE_TEST_SUITE_P(Cases, RegionLossGradient,
                         ::testing::Values(GradCase{"softmax_biasmatch_early", true, true, 0},
                                           GradCase{"softmax_biasmatch_late", true, true, 20000},
                                           GradCase{"softmax_predicted_shape_early", true, false, 100},
                                           GradCase{"logistic_classes_late", false, true, 12800},
                                           GradCase{"logistic_classes_early", false, false, 12799}),
                         [](const auto& info) { return std::string(info.param.name); });

// rescore's objectness target is the IoU of the predicted box, itself a function of the
// box inputs; it is held constant (as darknet does), so only the entries whose terms do not
// involve that IoU (objectness, classes, unassigned slots) match finite differences exactly.
TEST(RegionLoss, RescoreGradientIsExactOffTheBoxEntries) {
    RegionSetup s;
    s.rescore = true;
    const RegionLayer l = make_region(s);
    std::vector<float> in = test::random_vector(2 * l.output_shape().size(), 11, -1.5f, 1.5f);
    std::vector<float> grad, scratch;
    run(l, in, kTruths, 0, grad);
    const float eps = 1e-2f;
    double max_rel = 0;
    for (int b = 0; b < 2; ++b)
        for (int n = 0; n < l.num; ++n)
            for (int e = l.coords; e < l.entries(); ++e)
                for (int j = 0; j < 3; ++j)
                    for (int i = 0; i < 3; ++i) {
                        const size_t k = at(l, b, n, e, i, j);
                        const float x = in[k];
                        in[k] = x + eps;
                        const double up = run(l, in, kTruths, 0, scratch).loss;
                        in[k] = x - eps;
                        const double down = run(l, in, kTruths, 0, scratch).loss;
                        in[k] = x;
                        const double fd = (up - down) / (2 * double(eps));
                        max_rel = std::max(max_rel, std::abs(fd - grad[k]) /
                                                        std::max({std::abs(fd), std::abs(double(grad[k])), 1e-3}));
                    }
    EXPECT_LE(max_rel, 1e-3);
}

// A truth of 0.9 x 0.9 of the image centred in cell (1, 2) of a 3x3 grid. Anchor 1 (3x3
// cells = the whole image) fits its shape best; anchor 0 (1x1 cell) only if its predicted
// size is used and it has been stretched to 2.7 cells.
struct AssignCase {
    bool bias_match;
    int expected_anchor;
};
class RegionLossAssignment : public ::testing::TestWithParam<AssignCase> {};

TEST_P(RegionLossAssignment, TruthGoesToItsCellAndBestAnchor) {
    RegionSetup s;
    s.anchors = {1, 1, 3, 3};
    s.bias_match = GetParam().bias_match;
    const RegionLayer l = make_region(s);
    std::vector<float> in(l.output_shape().size(), 0.f);
    in[at(l, 0, 0, 2, 1, 2)] = in[at(l, 0, 0, 3, 1, 2)] = std::log(2.7f);  // anchor 0 predicts 0.9 x 0.9
    std::vector<float> grad;
    const RegionLossStats st = run(l, in, {{{1, .6f, .8f, .9f, .9f}}}, kRegionPriorWarmupImages, grad);
    const int n = GetParam().expected_anchor;

    // Box: scale coord_scale (2 - w h); x target 0.6*3 - 1 = 0.8 on σ(0) = 0.5.
    const float scale = 2 - .81f;
    EXPECT_NEAR(grad[at(l, 0, n, 0, 1, 2)], scale * (.5f - .8f) * .25f, 1e-6);
    EXPECT_NEAR(grad[at(l, 0, n, 1, 1, 2)], scale * (.5f - (2.4f - 2)) * .25f, 1e-6);
    const float tw = std::log(.9f * 3 / s.anchors[2 * n]);
    EXPECT_NEAR(grad[at(l, 0, n, 2, 1, 2)], scale * (in[at(l, 0, n, 2, 1, 2)] - tw), 1e-6);
    // Objectness toward 1 with object_scale 5; class 1 of a uniform softmax over 3.
    const float o = .5f;
    EXPECT_NEAR(grad[at(l, 0, n, 4, 1, 2)], 5 * (o - 1) * o * (1 - o), 1e-6);
    EXPECT_NEAR(grad[at(l, 0, n, 6, 1, 2)], 1.f / 3 - 1, 1e-6);
    EXPECT_NEAR(grad[at(l, 0, n, 5, 1, 2)], 1.f / 3, 1e-6);
    // After the warm-up no other box entry and no other class entry has a term.
    for (int m = 0; m < l.num; ++m)
        for (int e = 0; e < l.entries(); ++e)
            for (int j = 0; j < 3; ++j)
                for (int i = 0; i < 3; ++i)
                    if (e != 4 && !(m == n && i == 1 && j == 2)) {
                        EXPECT_EQ(grad[at(l, 0, m, e, i, j)], 0.f) << "anchor " << m << " entry " << e;
                    }
    EXPECT_EQ(st.count, 1);
}

INSTANTIATE_TEST_SUITE_P(Cases, RegionLossAssignment,
                         ::testing::Values(AssignCase{true, 1}, AssignCase{false, 0}));

// A 1/3 x 1/3 truth centred in cell (1, 1). Anchor 0 (1x1 cell) takes it; anchor 1 (1.2 x
// 1.2 cells) in the same cell predicts a box with IoU (1/1.2)² = 0.694 with it: no
// no-object term if thresh < 0.694, else the full one.
TEST(RegionLoss, NoObjectTermSuppressedAboveThresh) {
    for (float thresh : {.5f, .7f}) {
        RegionSetup s;
        s.anchors = {1, 1, 1.2f, 1.2f};
        s.thresh = thresh;
        const RegionLayer l = make_region(s);
        std::vector<float> in(l.output_shape().size(), 0.f), grad;
        run(l, in, {{{0, .5f, .5f, 1 / 3.f, 1 / 3.f}}}, 0, grad);
        const float full = 1 * .5f * .25f;  // noobject_scale (o - 0) σ'
        EXPECT_EQ(grad[at(l, 0, 1, 4, 1, 1)], thresh < .694f ? 0.f : full) << "thresh " << thresh;
        EXPECT_FLOAT_EQ(grad[at(l, 0, 0, 4, 0, 0)], full);  // far away: always
        // Prior pull (seen = 0): σ(0) = 0.5 is already the cell centre, t = 0 the prior's size.
        EXPECT_EQ(grad[at(l, 0, 1, 0, 2, 2)], 0.f);
        EXPECT_EQ(grad[at(l, 0, 1, 2, 2, 2)], 0.f);
    }
}

TEST(RegionLoss, PriorPullBeforeWarmupOnly) {
    const RegionLayer l = make_region({});
    std::vector<float> in(l.output_shape().size(), .4f), grad;
    run(l, in, {{}}, kRegionPriorWarmupImages - 1, grad);
    const float s = std::exp(.4f) / (1 + std::exp(.4f));
    EXPECT_NEAR(grad[at(l, 0, 1, 0, 2, 1)], .01f * (s - .5f) * s * (1 - s), 1e-7);
    EXPECT_NEAR(grad[at(l, 0, 1, 3, 2, 1)], .01f * .4f, 1e-7);
    run(l, in, {{}}, kRegionPriorWarmupImages, grad);
    EXPECT_EQ(grad[at(l, 0, 1, 0, 2, 1)], 0.f);
    EXPECT_EQ(grad[at(l, 0, 1, 3, 2, 1)], 0.f);
}

// 1x1 grid, one anchor the truth's exact shape, zero input: the box terms vanish, the
// objectness term is ½·(0.5 - 1)² = 0.125 and the class term log 2 per entropy.
TEST(RegionLoss, LossValueByHand) {
    struct Case {
        bool softmax;
        double expected;
    };
    for (const Case c : {Case{true, .125 + std::log(2.)}, Case{false, .125 + 2 * std::log(2.)}}) {
        RegionSetup s;
        s.grid = 1;
        s.num = 1;
        s.classes = 2;
        s.anchors = {.4f, .6f};
        s.softmax = c.softmax;
        RegionLayer l = make_region(s);
        l.object_scale = 1;
        std::vector<float> in(l.output_shape().size(), 0.f), grad;
        const RegionLossStats st = run(l, in, {{{1, .5f, .5f, .4f, .6f}}}, 1 << 20, grad);
        EXPECT_NEAR(st.loss, c.expected, 1e-6) << "softmax " << c.softmax;
    }
}

TEST(RegionLoss, StatsAsDarknetReportsThem) {
    RegionSetup s;
    s.anchors = {1, 1, 2, 2};
    const RegionLayer l = make_region(s);
    std::vector<float> in(2 * l.output_shape().size(), 0.f), grad;
    // Image 0: a truth exactly anchor 0's prior box (IoU 1). Image 1: a 1.5x1.5-cell truth
    // in cell (0, 0), which anchor 1's 2x2 prior covers with IoU 2.25/4 = 0.5625.
    const RegionLossStats st =
        run(l, in, {{{2, .5f, .5f, 1 / 3.f, 1 / 3.f}}, {{0, .5f / 3, .5f / 3, .5f, .5f}, {1, .5f, .5f, 0, .2f}}}, 0,
            grad);
    EXPECT_EQ(st.count, 2);  // the zero-width box is skipped
    EXPECT_NEAR(st.avg_iou, (1 + .5625) / 2, 1e-6);
    EXPECT_NEAR(st.recall50, 1, 1e-6);
    EXPECT_NEAR(st.recall75, .5, 1e-6);
    EXPECT_NEAR(st.avg_class, 1. / 3, 1e-6);  // uniform softmax
    EXPECT_NEAR(st.avg_obj, .5, 1e-6);
    EXPECT_NEAR(st.avg_noobj, .5, 1e-6);
    for (float g : grad) EXPECT_FALSE(std::isnan(g));
}

TEST(RegionLoss, NoTruthsGiveZeroAverages) {
    const RegionLayer l = make_region({});
    std::vector<float> in(l.output_shape().size(), 0.f), grad;
    const RegionLossStats st = run(l, in, {{}}, 1 << 20, grad);
    EXPECT_EQ(st.count, 0);
    EXPECT_EQ(st.avg_iou, 0.f);
    EXPECT_NEAR(st.avg_noobj, .5, 1e-6);
    EXPECT_NEAR(st.loss, l.num * 9 * .5 * .25, 1e-6);  // ½ o² everywhere
}

TEST(RegionLoss, ClassIdOutOfRangeIsAnError) {
    const RegionLayer l = make_region({});
    std::vector<float> in(l.output_shape().size(), 0.f), grad;
    for (int bad : {-1, 3}) {
        try {
            run(l, in, {{{bad, .5f, .5f, .2f, .2f}}}, 0, grad);
            ADD_FAILURE() << "class " << bad << " accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("class id " + std::to_string(bad)), std::string::npos) << e.what();
        }
    }
}

}  // namespace
