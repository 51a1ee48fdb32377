// Reference training of every layer, checked by central finite differences (ggml
// test-backend-ops style): each row builds a tiny network from cfg text and checks its
// LAST layer in isolation. With loss = Σ r⊙output for a fixed random r, backward_reference
// with output_grad = r must give dLoss/dinput and dLoss/dparam for every input and every
// trainable parameter, and must ADD to what the gradient buffers already hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>

#include "core/error.h"
#include "layer/convolutional.h"
#include "layer/softmax.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

using test::net_from;

std::string conv(int filters, int size, int stride, int padding, bool bn, const char* act) {
    return "[convolutional]\nfilters=" + std::to_string(filters) + "\nsize=" + std::to_string(size) +
           "\nstride=" + std::to_string(stride) + "\npadding=" + std::to_string(padding) +
           "\nbatch_normalize=" + (bn ? "1" : "0") + "\nactivation=" + act + "\n";
}

std::string maxpool(int size, int stride) {
    return "[maxpool]\nsize=" + std::to_string(size) + "\nstride=" + std::to_string(stride) + "\n";
}

struct GradCase {
    const char* name;
    std::string cfg;  // sections after [net]; the last one is the layer under test
    int w, h, c, batch;
    float eps;  // the finite-difference step, a power of two
    // relu/leaky: while a coordinate's ±2 eps steps move some output across the kink, the
    // step is halved (down to eps/32; past that the coordinate is skipped and counted).
    bool kinked = false;
    // maxpool: inputs are a shuffled grid with spacing 5 eps, so no window changes its
    // winner within ±2 eps (the gradient is piecewise constant between switches).
    bool well_separated = false;
};

// The layer under test with its random inputs; loss() runs the training forward.
struct Probe {
    Layer& layer;
    int batch;
    std::vector<std::vector<float>> inputs;
    std::vector<float> r, output, state;

    double loss() {
        std::vector<const float*> ptrs;
        for (auto& x : inputs) ptrs.push_back(x.data());
        layer.forward_train_reference(ptrs, output.data(), state.data(), batch);
        double sum = 0;
        for (size_t i = 0; i < r.size(); ++i) sum += double(r[i]) * output[i];
        return sum;
    }
};

int sign(float v) { return (v > 0) - (v < 0); }

// |a - n| / max(|a|, |n|, floor).
double relative_error(double analytic, double numeric, double floor) {
    return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
}

class LayerGradient : public ::testing::TestWithParam<GradCase> {};

