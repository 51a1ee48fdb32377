// One table of ops x backends (ggml's test-backend-ops is the model). Every layer type, on
// every registered backend, is checked three ways against the reference backend:
//   Forward   every layer's inference output, within the backend's tolerance;
//   Train     the training forward (the head's input) and the parameter gradients;
//   Gradient  the parameter gradients against central finite differences of the loss
//             that the backend computes itself;
// and `yolo9k_op_tests --perf` times each row instead. A backend joins the table by
// registering itself (src/backend/<name>/); a layer type joins by adding rows below, and
// OpTable.EveryLayerTypeHasARow fails until it does. A row whose layer a backend does not
// declare still runs: it checks the shared host fallback inside that backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "layer/convolutional.h"
#include "layer/layer.h"
#include "network/network.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

std::string conv(int filters, int size, int stride, bool bn, const char* act, int pad = 1) {
    return "[convolutional]\nfilters=" + std::to_string(filters) + "\nsize=" + std::to_string(size) +
           "\nstride=" + std::to_string(stride) + "\npad=" + std::to_string(pad) +
           "\nbatch_normalize=" + (bn ? "1" : "0") + "\nactivation=" + act + "\n";
}
std::string maxpool(int size, int stride) {
    return "[maxpool]\nsize=" + std::to_string(size) + "\nstride=" + std::to_string(stride) + "\n";
}

struct OpCase {
    std::string name;
    std::string layer;  // the layer type under test: the LAST section of `cfg`
    std::string cfg;    // sections after [net]; a 1x1 linear conv first gives parameter-free
                        // layers a gradient to carry back
    int w, h, c, batch;
};

// Shared by the three checks. Small shapes: the whole table runs in a few seconds.
std::vector<OpCase> op_cases() {
    const std::string lead = conv(8, 1, 1, false, "linear");  // trainable, ahead of parameter-free layers
    return {
        {"conv3x3_bn_leaky", "convolutional", conv(8, 3, 1, true, "leaky"), 7, 6, 3, 2},
        {"conv1x1_bias_linear", "convolutional", conv(5, 1, 1, false, "linear"), 5, 5, 7, 2},
        {"conv3x3_s2_relu", "convolutional", conv(4, 3, 2, false, "relu"), 9, 7, 3, 1},
        {"conv3x3_nopad_logistic", "convolutional", conv(3, 3, 1, false, "logistic", 0), 6, 6, 2, 2},
        // >= 16 input channels, 3x3 stride 1: oneDNN's Winograd kernels
        {"conv3x3_winograd", "convolutional", conv(16, 3, 1, true, "linear"), 8, 8, 16, 1},
        {"maxpool2s2_odd", "maxpool", lead + maxpool(2, 2), 7, 5, 3, 2},
        {"maxpool2s1_tiny", "maxpool", lead + maxpool(2, 1), 5, 5, 3, 2},
        {"maxpool3s2", "maxpool", lead + maxpool(3, 2), 9, 7, 2, 1},
        {"avgpool", "avgpool", lead + "[avgpool]\n", 5, 3, 2, 2},
        {"route_concat", "route", lead + conv(3, 3, 1, false, "linear") + "[route]\nlayers=-1,-2\n", 6, 5, 2, 2},
        {"reorg_stride2", "reorg", lead + "[reorg]\nstride=2\n", 6, 4, 2, 2},
        {"softmax_groups2", "softmax", lead + "[avgpool]\n[softmax]\ngroups=2\n", 3, 3, 2, 2},
        {"softmax_tree9", "softmax", conv(9, 1, 1, false, "linear") + "[avgpool]\n[softmax]\ntree=" + test::small_tree_path() + "\n",
         3, 3, 2, 2},
        {"region_softmax", "region", conv(2 * (5 + 3), 1, 1, false, "linear") +
                                         "[region]\nclasses=3\nnum=2\nsoftmax=1\nanchors=1,1,2,2\n", 4, 3, 2, 2},
        {"region_logistic", "region", conv(5 + 2, 1, 1, false, "linear") + "[region]\nclasses=2\nnum=1\nanchors=1,1\n", 3,
         4, 2, 1},
        {"region_tree9", "region", conv(2 * (5 + 9), 1, 1, false, "linear") +
                                       "[region]\nclasses=9\nnum=2\nsoftmax=1\nanchors=1,1,2,2\ntree=" + test::small_tree_path() + "\n",
         3, 2, 2, 2},
        {"cost_sse", "cost", lead + "[avgpool]\n[cost]\ntype=sse\n", 3, 2, 2, 2},
    };
}

