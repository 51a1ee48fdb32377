// Training kernels against oracles. The oneDNN [convolutional] training kernel (blocked
// layouts inside, plain NCHW at its boundary) is checked on random shapes against two:
// ConvolutionalLayer::forward_train_reference / backward_reference, and a naive
// double-precision conv + batch norm (batch statistics) + activation written here from
// the formulas. Checked: forward output, updated rolling statistics, input gradient and
// parameter gradients, including that backward ADDS (subdivisions accumulate).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "backend/onednn/kernel.h"
#include "layer/convolutional.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

struct ConvTrainCase {
    const char* name;
    int c, h, w, filters, size, stride, pad;
    bool bn;
    const char* activation;
    int batch;
};
void PrintTo(const ConvTrainCase& p, std::ostream* os) { *os << p.name; }

Network conv_net(const ConvTrainCase& p) {
    const std::string text = "[net]\nwidth=" + std::to_string(p.w) + "\nheight=" + std::to_string(p.h) +
                             "\nchannels=" + std::to_string(p.c) +
                             "\n[convolutional]\nfilters=" + std::to_string(p.filters) +
                             "\nsize=" + std::to_string(p.size) + "\nstride=" + std::to_string(p.stride) +
                             "\npadding=" + std::to_string(p.pad) + "\nbatch_normalize=" + (p.bn ? "1" : "0") +
                             "\nactivation=" + p.activation + "\n";
    return Network::from_cfg(parse_cfg_text(text, "train_case.cfg"));
}

// What a training forward + backward must produce, in double precision.
struct ConvTrainOracle {
    std::vector<double> output, input_grad, param_grads, rolling_mean, rolling_variance;
};