TEST_P(LayerGradient, MatchesFiniteDifferences) {
    const GradCase p = GetParam();
    Network net = net_from(p.cfg, p.w, p.h, p.c);
    test::randomize_weights(net, 17);
    Layer& layer = net.layer(net.size() - 1);
    const size_t out_n = size_t(p.batch) * layer.output_shape().size();

    Probe probe{layer, p.batch, {}, test::random_vector(out_n, 99), std::vector<float>(out_n),
                std::vector<float>(layer.train_state_floats(p.batch))};
    for (size_t k = 0; k < layer.input_shapes().size(); ++k) {
        const size_t n = size_t(p.batch) * layer.input_shape(int(k)).size();
        std::vector<float> x = test::random_vector(n, 7 + uint32_t(k), -1.f, 1.f);
        if (p.well_separated) {
            std::iota(x.begin(), x.end(), 0.f);
            std::shuffle(x.begin(), x.end(), std::mt19937(3 + k));
            for (float& v : x) v = (v - n / 2.f) * 5 * p.eps;
        }
        probe.inputs.push_back(std::move(x));
    }
    auto blobs = layer.trainable_blobs();
    // Put every value on a 2^-16 grid so that x ± k·eps (eps a power of two) is exact in float.
    auto snap = [](std::vector<float>& v) {
        for (float& x : v) x = std::ldexp(std::round(std::ldexp(x, 16)), -16);
    };
    for (auto& x : probe.inputs) snap(x);
    for (auto& b : blobs) snap(*b.data);

    // Analytic gradients, added onto non-zero buffers to check the ADD convention.
    const float input_prefill = .25f, param_prefill = -.5f;
    probe.loss();
    const std::vector<float> output0 = probe.output;
    std::vector<std::vector<float>> input_grads;
    std::vector<float*> input_grad_ptrs;
    for (auto& x : probe.inputs) input_grads.emplace_back(x.size(), input_prefill);
    for (auto& g : input_grads) input_grad_ptrs.push_back(g.data());
    std::vector<float> param_grads(layer.trainable_floats(), param_prefill);
    std::vector<const float*> input_ptrs;
    for (auto& x : probe.inputs) input_ptrs.push_back(x.data());
    layer.backward_reference(input_ptrs, output0.data(), probe.r.data(), probe.state.data(), input_grad_ptrs,
                             param_grads.empty() ? nullptr : param_grads.data(), p.batch);
    for (auto& g : input_grads)
        for (float& v : g) v -= input_prefill;
    for (float& v : param_grads) v -= param_prefill;

    // The arrays to check: every input, then every trainable blob (in gradient-buffer order).
    struct Checked {
        std::string name;
        std::vector<float>* values;
        const float* analytic;
    };
    std::vector<Checked> checked;
    for (size_t k = 0; k < probe.inputs.size(); ++k)
        checked.push_back({"input" + std::to_string(k), &probe.inputs[k], input_grads[k].data()});
    size_t offset = 0;
    for (auto& b : blobs) {
        checked.push_back({b.name, b.data, param_grads.data() + offset});
        offset += b.data->size();
    }
    ASSERT_EQ(offset, param_grads.size());

    // Fourth-order central difference (error O(eps^4), so eps can be large enough to drown
    // the float rounding of the outputs). Empty when a kinked layer's output changes sign
    // within ±2 eps: the loss is not differentiable there at this step.
    auto derivative = [&](float& x, float eps) -> std::optional<double> {
        const float saved = x;
        double loss[4];
        const float steps[4] = {-2 * eps, -eps, eps, 2 * eps};
        bool crosses = false;
        for (int s = 0; s < 4; ++s) {
            x = saved + steps[s];  // exact: values sit on a 2^-16 grid, eps is a power of two
            loss[s] = probe.loss();
            for (size_t j = 0; p.kinked && j < out_n && !crosses; ++j) crosses = sign(probe.output[j]) != sign(output0[j]);
        }
        x = saved;
        if (crosses) return std::nullopt;
        return (8 * (loss[2] - loss[1]) - (loss[3] - loss[0])) / (12.0 * eps);
    };
    // Gradients below 10% of their array's largest are measured against that 10%: the
    // float rounding of the outputs leaves ~1e-5 of the scale as noise in a difference.
    const double floor_fraction = 1e-1;

    std::string summary;
    size_t coordinates = 0, skipped = 0;
    for (const Checked& c : checked) {
        const size_t n = c.values->size();
        const double scale = test::max_abs(c.analytic, n);
        double worst = 0;
        size_t worst_at = 0;
        double worst_analytic = 0, worst_numeric = 0;
        for (size_t i = 0; i < n; ++i) {
            ++coordinates;
            // Halve the step while it carries an output across a kink; give up after a few.
            std::optional<double> numeric;
            for (float eps = p.eps; !numeric && eps >= p.eps / 32; eps /= 2)
                numeric = derivative((*c.values)[i], eps);
            if (!numeric) {
                ++skipped;
                continue;
            }
            const double err = relative_error(c.analytic[i], *numeric, floor_fraction * scale);
            if (err > worst) worst = err, worst_at = i, worst_analytic = c.analytic[i], worst_numeric = *numeric;
        }
        EXPECT_LE(worst, 1e-3) << p.name << " " << c.name << "[" << worst_at << "]: analytic " << worst_analytic
                               << ", numeric " << worst_numeric << " (array scale " << scale << ")";
        char buf[96];
        std::snprintf(buf, sizeof buf, " %s %.1e", c.name.c_str(), worst);
        summary += buf;
    }
    // Kinks may hide a handful of coordinates, never the check itself.
    EXPECT_LE(skipped * 10, coordinates) << p.name << ": skipped " << skipped << " of " << coordinates;
    std::printf("[ gradcheck ] %-26s max rel err:%s (skipped %zu/%zu near kinks)\n", p.name, summary.c_str(), skipped,
                coordinates);
}

