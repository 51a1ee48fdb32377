// Per-layer checks. One table drives the oneDNN kernels against the reference code on
// random shapes (ggml test-backend-ops style); hand-computed cases pin down darknet's
// semantics where they are unusual (reorg order, maxpool edge padding, BN folding).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "backend/backend.h"
#include "backend/onednn/settings.h"
#include "layer/convolutional.h"
#include "layer/reorg.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

// oneDNN names its Winograd convolutions jit_*_wino_*.
bool runs_winograd(const LayerExecution& l) { return l.kernel.find("wino") != std::string::npos; }

using test::net_from;

struct LayerCase {
    const char* name;
    std::string cfg;  // sections after [net]
    int w, h, c, batch;
};

class LayerOnednnVsReference : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerOnednnVsReference, OutputsAgree) {
    const LayerCase p = GetParam();
    Network net = net_from(p.cfg, p.w, p.h, p.c);
    test::randomize_weights(net, 21);
    const auto input = test::random_vector(size_t(p.batch) * net.input_shape().size(), 5, -1.f, 1.f);
    auto ref = make_executor(net, "reference", {.batch = p.batch, .keep_outputs = true});
    ref->forward(input.data());
    // fast: Winograd with pre-transformed weights where the budget allows, else per-run
    // transformed or direct; fast with no budget: never pre-transformed; direct.
    struct Mode {
        const char* name;
        onednn::ConvAlgorithm algorithm;
        size_t winograd_memory;
    };
    using onednn::ConvAlgorithm;
    for (const Mode m : {Mode{"fast (Winograd)", ConvAlgorithm::fast, onednn::Settings::kUnlimited},
                         Mode{"fast, no Winograd memory", ConvAlgorithm::fast, 0},
                         Mode{"direct", ConvAlgorithm::direct, 0}}) {
        const char* algo = m.name;
        auto fast = make_executor(net, "onednn", {.batch = p.batch, .keep_outputs = true,
                                                  .settings = onednn::settings(m.algorithm, m.winograd_memory)});
        fast->forward(input.data());
        if (m.algorithm == ConvAlgorithm::fast && m.winograd_memory == onednn::Settings::kUnlimited &&
            std::string(p.name).find("winograd") != std::string::npos) {
            const ExecutionPlan plan = fast->plan();
            EXPECT_TRUE(std::any_of(plan.layers.begin(), plan.layers.end(), runs_winograd)) << p.name << ": no Winograd kernel ran";
        }
        for (int i = 0; i < net.size(); ++i) {
            const auto a = ref->layer_output(i), b = fast->layer_output(i);
            const float tol = 1e-5f * std::max(1.f, test::max_abs(a.data(), a.size()));
            EXPECT_LE(test::max_abs_diff(a.data(), b.data(), a.size()), tol) << p.name << " " << algo << " layer " << i;
        }
    }
}