ConvTrainOracle conv_train_oracle(const ConvolutionalLayer& L, const std::vector<float>& x,
                                  const std::vector<float>& dy, int batch) {
    const Shape in = L.input_shape(), out = L.output_shape();
    const int F = L.filters, K = L.size, S = L.stride, P = L.padding;
    const size_t plane = size_t(out.h) * out.w, count = size_t(batch) * plane;
    auto oidx = [&](int n, int f, size_t s) { return (size_t(n) * F + f) * plane + s; };
    auto xidx = [&](int n, int c, int y, int xx) { return ((size_t(n) * in.c + c) * in.h + y) * in.w + xx; };
    auto widx = [&](int f, int c, int ky, int kx) { return ((size_t(f) * in.c + c) * K + ky) * K + kx; };
    // Visits every (output element, weight, input element) triple of the convolution.
    auto for_each_tap = [&](auto&& visit) {
        for (int n = 0; n < batch; ++n)
            for (int f = 0; f < F; ++f)
                for (int oy = 0; oy < out.h; ++oy)
                    for (int ox = 0; ox < out.w; ++ox)
                        for (int c = 0; c < in.c; ++c)
                            for (int ky = 0; ky < K; ++ky)
                                for (int kx = 0; kx < K; ++kx) {
                                    const int iy = oy * S + ky - P, ix = ox * S + kx - P;
                                    if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                                    visit(oidx(n, f, size_t(oy) * out.w + ox), widx(f, c, ky, kx), xidx(n, c, iy, ix));
                                }
    };

    std::vector<double> z(count * F, 0.0);
    for_each_tap([&](size_t o, size_t wi, size_t xi) { z[o] += double(L.weights[wi]) * x[xi]; });

    ConvTrainOracle r;
    std::vector<double> pre(z.size()), xhat(z.size()), mean(F, 0), var(F, 0);
    for (int f = 0; f < F; ++f) {
        if (L.batch_normalize) {
            for (int n = 0; n < batch; ++n)
                for (size_t s = 0; s < plane; ++s) mean[f] += z[oidx(n, f, s)] / count;
            for (int n = 0; n < batch; ++n)
                for (size_t s = 0; s < plane; ++s) var[f] += std::pow(z[oidx(n, f, s)] - mean[f], 2) / count;
        }
        for (int n = 0; n < batch; ++n)
            for (size_t s = 0; s < plane; ++s) {
                const size_t o = oidx(n, f, s);
                xhat[o] = L.batch_normalize ? (z[o] - mean[f]) / std::sqrt(var[f] + 1e-5) : z[o];
                pre[o] = (L.batch_normalize ? L.scales[f] * xhat[o] : z[o]) + L.biases[f];
            }
    }
    auto act = [&](double u) {
        switch (L.activation) {
            case Activation::leaky:
                return u > 0 ? u : 0.1 * u;
            case Activation::relu:
                return u > 0 ? u : 0.0;
            case Activation::logistic:
                return 1 / (1 + std::exp(-u));
            case Activation::linear:
                break;
        }
        return u;
    };
    auto act_grad = [&](double u) {
        switch (L.activation) {
            case Activation::leaky:
                return u > 0 ? 1.0 : 0.1;
            case Activation::relu:
                return u > 0 ? 1.0 : 0.0;
            case Activation::logistic:
                return act(u) * (1 - act(u));
            case Activation::linear:
                break;
        }
        return 1.0;
    };
    r.output.resize(z.size());
    std::vector<double> du(z.size());
    for (size_t i = 0; i < z.size(); ++i) {
        r.output[i] = act(pre[i]);
        du[i] = dy[i] * act_grad(pre[i]);
    }

    // Parameter gradients in trainable-blob order: biases, [scales], weights.
    const size_t w_off = size_t(L.batch_normalize ? 2 : 1) * F;
    r.param_grads.assign(w_off + L.weights.size(), 0.0);
    std::vector<double> dz = du;
    for (int f = 0; f < F; ++f) {
        double sum_du = 0, sum_du_xhat = 0;
        for (int n = 0; n < batch; ++n)
            for (size_t s = 0; s < plane; ++s) {
                sum_du += du[oidx(n, f, s)];
                sum_du_xhat += du[oidx(n, f, s)] * xhat[oidx(n, f, s)];
            }
        r.param_grads[f] = sum_du;
        if (!L.batch_normalize) continue;
        r.param_grads[F + f] = sum_du_xhat;
        // dL/dz = scale / sqrt(var + eps) * (du - mean(du) - xhat * mean(du * xhat))
        const double k = L.scales[f] / std::sqrt(var[f] + 1e-5);
        for (int n = 0; n < batch; ++n)
            for (size_t s = 0; s < plane; ++s) {
                const size_t o = oidx(n, f, s);
                dz[o] = k * (du[o] - sum_du / count - xhat[o] * sum_du_xhat / count);
            }
    }
    r.input_grad.assign(x.size(), 0.0);
    for_each_tap([&](size_t o, size_t wi, size_t xi) {
        r.param_grads[w_off + wi] += dz[o] * x[xi];
        r.input_grad[xi] += dz[o] * L.weights[wi];
    });

    if (L.batch_normalize) {
        for (int f = 0; f < F; ++f) {
            r.rolling_mean.push_back(.99 * L.rolling_mean[f] + .01 * mean[f]);
            r.rolling_variance.push_back(.99 * L.rolling_variance[f] + .01 * var[f] * count / (count - 1.0));
        }
    }
    return r;
}

// max |got - (base + times * want)| relative to max |times * want|.
double relative_error(const std::vector<float>& got, const std::vector<float>& base, const std::vector<double>& want,
                      double times = 1) {
    double err = 0, scale = 1e-30;
    for (size_t i = 0; i < want.size(); ++i) {
        const double expected = (base.empty() ? 0.0 : base[i]) + times * want[i];
        err = std::max(err, std::abs(got[i] - expected));
        scale = std::max(scale, std::abs(times * want[i]));
    }
    return err / scale;
}

std::unique_ptr<TrainKernel> onednn_conv_kernel(Layer& layer, int batch) {
    const TrainKernelFactory* factory = onednn::train_kernels().find("convolutional");
    if (!factory) throw Error("no oneDNN convolutional training kernel registered");
    return (*factory)({layer, batch});
}

constexpr double kTolerance = 1e-4;