bool is_head(const std::string& type) { return type == "region" || type == "softmax" || type == "cost"; }

// The network a case trains. Training differentiates a loss at the head's INPUT (the loss
// owns the head's own derivative, as darknet's do; those are checked by
// test_layer_gradients.cpp and the loss tests), so a layer under test that is not a head gets
// a 1x1 conv + [region] after it: its whole output then reaches the loss, position by position.
std::string training_cfg(const OpCase& c) {
    if (is_head(c.layer)) return c.cfg;
    return c.cfg + conv(6, 1, 1, false, "linear", 0) + "[region]\nclasses=1\nnum=1\nanchors=1,1\n";
}

// Tolerance, relative to an array's largest magnitude, for a backend computing in `p`.
// The reference itself rounds once per layer output in float. bf16 keeps 8 bits of mantissa
// (2^-8 relative per rounding, a few roundings per layer). int8 rounds each input, weight and
// output to 1/127 of its range (half a step each), and a row runs up to two quantized layers
// (the lead 1x1 conv and the layer tested), so errors of a few steps are expected: 5% of the
// largest magnitude is about 6 steps.
float forward_tolerance(Precision p) {
    switch (p) {
        case Precision::f32: return 1e-5f;
        case Precision::bf16: return 2e-2f;
        case Precision::int8: return 5e-2f;
    }
    return 0;
}
float gradient_tolerance(Precision p) { return p == Precision::f32 ? 1e-4f : 5e-2f; }

struct OpRow {
    OpCase op;
    std::string backend;
    Precision precision = Precision::f32;
};

std::string row_name(const OpRow& r) {
    std::string s = r.op.name + "_" + r.backend + "_" + precision_name(r.precision);
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s;
}

// gtest prints a row by its name, not its bytes.
void PrintTo(const OpRow& r, std::ostream* os) { *os << row_name(r); }

// Every case x every backend (that can train, for `training`) x every precision it declares.
std::vector<OpRow> rows(bool training, bool with_reference) {
    std::vector<OpRow> out;
    for (const std::string& b : backends()) {
        const Backend& be = find_backend(b);
        if ((training && !be.make_train_executor) || (b == "reference" && !with_reference)) continue;
        for (Precision p : training ? be.training_precisions : be.precisions)
            for (const OpCase& c : op_cases()) out.push_back({c, b, p});
    }
    return out;
}

float scale_of(const std::vector<float>& v) { return std::max(1.f, test::max_abs(v.data(), v.size())); }

// int8 rows: calibrated on the very input they run (min-max of the reference's outputs), so
// the rows measure the arithmetic, not how well a calibration set represents an input.
std::shared_ptr<const ActivationRanges> ranges_from(const Executor& reference, const Network& net,
                                                    const std::vector<float>& input) {
    auto r = std::make_shared<ActivationRanges>();
    const auto range_of = [](const std::vector<float>& v) {
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        return ActivationRange{*lo, *hi};
    };
    r->input = range_of(input);
    for (int i = 0; i < net.size(); ++i) r->layers.push_back(range_of(reference.layer_output(i)));
    return r;
}

// ---- Forward -----------------------------------------------------------------------------

class OpForward : public ::testing::TestWithParam<OpRow> {};