std::string conv(int filters, int size, int stride, bool bn, const char* act, int pad = 1) {
    return "[convolutional]\nfilters=" + std::to_string(filters) + "\nsize=" + std::to_string(size) +
           "\nstride=" + std::to_string(stride) + "\npad=" + std::to_string(pad) +
           "\nbatch_normalize=" + (bn ? "1" : "0") + "\nactivation=" + act + "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Layers, LayerOnednnVsReference,
    ::testing::Values(
        LayerCase{"conv3x3_bn_leaky", conv(16, 3, 1, true, "leaky"), 13, 11, 3, 2},
        LayerCase{"conv1x1_linear_bias", conv(7, 1, 1, false, "linear"), 9, 9, 20, 1},
        // >= 16 input channels, 3x3 stride 1: the Winograd kernels (F(4,3) / F(2,3)), activation unfused
        LayerCase{"conv3x3_winograd_leaky", conv(24, 3, 1, true, "leaky"), 11, 9, 32, 2},
        LayerCase{"conv3x3_winograd_relu_13x13", conv(64, 3, 1, false, "relu"), 13, 13, 48, 1},
        LayerCase{"conv3x3_winograd_linear", conv(17, 3, 1, true, "linear"), 7, 12, 16, 3},
        // a larger map: oneDNN's F(4,3) kernel, whose weights are transformed on every run
        LayerCase{"conv3x3_winograd_per_run_52x52", conv(128, 3, 1, true, "leaky"), 52, 52, 64, 1},
        LayerCase{"winograd_then_1x1_then_maxpool", conv(32, 3, 1, true, "leaky") + conv(16, 1, 1, true, "leaky") + conv(32, 3, 1, true, "leaky") +
                                                       "[maxpool]\nsize=2\nstride=2\n",
                  10, 10, 16, 2},
        LayerCase{"conv3x3_stride2_relu", conv(8, 3, 2, true, "relu"), 15, 10, 5, 1},
        LayerCase{"conv_nopad_logistic", conv(4, 3, 1, false, "logistic", 0), 8, 8, 4, 3},
        LayerCase{"maxpool2s2_even", conv(16, 1, 1, false, "linear") + "[maxpool]\nsize=2\nstride=2\n", 12, 12, 3, 2},
        LayerCase{"maxpool2s2_odd", conv(16, 1, 1, false, "linear") + "[maxpool]\nsize=2\nstride=2\n", 13, 7, 3, 1},
        LayerCase{"maxpool2s1_tiny", conv(16, 1, 1, false, "linear") + "[maxpool]\nsize=2\nstride=1\n", 13, 13, 3, 2},
        LayerCase{"maxpool3s2", conv(8, 1, 1, false, "linear") + "[maxpool]\nsize=3\nstride=2\n", 11, 9, 3, 1},
        LayerCase{"route_concat", conv(16, 3, 1, true, "leaky") + conv(32, 1, 1, true, "leaky") + "[route]\nlayers=-1,-2\n" +
                                      conv(8, 1, 1, false, "linear"),
                  10, 10, 3, 2},
        LayerCase{"route_odd_channels", conv(5, 3, 1, true, "leaky") + conv(3, 1, 1, true, "leaky") + "[route]\nlayers=-1,-2\n",
                  6, 6, 3, 1},
        LayerCase{"reorg_blocked", conv(64, 3, 1, true, "leaky") + "[reorg]\nstride=2\n" + conv(16, 1, 1, false, "linear"), 8, 6, 3, 2},
        LayerCase{"reorg_passthrough", conv(64, 1, 1, true, "leaky") + "[maxpool]\nsize=2\nstride=2\n" + conv(32, 3, 1, true, "leaky") +
                                           "[route]\nlayers=-3\n[reorg]\nstride=2\n[route]\nlayers=-1,-3\n" + conv(24, 1, 1, false, "linear"),
                  12, 12, 3, 1},
        LayerCase{"avgpool_softmax", conv(10, 3, 1, true, "leaky") + "[avgpool]\n[softmax]\ngroups=1\n", 7, 5, 3, 2},
        LayerCase{"softmax_groups_cost", conv(6, 1, 1, false, "linear") + "[avgpool]\n[softmax]\ngroups=2\n[cost]\ntype=sse\n", 4, 4, 3, 1},
        LayerCase{"region_softmax", conv(2 * (5 + 3), 1, 1, false, "linear") + "[region]\nclasses=3\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n",
                  5, 5, 4, 2},
        LayerCase{"region_logistic", conv(1 * (5 + 2), 1, 1, false, "linear") + "[region]\nclasses=2\nnum=1\nanchors=1,1\n", 3, 4, 2, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Reorg, DarknetOrderOnAHandComputedExample) {
    // darknet needs c % stride^2 == 0: w=h=2, c=4, stride=2 -> 1x1x16.
    // Darknet reads the 4x2x2 input as a 1-channel 4x4 image X (row-major, index = 4*row+col)
    // and writes, for output index q = i + 2*(j + 2*k): X[row = 2j + k/2... ] — worked out:
    // q = i + w*(j + h*k), k<4: offset = k (out_c = 1), src = (2i + k%2) + 4*(2j + k/2).
    const int w = 2, h = 2, c = 4, s = 2;
    std::vector<size_t> got;
    for (size_t q = 0; q < 16; ++q) got.push_back(reorg_source_index(q, w, h, c, s));
    const std::vector<size_t> expected = {0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15};
    EXPECT_EQ(got, expected);

    Network net = net_from("[reorg]\nstride=2\n", 2, 2, 4);
    EXPECT_EQ(net.layer(0).output_shape(), (Shape{16, 1, 1}));
    std::vector<float> in(16);
    std::iota(in.begin(), in.end(), 0.f);
    auto ref = make_executor(net, "reference");
    ref->forward(in.data());
    for (size_t q = 0; q < 16; ++q) EXPECT_EQ(ref->output()[q], float(expected[q]));
}

TEST(Reorg, PaperEraShapeIs13x13x2048) {
    Network net = net_from("[reorg]\nstride=2\n", 26, 26, 512);
    EXPECT_EQ(net.layer(0).output_shape(), (Shape{2048, 13, 13}));
}

TEST(Maxpool, EdgePaddingNeverWins) {
    // 3x3 input, size 2 stride 2: darknet pads one column/row at the end (padding=size-1,
    // none before), so the output is 2x2 and the last window sees only the edge.
    Network net = net_from("[maxpool]\nsize=2\nstride=2\n", 3, 3, 1);
    EXPECT_EQ(net.layer(0).output_shape(), (Shape{1, 2, 2}));
    const std::vector<float> in = {-1, -2, -3,  //
                                   -4, -5, -6,  //
                                   -7, -8, -9};
    for (const char* backend : {"reference", "onednn"}) {
        auto ex = make_executor(net, backend);
        ex->forward(in.data());
        const std::vector<float> out(ex->output(), ex->output() + 4);
        EXPECT_EQ(out, (std::vector<float>{-1, -3, -7, -9})) << backend;  // negative: padding as 0 would win
    }
    // size 2 stride 1 (yolov2-tiny's last pool) keeps the size: the last row/column max with padding.
    Network keep = net_from("[maxpool]\nsize=2\nstride=1\n", 3, 3, 1);
    EXPECT_EQ(keep.layer(0).output_shape(), (Shape{1, 3, 3}));
    for (const char* backend : {"reference", "onednn"}) {
        auto ex = make_executor(keep, backend);
        ex->forward(in.data());
        const std::vector<float> out(ex->output(), ex->output() + 9);
        EXPECT_EQ(out, (std::vector<float>{-1, -2, -3, -4, -5, -6, -7, -8, -9})) << backend;
    }
}

TEST(Convolution, BatchNormFoldingMatchesUnfolded) {
    Network net = net_from(conv(3, 3, 1, true, "linear"), 5, 5, 2);
    auto& l = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    test::randomize_weights(net, 9);
    l.rolling_variance = {0.25f, 4.f, 1e-4f};  // includes a near-zero variance: darknet's +1e-6 matters
    std::vector<float> w, b;
    l.folded(w, b);
    for (int f = 0; f < 3; ++f) {
        const float k = l.scales[f] / (std::sqrt(l.rolling_variance[f]) + .000001f);
        EXPECT_FLOAT_EQ(w[f * 18 + 4], l.weights[f * 18 + 4] * k);
        EXPECT_FLOAT_EQ(b[f], l.biases[f] - l.rolling_mean[f] * k);
    }
    // The folded oneDNN path against the unfolded reference.
    const auto input = test::random_vector(50, 2);
    auto ref = make_executor(net, "reference");
    auto fast = make_executor(net, "onednn");
    ref->forward(input.data());
    fast->forward(input.data());
    const size_t n = net.layer(0).output_shape().size();
    EXPECT_LE(test::max_abs_diff(ref->output(), fast->output(), n), 1e-5f * test::max_abs(ref->output(), n));
}

TEST(Executor, BlockedLayoutsNeedNoReordersBetweenLayers) {
    // Everything after the network input stays in oneDNN's layout until the region head.
    // Fast: the first conv reads the plain input itself, 0 conversions; direct: brgconv
    // converts the input to nhwc, 1.
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-voc.cfg"), {.width = 128, .height = 128});
    test::randomize_weights(net, 1);
    const ExecutionPlan fast = make_executor(net, "onednn")->plan();
    EXPECT_EQ(fast.reorders(), 0) << make_executor(net, "onednn")->describe();
    EXPECT_GT(fast.buffers, 0);
    const auto direct = make_executor(net, "onednn", {.settings = onednn::settings(onednn::ConvAlgorithm::direct)});
    EXPECT_EQ(direct->plan().reorders(), 1) << direct->describe();
}

TEST(Executor, FastUsesWinogradOnThe3x3LayersOnly) {
    // yolov2-tiny-voc: 9 convolutions; the first (3 input channels) and the last (1x1) stay direct.
    Network net = Network::from_cfg_file(test::darknet_cfg("yolov2-tiny-voc.cfg"), {.width = 96, .height = 96});
    test::randomize_weights(net, 1);
    const ExecutionPlan fast = make_executor(net, "onednn")->plan();
    std::vector<int> wino;
    for (const LayerExecution& l : fast.layers)
        if (runs_winograd(l)) wino.push_back(l.layer);
    EXPECT_EQ(wino, (std::vector<int>{2, 4, 6, 8, 10, 12, 13})) << make_executor(net, "onednn")->describe();
    for (const LayerExecution& l :
         make_executor(net, "onednn", {.settings = onednn::settings(onednn::ConvAlgorithm::direct)})->plan().layers)
        EXPECT_FALSE(runs_winograd(l)) << l.layer << ": " << l.kernel;
}


TEST(Executor, NarrowLayersNeverRunOneDnnsReferenceLoop) {
    // 8 channels padded to the 16-channel blocked layout have no optimised oneDNN kernel;
    // its reference loop took 360 ms where brgconv takes 0.1 ms (a small detector ran 400x
    // slower than --direct-conv). Every mode must pick an optimised kernel.
    Network net = net_from(conv(8, 3, 1, true, "leaky") + "[maxpool]\nsize=2\nstride=2\n" + conv(16, 3, 1, true, "leaky") +
                               conv(16, 3, 1, true, "leaky") + conv(8, 1, 1, false, "linear", 0),
                           64, 64, 3);
    test::randomize_weights(net, 3);
    for (const onednn::ConvAlgorithm a : {onednn::ConvAlgorithm::fast, onednn::ConvAlgorithm::direct})
        for (const LayerExecution& l : make_executor(net, "onednn", {.settings = onednn::settings(a)})->plan().layers)
            EXPECT_EQ(l.kernel.find("ref:"), std::string::npos) << l.layer << ": " << l.kernel;
}
TEST(Executor, WinogradMemoryBudgetGrantsPreTransformedWeightsInLayerOrder) {
    // Which Winograd kernels oneDNN offers depends on the CPU: F(4,3) (weights transformed per
    // run, no extra memory) on some, only F(2,3) on others. F(2,3) keeps pre-transformed
    // weights, 16/9 of the plain size: +224 KiB for each 64x128x3x3 or 128x64x3x3 layer,
    // granted in layer order while the budget lasts. The checks hold on either kind of CPU.
    const std::string pool = "[maxpool]\nsize=2\nstride=2\n";
    const std::string cfg = conv(128, 3, 1, true, "leaky") + pool + pool + conv(64, 3, 1, true, "leaky") + conv(128, 3, 1, true, "leaky");
    Network net = net_from(cfg, 52, 52, 64);
    test::randomize_weights(net, 3);
    const std::vector<int> convs{0, 3, 4};
    const auto pretransformed = [](const LayerExecution& l) { return l.extra_weight_bytes > 0; };
    const auto plan = [&](size_t budget) {
        return make_executor(net, "onednn", {.settings = onednn::settings(onednn::ConvAlgorithm::fast, budget)})->plan();
    };
    const ExecutionPlan unlimited = plan(onednn::Settings::kUnlimited), some = plan(300 << 10), none = plan(0);
    for (const ExecutionPlan* p : {&unlimited, &some, &none})
        for (int i : convs) {
            const LayerExecution& l = p->layers.at(i);
            const bool f43 = l.kernel.find("wino_4x3") != std::string::npos;
            // Per-run transformation (no extra memory) only with F(4,3), and then whatever the budget.
            if (f43) {
                EXPECT_EQ(l.extra_weight_bytes, 0u) << l.kernel;
            }
            if (pretransformed(l)) {
                EXPECT_TRUE(runs_winograd(l)) << l.kernel;
                EXPECT_NEAR(double(l.extra_weight_bytes), 224 << 10, 16 << 10) << l.kernel;
            }
            if (unlimited.layers.at(i).kernel.find("wino_4x3") != std::string::npos) {
                EXPECT_TRUE(f43) << l.kernel;
            }
        }
    int granted_some = 0, first_denied = -1;
    for (int i : convs) {
        const LayerExecution &u = unlimited.layers.at(i), &s = some.layers.at(i), &n = none.layers.at(i);
        EXPECT_TRUE(runs_winograd(u)) << "no budget limit: every 3x3 layer runs Winograd: " << u.kernel;
        EXPECT_FALSE(pretransformed(n)) << "a zero budget grants nothing: " << n.kernel;
        if (!pretransformed(u)) continue;  // F(4,3): needs no budget
        if (pretransformed(s)) {
            ++granted_some;
            EXPECT_EQ(first_denied, -1) << "granted after an equal request was denied: layer " << i;
        } else if (first_denied < 0) {
            first_denied = i;
        }
    }
    // 300 KiB holds one 224 KiB grant, never two.
    const int wanted = int(std::count_if(convs.begin(), convs.end(), [&](int i) { return pretransformed(unlimited.layers.at(i)); }));
    EXPECT_EQ(granted_some, std::min(wanted, 1));
}

TEST(Network, FoldBatchNormKeepsTheOutputAndForbidsSaving) {
    Network net = net_from(conv(8, 3, 1, true, "leaky") + conv(4, 1, 1, true, "linear"), 9, 7, 3);
    test::randomize_weights(net, 5);
    const auto input = test::random_vector(net.input_shape().size(), 6, -1.f, 1.f);
    auto before = make_executor(net, "reference");
    before->forward(input.data());
    const size_t n = net.layer(1).output_shape().size();
    const std::vector<float> expected(before->output(), before->output() + n);
    net.fold_batch_norm();
    EXPECT_FALSE(dynamic_cast<ConvolutionalLayer&>(net.layer(0)).batch_normalize);
    for (const char* backend : {"reference", "onednn"}) {
        auto after = make_executor(net, backend);
        after->forward(input.data());
        EXPECT_LE(test::max_abs_diff(expected.data(), after->output(), n), 1e-5f * test::max_abs(expected.data(), n)) << backend;
    }
    const std::string path = ::testing::TempDir() + "/folded.weights";
    try {
        net.save_weights(path);
        FAIL() << "saved a network whose batch norm was folded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("batch norm was folded"), std::string::npos) << e.what();
    }
}

TEST(Executor, ForwardTimedGivesTheSameOutputAndATimePerLayer) {
    Network net = net_from(conv(16, 3, 1, true, "leaky") + "[maxpool]\nsize=2\nstride=2\n" + conv(8, 1, 1, false, "linear"), 12, 12, 3);
    test::randomize_weights(net, 8);
    const auto input = test::random_vector(net.input_shape().size(), 9, -1.f, 1.f);
    auto ex = make_executor(net, "onednn");
    ex->forward(input.data());
    const size_t n = net.layer(2).output_shape().size();
    const std::vector<float> expected(ex->output(), ex->output() + n);
    std::vector<double> ms;
    ex->forward_timed(input.data(), ms);
    ASSERT_EQ(ms.size(), 3u);
    for (double t : ms) EXPECT_GE(t, 0.0);
    EXPECT_EQ(std::vector<float>(ex->output(), ex->output() + n), expected);
    std::vector<double> unused;
    EXPECT_THROW(make_executor(net, "reference")->forward_timed(input.data(), unused), Error);
}

TEST(Executor, UnknownBackendAndBadBatch) {
    Network net = net_from(conv(2, 1, 1, false, "linear"), 4, 4, 1);
    EXPECT_THROW(make_executor(net, "cuda"), Error);
    EXPECT_THROW(make_executor(net, "onednn", {.batch = 0}), Error);
}

}  // namespace
}  // namespace yolo9k