INSTANTIATE_TEST_SUITE_P(
    Layers, LayerGradient,
    ::testing::Values(
        // convolutional: 1x1 / 3x3, stride 1 / 2, padding 0 / 1, with and without BN, every activation
        GradCase{"conv1x1_linear", conv(4, 1, 1, 0, false, "linear"), 5, 3, 3, 2, 1.f / 64},
        GradCase{"conv1x1_s2_leaky_odd", conv(3, 1, 2, 0, false, "leaky"), 7, 5, 2, 1, 1.f / 64, true},
        GradCase{"conv3x3_p1_logistic", conv(3, 3, 1, 1, false, "logistic"), 5, 4, 2, 2, 1.f / 64},
        GradCase{"conv3x3_p0_relu", conv(3, 3, 1, 0, false, "relu"), 6, 5, 2, 1, 1.f / 64, true},
        GradCase{"conv3x3_s2_p1_linear_odd", conv(2, 3, 2, 1, false, "linear"), 7, 7, 2, 2, 1.f / 64},
        GradCase{"conv1x1_bn_linear", conv(3, 1, 1, 0, true, "linear"), 3, 3, 3, 2, 1.f / 64},
        GradCase{"conv3x3_bn_leaky", conv(4, 3, 1, 1, true, "leaky"), 5, 4, 3, 2, 1.f / 64, true},
        GradCase{"conv3x3_s2_bn_relu_odd", conv(3, 3, 2, 1, true, "relu"), 7, 5, 2, 3, 1.f / 64, true},
        GradCase{"conv3x3_p0_bn_logistic", conv(3, 3, 1, 0, true, "logistic"), 5, 5, 2, 2, 1.f / 64},
        GradCase{"conv3x3_s2_p0_bn_linear", conv(2, 3, 2, 0, true, "linear"), 7, 6, 2, 2, 1.f / 64},
        // maxpool: darknet's implicit padding (size-1), odd inputs, yolov2-tiny's 2/1
        GradCase{"maxpool2s2_even", maxpool(2, 2), 6, 4, 2, 2, 1.f / 64, false, true},
        GradCase{"maxpool2s2_odd", maxpool(2, 2), 7, 5, 2, 1, 1.f / 64, false, true},
        GradCase{"maxpool2s1_tiny", maxpool(2, 1), 5, 5, 2, 2, 1.f / 64, false, true},
        GradCase{"maxpool3s1_odd", maxpool(3, 1), 7, 6, 1, 2, 1.f / 64, false, true},
        GradCase{"maxpool3s2_odd", maxpool(3, 2), 9, 7, 1, 1, 1.f / 64, false, true},
        // the rest
        GradCase{"route_two_sources", conv(3, 1, 1, 0, false, "linear") + conv(2, 1, 1, 0, false, "linear") +
                                          "[route]\nlayers=-1,-2\n",
                 4, 3, 2, 2, 1.f / 64},
        GradCase{"reorg_stride2", "[reorg]\nstride=2\n", 4, 6, 8, 2, 1.f / 64},
        GradCase{"avgpool", "[avgpool]\n", 5, 3, 4, 2, 1.f / 64},
        GradCase{"softmax", "[softmax]\n", 1, 1, 7, 2, 1.f / 64},
        GradCase{"softmax_groups3_t0.5", "[softmax]\ngroups=3\ntemperature=0.5\n", 2, 1, 6, 2, 1.f / 64},
        GradCase{"softmax_groups2_t3_spatial", "[softmax]\ngroups=2\ntemperature=3\n", 2, 2, 3, 1, 1.f / 64},
        GradCase{"region_softmax_c3_n2", conv(2 * (5 + 3), 1, 1, 0, false, "linear") +
                                             "[region]\nclasses=3\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n",
                 3, 2, 1, 2, 1.f / 64},
        GradCase{"softmax_tree9", "[softmax]\ntree=" + test::small_tree_path() + "\n", 1, 1, 9, 2, 1.f / 64},
        GradCase{"softmax_tree9_t0.5", "[softmax]\ntemperature=0.5\ntree=" + test::small_tree_path() + "\n", 1, 1, 9, 2, 1.f / 64},
        GradCase{"region_tree9_n2", conv(2 * (5 + 9), 1, 1, 0, false, "linear") +
                                        "[region]\nclasses=9\nnum=2\nsoftmax=1\nanchors=1,1,2,2\ntree=" + test::small_tree_path() + "\n",
                 3, 2, 1, 2, 1.f / 64},
        GradCase{"region_logistic_c2_n1", conv(5 + 2, 1, 1, 0, false, "linear") + "[region]\nclasses=2\nnum=1\n", 2, 3,
                 1, 1, 1.f / 64},
        GradCase{"cost", "[cost]\ntype=sse\n", 3, 2, 2, 2, 1.f / 64}),
    [](const auto& info) {
        std::string s = info.param.name;
        std::replace(s.begin(), s.end(), '.', '_');
        return s;
    });