TEST_P(OpForward, EveryLayerMatchesTheReference) {
    const OpRow& r = GetParam();
    Network net = test::net_from(r.op.cfg, r.op.w, r.op.h, r.op.c);
    test::randomize_weights(net, 21);
    const auto input = test::random_vector(size_t(r.op.batch) * net.input_shape().size(), 5, -1.f, 1.f);
    auto ref = make_executor(net, "reference", {.batch = r.op.batch, .keep_outputs = true});
    ref->forward(input.data());
    std::unique_ptr<Executor> ex;
    try {
        ex = make_executor(net, r.backend,
                           {.batch = r.op.batch, .keep_outputs = true, .precision = r.precision,
                            .activation_ranges = r.precision == Precision::int8 ? ranges_from(*ref, net, input) : nullptr});
    } catch (const Error& e) {
        // A declared precision this CPU lacks the instructions for: refused by name, not run in f32.
        if (r.precision != Precision::f32 && std::string(e.what()).find("needs a CPU with") != std::string::npos)
            GTEST_SKIP() << e.what();
        throw;
    }
    ex->forward(input.data());
    const float tol = forward_tolerance(r.precision);
    float largest_error = 0;
    for (int i = 0; i < net.size(); ++i) {
        const auto a = ref->layer_output(i), b = ex->layer_output(i);
        ASSERT_EQ(a.size(), b.size()) << "layer " << i;
        const float err = test::max_abs_diff(a.data(), b.data(), a.size());
        largest_error = std::max(largest_error, err / scale_of(a));
        EXPECT_LE(err, tol * scale_of(a)) << r.backend << " layer " << i << " (" << net.layer(i).type() << ")";
    }
    // A reduced precision that matches the reference to f32's tolerance everywhere ran f32.
    if (r.precision != Precision::f32) {
        EXPECT_GT(largest_error, forward_tolerance(Precision::f32)) << "no rounding at all: is it computing in f32?";
    }
    // The seam's typed form: the same pass through a described tensor, and a wrong one refused.
    const TensorDesc in = ex->input_desc();
    EXPECT_EQ(in.elements(), input.size());
    ex->forward(ConstTensorView{in, input.data()});
    const ConstTensorView out = ex->output_tensor();
    EXPECT_EQ(out.desc, ref->output_desc());
    EXPECT_EQ(test::max_abs_diff(static_cast<const float*>(out.data), ex->layer_output(net.output_layer()).data(),
                                 out.desc.elements()),
              0.f);
    TensorDesc wrong = in;
    wrong.dtype = DType::bf16;
    EXPECT_THROW(ex->forward(ConstTensorView{wrong, input.data()}), Error);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpForward, ::testing::ValuesIn(rows(false, false)),
                         [](const auto& info) { return row_name(info.param); });

// ---- Training forward and backward against the reference --------------------------------

struct TrainResult {
    std::vector<float> head_input;
    std::vector<std::vector<float>> gradients;
};

TrainResult train_once(const OpCase& c, const std::string& backend) {
    Network net = test::net_from(training_cfg(c), c.w, c.h, c.c);
    test::randomize_weights(net, 6);
    auto ex = make_train_executor(net, backend, {c.batch, 1});
    const auto input = test::random_vector(size_t(c.batch) * net.input_shape().size(), 13, -1.f, 1.f);
    const size_t head_n = size_t(c.batch) * net.layer(net.output_layer()).input_shape().size();
    const auto r = test::random_vector(head_n, 14);
    ex->forward(input.data());
    TrainResult out;
    out.head_input.assign(ex->head_input(), ex->head_input() + head_n);
    ex->zero_grad();
    ex->backward(r.data());
    ex->backward(r.data());  // gradients accumulate until zero_grad()
    for (const auto& g : ex->gradients()) out.gradients.push_back(g.data);
    return out;
}

class OpTrain : public ::testing::TestWithParam<OpRow> {};

TEST_P(OpTrain, ForwardAndGradientsMatchTheReference) {
    const OpRow& r = GetParam();
    const TrainResult a = train_once(r.op, "reference"), b = train_once(r.op, r.backend);
    const float tol = gradient_tolerance(r.precision);
    ASSERT_EQ(a.head_input.size(), b.head_input.size());
    EXPECT_LE(test::max_abs_diff(a.head_input.data(), b.head_input.data(), a.head_input.size()), tol * scale_of(a.head_input));
    ASSERT_EQ(a.gradients.size(), b.gradients.size());
    for (size_t i = 0; i < a.gradients.size(); ++i)
        EXPECT_LE(test::max_abs_diff(a.gradients[i].data(), b.gradients[i].data(), a.gradients[i].size()),
                  tol * scale_of(a.gradients[i]))
            << "gradient buffer " << i;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTrain, ::testing::ValuesIn(rows(true, false)),
                         [](const auto& info) { return row_name(info.param); });

// ---- Gradients by finite differences, through each backend's own training forward --------

class OpGradient : public ::testing::TestWithParam<OpRow> {};