// Checks one relative error and records it (--gtest_output=json shows the figures).
void expect_close(const char* what, double relative) {
    EXPECT_LE(relative, kTolerance) << what;
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", relative);
    ::testing::Test::RecordProperty(what, text);
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

class ConvTrainKernelVsReference : public ::testing::TestWithParam<ConvTrainCase> {};

TEST_P(ConvTrainKernelVsReference, ForwardAndBackwardAgree) {
    const ConvTrainCase p = GetParam();
    Network net = conv_net(p), ref_net = conv_net(p);
    test::randomize_weights(net, 7);
    test::randomize_weights(ref_net, 7);
    auto& L = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    auto& R = dynamic_cast<ConvolutionalLayer&>(ref_net.layer(0));
    const auto x = test::random_vector(size_t(p.batch) * L.input_shape().size(), 11);
    const auto dy = test::random_vector(size_t(p.batch) * L.output_shape().size(), 13);
    const float* inputs[] = {x.data()};

    std::vector<float> ref_y(dy.size()), ref_state(R.train_state_floats(p.batch)), ref_dx(x.size(), 0.f),
        ref_dp(R.trainable_floats(), 0.f);
    float* ref_input_grads[] = {ref_dx.data()};
    R.forward_train_reference(inputs, ref_y.data(), ref_state.data(), p.batch);
    R.backward_reference(inputs, ref_y.data(), dy.data(), ref_state.data(), ref_input_grads, ref_dp.data(), p.batch);

    auto kernel = onednn_conv_kernel(L, p.batch);
    std::vector<float> y(dy.size()), state(kernel->state_floats()), dx(x.size(), 0.f), dp(L.trainable_floats(), 0.f);
    float* input_grads[] = {dx.data()};
    kernel->forward(inputs, y.data(), state.data());
    kernel->backward(inputs, y.data(), dy.data(), state.data(), input_grads, dp.data());

    expect_close("output", relative_error(y, {}, as_double(ref_y)));
    expect_close("input_grad", relative_error(dx, {}, as_double(ref_dx)));
    expect_close("param_grads", relative_error(dp, {}, as_double(ref_dp)));
    if (p.bn) {
        expect_close("rolling_mean", relative_error(L.rolling_mean, {}, as_double(R.rolling_mean)));
        expect_close("rolling_variance", relative_error(L.rolling_variance, {}, as_double(R.rolling_variance)));
    }
}

class ConvTrainKernelVsOracle : public ::testing::TestWithParam<ConvTrainCase> {};

TEST_P(ConvTrainKernelVsOracle, ForwardBackwardAndAccumulation) {
    const ConvTrainCase p = GetParam();
    Network net = conv_net(p);
    test::randomize_weights(net, 7);
    auto& L = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    const auto x = test::random_vector(size_t(p.batch) * L.input_shape().size(), 11);
    const auto dy = test::random_vector(size_t(p.batch) * L.output_shape().size(), 13);
    const ConvTrainOracle want = conv_train_oracle(L, x, dy, p.batch);

    auto kernel = onednn_conv_kernel(L, p.batch);
    std::vector<float> state(kernel->state_floats()), y(dy.size());
    const float* inputs[] = {x.data()};
    kernel->forward(inputs, y.data(), state.data());
    expect_close("output", relative_error(y, {}, want.output));
    if (p.bn) {
        expect_close("rolling_mean", relative_error(L.rolling_mean, {}, want.rolling_mean));
        expect_close("rolling_variance", relative_error(L.rolling_variance, {}, want.rolling_variance));
    }

    // Start from non-zero buffers: backward must add, twice over for two calls.
    const auto dx0 = test::random_vector(x.size(), 17), dp0 = test::random_vector(want.param_grads.size(), 19);
    std::vector<float> dx = dx0, dp = dp0;
    float* input_grads[] = {dx.data()};
    for (int times = 1; times <= 2; ++times) {
        kernel->backward(inputs, y.data(), dy.data(), state.data(), input_grads, dp.data());
        expect_close(times == 1 ? "input_grad" : "input_grad_accumulated",
                     relative_error(dx, dx0, want.input_grad, times));
        expect_close(times == 1 ? "param_grads" : "param_grads_accumulated",
                     relative_error(dp, dp0, want.param_grads, times));
    }
}

ConvTrainCase with(ConvTrainCase c, const char* name, const char* act, bool bn) {
    c.name = name;
    c.activation = act;
    c.bn = bn;
    return c;
}

// Every activation with and without batch norm on one shape, then shapes x options.
const ConvTrainCase kBase{"", 5, 9, 7, 6, 3, 1, 1, true, "leaky", 2};
const auto kConvTrainCases =
    ::testing::Values(with(kBase, "bn_leaky", "leaky", true), with(kBase, "bn_relu", "relu", true),
                      with(kBase, "bn_logistic", "logistic", true), with(kBase, "bn_linear", "linear", true),
                      with(kBase, "bias_leaky", "leaky", false), with(kBase, "bias_relu", "relu", false),
                      with(kBase, "bias_logistic", "logistic", false), with(kBase, "bias_linear", "linear", false),
                      ConvTrainCase{"k1_s1_p0_batch1", 7, 6, 5, 9, 1, 1, 0, true, "leaky", 1},
                      ConvTrainCase{"k1_s2_p0_odd", 4, 9, 11, 5, 1, 2, 0, false, "linear", 3},
                      ConvTrainCase{"k3_s2_p1_odd", 3, 11, 9, 8, 3, 2, 1, true, "leaky", 2},
                      ConvTrainCase{"k3_s1_p0", 6, 8, 7, 4, 3, 1, 0, true, "relu", 3},
                      ConvTrainCase{"k3_s2_p0_batch3", 5, 10, 13, 7, 3, 2, 0, false, "logistic", 3},
                      ConvTrainCase{"wide_blocked", 32, 7, 5, 48, 3, 1, 1, true, "leaky", 2},
                      ConvTrainCase{"odd_channels_1x1", 19, 5, 6, 17, 1, 1, 0, true, "leaky", 3},
                      // rows longer than the batch-norm passes' 64-column tiles, 8 of 16 lanes used
                      ConvTrainCase{"rows_over_one_tile", 3, 4, 150, 8, 3, 1, 1, true, "leaky", 2});
const auto kCaseName = [](const auto& info) { return std::string(info.param.name); };
INSTANTIATE_TEST_SUITE_P(ConvTrain, ConvTrainKernelVsOracle, kConvTrainCases, kCaseName);
INSTANTIATE_TEST_SUITE_P(ConvTrain, ConvTrainKernelVsReference, kConvTrainCases, kCaseName);

TEST(ConvTrainKernel, FirstLayerSkipsInputGradient) {
    const ConvTrainCase p{"first", 3, 9, 9, 16, 3, 1, 1, true, "leaky", 2};
    Network net = conv_net(p);
    test::randomize_weights(net, 3);
    auto& L = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    const auto x = test::random_vector(size_t(p.batch) * L.input_shape().size(), 1);
    const auto dy = test::random_vector(size_t(p.batch) * L.output_shape().size(), 2);
    const ConvTrainOracle want = conv_train_oracle(L, x, dy, p.batch);
    auto kernel = onednn_conv_kernel(L, p.batch);
    std::vector<float> state(kernel->state_floats()), y(dy.size()), dp(want.param_grads.size(), 0.f);
    const float* inputs[] = {x.data()};
    float* input_grads[] = {nullptr};
    kernel->forward(inputs, y.data(), state.data());
    kernel->backward(inputs, y.data(), dy.data(), state.data(), input_grads, dp.data());
    expect_close("param_grads", relative_error(dp, {}, want.param_grads));
}

TEST(ConvTrainKernel, ParametersChangedIsSeenByTheNextForward) {
    const ConvTrainCase p{"update", 4, 7, 7, 8, 3, 1, 1, false, "leaky", 1};
    Network net = conv_net(p);
    test::randomize_weights(net, 4);
    auto& L = dynamic_cast<ConvolutionalLayer&>(net.layer(0));
    auto kernel = onednn_conv_kernel(L, p.batch);
    // An optimizer step: new host parameters after the kernel took its copies.
    test::randomize_weights(net, 5);
    kernel->parameters_changed();
    const auto x = test::random_vector(L.input_shape().size(), 6);
    const auto dy = test::random_vector(L.output_shape().size(), 8);
    const ConvTrainOracle want = conv_train_oracle(L, x, dy, p.batch);
    std::vector<float> state(kernel->state_floats()), y(dy.size());
    const float* inputs[] = {x.data()};
    kernel->forward(inputs, y.data(), state.data());
    expect_close("output", relative_error(y, {}, want.output));
}

}  // namespace
}  // namespace yolo9k