// Rolling statistics on a case small enough to do by hand: one 1x1 filter with weight 1
// sees the values {1, 2} and {3, 6}: μ = 3, biased σ² = 14/4 = 3.5, unbiased 14/3.
TEST(BatchNormTraining, RollingStatisticsAndOutputByHand) {
    Network net = net_from(conv(1, 1, 1, 0, true, "linear"), 2, 1, 1);
    auto& l = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    l.weights = {1.f};
    l.scales = {2.f};
    l.biases = {.5f};
    l.rolling_mean = {.5f};
    l.rolling_variance = {2.f};
    const std::vector<float> x = {1, 2, 3, 6};
    std::vector<float> y(4), state(l.train_state_floats(2));
    ASSERT_EQ(state.size(), 4u + 1u);  // x̂ for every output, then 1/σ per filter
    const float* in[] = {x.data()};
    l.forward_train_reference(in, y.data(), state.data(), 2);
    EXPECT_FLOAT_EQ(l.rolling_mean[0], .99f * .5f + .01f * 3.f);
    EXPECT_FLOAT_EQ(l.rolling_variance[0], .99f * 2.f + .01f * 14.f / 3.f);
    const float inv_std = 1.f / std::sqrt(3.5f + 1e-5f);
    EXPECT_FLOAT_EQ(state[4], inv_std);
    for (int i = 0; i < 4; ++i) {
        EXPECT_FLOAT_EQ(state[i], (x[i] - 3.f) * inv_std);
        EXPECT_FLOAT_EQ(y[i], 2.f * (x[i] - 3.f) * inv_std + .5f);
    }
    // A second step moves the rolling statistics again by the same rule.
    l.forward_train_reference(in, y.data(), state.data(), 2);
    EXPECT_FLOAT_EQ(l.rolling_mean[0], .99f * (.99f * .5f + .01f * 3.f) + .01f * 3.f);
}

// Training mode normalises with the batch's statistics, inference with the rolling ones:
// the two differ, the training forward leaves forward_reference's behaviour alone, and with
// the rolling statistics set to the batch's own the two agree (up to darknet's epsilon).
TEST(BatchNormTraining, BatchStatisticsDifferFromInferenceAndLeaveItUnchanged) {
    const int batch = 2, w = 6, h = 5, c = 3;
    Network net = net_from(conv(4, 3, 1, 1, true, "leaky"), w, h, c);
    Network plain = net_from(conv(4, 3, 1, 1, false, "linear"), w, h, c);  // the same conv, no BN
    test::randomize_weights(net, 5);
    auto& l = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    auto& z_layer = dynamic_cast<ConvolutionalLayer&>(plain.layer(0));
    z_layer.weights = l.weights;
    std::fill(z_layer.biases.begin(), z_layer.biases.end(), 0.f);
    // Scale the input away from the rolling statistics' N(0, 1) so batch norm has work to do.
    std::vector<float> x = test::random_vector(size_t(batch) * w * h * c, 8, -1.f, 3.f);
    const float* in[] = {x.data()};
    const size_t n = size_t(batch) * l.output_shape().size();

    std::vector<float> inference(n), again(n), training(n), state(l.train_state_floats(batch));
    l.forward_reference(in, inference.data(), batch);
    const auto rolling_mean = l.rolling_mean, rolling_variance = l.rolling_variance;
    l.forward_train_reference(in, training.data(), state.data(), batch);
    EXPECT_NE(l.rolling_mean, rolling_mean);
    EXPECT_GT(test::max_abs_diff(training.data(), inference.data(), n), .1f);

    l.rolling_mean = rolling_mean;
    l.rolling_variance = rolling_variance;
    l.forward_reference(in, again.data(), batch);
    EXPECT_EQ(again, inference);  // nothing but the rolling statistics moved

    // Rolling statistics := this batch's (biased) statistics, computed from the plain conv.
    std::vector<float> z(n);
    z_layer.forward_reference(in, z.data(), batch);
    const size_t plane = size_t(l.output_shape().h) * l.output_shape().w;
    for (int f = 0; f < l.filters; ++f) {
        double sum = 0, squares = 0;
        for (int b = 0; b < batch; ++b)
            for (size_t i = 0; i < plane; ++i) sum += z[(size_t(b) * l.filters + f) * plane + i];
        const double mean = sum / (batch * plane);
        for (int b = 0; b < batch; ++b)
            for (size_t i = 0; i < plane; ++i) {
                const double d = z[(size_t(b) * l.filters + f) * plane + i] - mean;
                squares += d * d;
            }
        l.rolling_mean[f] = float(mean);
        l.rolling_variance[f] = float(squares / (batch * plane));
    }
    l.forward_reference(in, inference.data(), batch);
    EXPECT_LE(test::max_abs_diff(training.data(), inference.data(), n), 1e-4f * test::max_abs(training.data(), n));
}