TEST_P(OpGradient, ParameterGradientsMatchFiniteDifferences) {
    const OpRow& r = GetParam();
    Network net = test::net_from(training_cfg(r.op), r.op.w, r.op.h, r.op.c);
    test::randomize_weights(net, 17);
    // Values on a 2^-16 grid, so x ± k·eps (eps a power of two) is exact in float.
    auto snap = [](std::vector<float>& v) {
        for (float& x : v) x = std::ldexp(std::round(std::ldexp(x, 16)), -16);
    };
    for (int i = 0; i < net.size(); ++i)
        for (auto& b : net.layer(i).trainable_blobs()) snap(*b.data);
    auto input = test::random_vector(size_t(r.op.batch) * net.input_shape().size(), 7, -1.f, 1.f);
    snap(input);
    auto ex = make_train_executor(net, r.backend, {r.op.batch, 1});
    const size_t head_n = size_t(r.op.batch) * net.layer(net.output_layer()).input_shape().size();
    const auto weights = test::random_vector(head_n, 99);

    // Batch norm's rolling statistics move on every training forward but never feed the
    // training output, so repeated forwards see the same function.
    auto loss = [&] {
        ex->parameters_changed();
        ex->forward(input.data());
        const float* h = ex->head_input();
        double s = 0;
        for (size_t k = 0; k < head_n; ++k) s += double(weights[k]) * h[k];
        return s;
    };
    loss();
    ex->zero_grad();
    ex->backward(weights.data());  // after the forward at the unperturbed parameters
    // The sign of every leaky/relu output: a step that flips one has crossed a kink (the
    // loss is not differentiable there at this step).
    std::vector<int> kinked_layers;
    for (int i = 0; i <= net.output_layer(); ++i)
        if (const auto* c = dynamic_cast<const ConvolutionalLayer*>(&net.layer(i)))
            if (c->activation == Activation::leaky || c->activation == Activation::relu) kinked_layers.push_back(i);
    auto signs = [&] {
        std::vector<bool> out;
        for (int i : kinked_layers)
            for (float v : ex->layer_output(i)) out.push_back(v > 0);
        return out;
    };
    loss();
    const std::vector<bool> signs0 = signs();
    // Fourth-order central difference at step eps (a power of two); empty across a kink.
    auto difference = [&](float& x, float eps) -> std::optional<double> {
        const float saved = x;
        const float steps[4] = {-2 * eps, -eps, eps, 2 * eps};
        double l[4];
        bool crossed = false;
        for (int k = 0; k < 4 && !crossed; ++k) {
            x = saved + steps[k];
            l[k] = loss();
            crossed = signs() != signs0;
        }
        x = saved;
        if (crossed) return std::nullopt;
        return (8 * (l[2] - l[1]) - (l[3] - l[0])) / (12.0 * eps);
    };
    size_t checked = 0, skipped = 0;
    for (const LayerGradients& g : ex->gradients()) {
        Layer& layer = net.layer(g.layer);
        size_t offset = 0;
        for (auto& blob : layer.trainable_blobs()) {
            const float* analytic = g.data.data() + offset;
            const size_t n = blob.data->size();
            offset += n;
            const double scale = test::max_abs(analytic, n);
            // At most 24 coordinates per array, spread evenly: enough to catch a wrong index.
            const size_t stride = std::max<size_t>(1, n / 24);
            for (size_t i = 0; i < n; i += stride) {
                // Halve the step while it crosses a kink; a max changing its winner is no
                // sign change, so two successive steps must also agree.
                const double floor = std::max(0.1 * scale, 1e-6);
                std::optional<double> numeric, previous;
                for (float eps = 1.f / 64; !numeric && eps >= 1.f / 4096; eps /= 2) {
                    const std::optional<double> current = difference((*blob.data)[i], eps);
                    if (current && previous && std::abs(*current - *previous) <= 1e-3 * std::max(std::abs(*current), floor))
                        numeric = current;
                    previous = current;
                }
                ++checked;
                if (!numeric) {
                    ++skipped;
                    continue;
                }
                const double err = std::abs(analytic[i] - *numeric) /
                                   std::max({std::abs(double(analytic[i])), std::abs(*numeric), floor});
                EXPECT_LE(err, 2e-3) << r.backend << " layer " << g.layer << " " << blob.name << "[" << i << "]: analytic "
                                     << analytic[i] << ", numeric " << *numeric;
            }
        }
    }
    EXPECT_GT(checked, 0u);
    EXPECT_LE(skipped * 5, checked) << "kinks hid " << skipped << " of " << checked << " coordinates";
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGradient, ::testing::ValuesIn(rows(true, true)),
                         [](const auto& info) { return row_name(info.param); });

// ---- The table itself ----------------------------------------------------------------------

TEST(OpTable, EveryLayerTypeHasARow) {
    std::set<std::string> covered;
    for (const OpCase& c : op_cases()) covered.insert(c.layer);
    for (const std::string& type : registered_layers())
        EXPECT_TRUE(covered.count(type)) << "layer type [" << type << "] has no row in tests/ops/test_ops.cpp";
}

TEST(OpTable, EveryRowEndsInTheLayerItTests) {
    for (const OpCase& c : op_cases()) {
        Network net = test::net_from(c.cfg, c.w, c.h, c.c);
        EXPECT_EQ(net.layer(net.size() - 1).type(), c.layer) << c.name;
    }
}

TEST(OpTable, EveryBackendBuildsAndRefusesWhatItCannot) {
    Network net = test::net_from(conv(4, 3, 1, true, "leaky"), 6, 6, 3);
    for (const std::string& b : backends()) {
        const Backend& be = find_backend(b);
        EXPECT_NO_THROW(make_executor(net, b)) << b;
        for (Precision p : {Precision::f32, Precision::bf16, Precision::int8})
            if (std::find(be.precisions.begin(), be.precisions.end(), p) == be.precisions.end()) {
                EXPECT_THROW(make_executor(net, b, {.precision = p}), Error) << b << " " << precision_name(p);
            }
        EXPECT_THROW(make_executor(net, b, {.device = "no-such-device"}), Error) << b;
        if (!be.make_train_executor) {
            EXPECT_THROW(make_train_executor(net, b, {}), Error) << b;
        }
    }
    EXPECT_THROW(make_executor(net, "no-such-backend"), Error);
}

// ---- Perf mode: `yolo9k_op_tests --perf` ---------------------------------------------------

double median_ms(const std::function<void()>& run) {
    std::vector<double> ms;
    run();  // warm-up
    for (int i = 0; i < 15; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
}

int run_perf() {
    std::printf("%-26s %-14s %-5s %12s %16s\n", "op", "backend", "dtype", "forward ms", "train fwd+bwd ms");
    for (const std::string& b : backends()) {
        const Backend& be = find_backend(b);
        for (Precision p : be.precisions)
            for (const OpCase& c : op_cases()) {
                Network net = test::net_from(c.cfg, c.w, c.h, c.c);
                test::randomize_weights(net, 1);
                const auto input = test::random_vector(size_t(c.batch) * net.input_shape().size(), 2);
                std::unique_ptr<Executor> ex;
                try {
                    std::shared_ptr<const ActivationRanges> ranges;
                    if (p == Precision::int8) {
                        auto ref = make_executor(net, "reference", {.batch = c.batch, .keep_outputs = true});
                        ref->forward(input.data());
                        ranges = ranges_from(*ref, net, input);
                    }
                    ex = make_executor(net, b, {.batch = c.batch, .precision = p, .activation_ranges = ranges});
                } catch (const Error& e) {
                    std::printf("%-26s %-14s %-5s  (%s)\n", c.name.c_str(), b.c_str(), precision_name(p), e.what());
                    continue;
                }
                const double fwd = median_ms([&] { ex->forward(input.data()); });
                double train = NAN;
                if (be.make_train_executor && std::find(be.training_precisions.begin(), be.training_precisions.end(), p) !=
                                                  be.training_precisions.end()) {
                    Network tnet = test::net_from(training_cfg(c), c.w, c.h, c.c);
                    test::randomize_weights(tnet, 1);
                    auto tex = make_train_executor(tnet, b, {c.batch, 0});
                    const std::vector<float> g(size_t(c.batch) * tnet.layer(tnet.output_layer()).input_shape().size(), 1e-3f);
                    train = median_ms([&] {
                        tex->forward(input.data());
                        tex->backward(g.data());
                    });
                }
                std::printf("%-26s %-14s %-5s %12.4f %16.4f\n", c.name.c_str(), b.c_str(), precision_name(p), fwd, train);
            }
    }
    return 0;
}

}  // namespace
}  // namespace yolo9k

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--perf") == 0) return yolo9k::run_perf();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