TEST(LayerTraining, ConvolutionGradientLayoutIsBiasesScalesWeights) {
    // The oneDNN training kernel writes its gradients in this layout; the optimizer decays weights only.
    auto layout = [](bool bn) {
        Network net = net_from(conv(2, 3, 1, 1, bn, "leaky"), 4, 4, 3);
        std::vector<std::string> got;
        for (const auto& b : net.layer(0).trainable_blobs())
            got.push_back(std::string(b.name) + ":" + std::to_string(b.data->size()) + (b.decay ? ":decay" : ""));
        return got;
    };
    EXPECT_EQ(layout(true), (std::vector<std::string>{"biases:2", "scales:2", "weights:54:decay"}));
    EXPECT_EQ(layout(false), (std::vector<std::string>{"biases:2", "weights:54:decay"}));
    EXPECT_EQ(net_from("[maxpool]\n", 4, 4, 1).layer(0).trainable_floats(), 0u);
}

TEST(LayerTraining, MaxpoolRoutesToTheFirstMaximumIncludingPaddedEdges) {
    // 2x2 input, size 2 stride 1 (yolov2-tiny's): windows {0,1,2,3}, {1,3}, {2,3}, {3}.
    // The tie 5 = 5 in the first window goes to index 1, the first in scan order.
    Network net = net_from("[maxpool]\nsize=2\nstride=1\n", 2, 2, 1);
    Layer& l = net.layer(0);
    const std::vector<float> x = {1, 5, 5, 2}, g = {1, 10, 100, 1000};
    std::vector<float> y(4), state(l.train_state_floats(1)), dx(4, 0.f);
    const float* in[] = {x.data()};
    float* grads[] = {dx.data()};
    l.forward_train_reference(in, y.data(), state.data(), 1);
    EXPECT_EQ(y, (std::vector<float>{5, 5, 5, 2}));
    l.backward_reference(in, y.data(), g.data(), state.data(), grads, nullptr, 1);
    EXPECT_EQ(dx, (std::vector<float>{0, 11, 100, 1000}));
}

TEST(LayerTraining, RouteSkipsSourcesWhoseGradientIsNotWanted) {
    Network net = net_from(conv(2, 1, 1, 0, false, "linear") + conv(1, 1, 1, 0, false, "linear") + "[route]\nlayers=-1,-2\n",
                           1, 1, 1);
    Layer& route = net.layer(2);  // output: [layer 1's channel, layer 0's two channels]
    const std::vector<float> a = {0}, b = {0, 0}, g = {1, 2, 3};
    std::vector<float> db(2, 10.f);
    const float* in[] = {a.data(), b.data()};
    float* grads[] = {nullptr, db.data()};
    route.backward_reference(in, nullptr, g.data(), nullptr, grads, nullptr, 1);
    EXPECT_EQ(db, (std::vector<float>{12, 13}));
}

TEST(LayerTraining, UnsupportedCasesAreClearErrors) {
    // A WordTree that is not there: the cfg line and the paths tried.
    try {
        net_from("[softmax]\ntree=no/such.tree\n", 1, 1, 4);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("case.cfg:6"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("cannot find \"no/such.tree\" (tried no/such.tree"), std::string::npos) << e.what();
    }
    // A tree whose size is not the input's.
    EXPECT_THROW(net_from("[softmax]\ntree=" + test::small_tree_path() + "\n", 1, 1, 4), Error);
    std::vector<float> x(4, 0.f);
    const float* in[] = {x.data()};
    // Batch norm over one value per filter has no variance.
    Network one = net_from(conv(2, 1, 1, 0, true, "leaky"), 1, 1, 3);
    std::vector<float> out(2), state(one.layer(0).train_state_floats(1));
    EXPECT_THROW(one.layer(0).forward_train_reference(in, out.data(), state.data(), 1), Error);
}

}  // namespace
}  // namespace yolo9k
