// Whole-network training backward: TrainExecutor chains every layer's backward (route
// fan-out, reorg passthrough, batch norm across a batch) - checked against central finite
// differences of a linear loss on the head input, and the oneDNN kernels against the
// reference executor.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/backend.h"
#include "core/limits.h"
#include "network/network.h"
#include "parse/cfg.h"
#include "support/test_support.h"

namespace yolo9k {
namespace {

// A YOLOv2 in miniature: conv+BN, maxpool, a passthrough (route + reorg + route), region.
const char* kTinyYolo = R"([net]
width=12
height=12
channels=3
[convolutional]
filters=4
size=3
stride=1
pad=1
batch_normalize=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=8
size=3
stride=1
pad=1
batch_normalize=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=8
size=1
stride=1
pad=1
batch_normalize=1
activation=leaky
[route]
layers=-3
[reorg]
stride=2
[route]
layers=-1,-3
[convolutional]
filters=14
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1,1,2,2
classes=2
num=2
softmax=1
)";

double linear_loss(TrainExecutor& ex, const std::vector<float>& input, const std::vector<float>& r) {
    ex.forward(input.data());
    const float* h = ex.head_input();
    double s = 0;
    for (size_t k = 0; k < r.size(); ++k) s += double(r[k]) * h[k];
    return s;
}

TEST(TrainExecutor, BackwardMatchesFiniteDifferences) {
    Network net = Network::from_cfg(parse_cfg_text(kTinyYolo, "tiny-yolo.cfg"));
    test::randomize_weights(net, 5);
    const int batch = 2;
    const std::unique_ptr<TrainExecutor> ex_owner = make_train_executor(net, "reference", {batch, 1});
    TrainExecutor& ex = *ex_owner;
    const auto input = test::random_vector(size_t(batch) * net.input_shape().size(), 11, 0.f, 1.f);
    const int head = net.output_layer();
    const size_t n = size_t(batch) * net.layer(head).input_shape().size();
    const auto r = test::random_vector(n, 12);
    linear_loss(ex, input, r);
    ex.zero_grad();
    ex.backward(r.data());

    double worst = 0;
    int checked = 0;
    for (auto& g : ex.gradients()) {
        Layer& l = net.layer(g.layer);
        size_t off = 0;
        for (auto& blob : l.trainable_blobs()) {
            auto& v = *blob.data;
            // A sample of each blob keeps the test fast.
            for (size_t k = 0; k < v.size(); k += std::max<size_t>(1, v.size() / 6)) {
                // Leaky kinks and maxpool winners make a finite difference wrong when a step
                // crosses one; two step sizes rarely both cross, so the better one is judged.
                const double analytic = g.data[off + k];
                double rel = 1e9, numeric = 0;
                for (float step : {1e-3f, 3e-4f}) {
                    const float keep = v[k], eps = step * std::max(1.f, std::fabs(keep));
                    v[k] = keep + eps;
                    const double up = linear_loss(ex, input, r);
                    v[k] = keep - eps;
                    const double down = linear_loss(ex, input, r);
                    v[k] = keep;
                    const double n = (up - down) / (2 * eps);
                    const double e = std::fabs(n - analytic) / std::max({std::fabs(n), std::fabs(analytic), 1e-1});
                    if (e < rel) rel = e, numeric = n;
                }
                worst = std::max(worst, rel);
                EXPECT_LE(rel, 1e-2) << "layer " << g.layer << " " << blob.name << "[" << k << "]: analytic " << analytic
                                     << " numeric " << numeric;
                ++checked;
            }
            off += v.size();
        }
    }
    EXPECT_GT(checked, 30);
    RecordProperty("max_relative_error", std::to_string(worst));
}

TEST(TrainExecutor, OnednnMatchesReference) {
    // One network per backend: a training forward moves the rolling statistics, so each
    // backend starts from its own identical copy.
    Network nets[2] = {Network::from_cfg(parse_cfg_text(kTinyYolo, "a.cfg")), Network::from_cfg(parse_cfg_text(kTinyYolo, "b.cfg"))};
    const int batch = 3;
    const auto input = test::random_vector(size_t(batch) * nets[0].input_shape().size(), 13, 0.f, 1.f);
    const int head = nets[0].output_layer();
    const auto r = test::random_vector(size_t(batch) * nets[0].layer(head).input_shape().size(), 14);
    std::vector<std::vector<float>> grads[2];
    std::vector<float> head_in[2];
    for (int k = 0; k < 2; ++k) {
        test::randomize_weights(nets[k], 6);
        const std::unique_ptr<TrainExecutor> ex_owner = make_train_executor(nets[k], k == 0 ? "reference" : "onednn", {batch, 0});
        TrainExecutor& ex = *ex_owner;
        ex.forward(input.data());
        head_in[k].assign(ex.head_input(), ex.head_input() + r.size());
        ex.zero_grad();
        ex.backward(r.data());
        ex.backward(r.data());  // accumulates
        for (auto& g : ex.gradients()) grads[k].push_back(g.data);
    }
    EXPECT_LE(test::max_abs_diff(head_in[0].data(), head_in[1].data(), r.size()),
              1e-4f * std::max(1.f, test::max_abs(head_in[0].data(), r.size())));
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t i = 0; i < grads[0].size(); ++i) {
        const auto& a = grads[0][i];
        const auto& b = grads[1][i];
        EXPECT_LE(test::max_abs_diff(a.data(), b.data(), a.size()), 1e-3f * std::max(1.f, test::max_abs(a.data(), a.size())))
            << "gradient buffer " << i;
    }
    for (int i = 0; i < nets[0].size(); ++i)
        for (size_t b = 0; b < nets[0].layer(i).weight_blobs().size(); ++b) {
            const auto& x = *nets[0].layer(i).weight_blobs()[b].data;
            const auto& y = *nets[1].layer(i).weight_blobs()[b].data;
            EXPECT_LE(test::max_abs_diff(x.data(), y.data(), x.size()), 1e-4f * std::max(1.f, test::max_abs(x.data(), x.size())))
                << "rolling statistics / parameters of layer " << i;
        }
}

TEST(TrainExecutor, MemoryOverTheLimitIsAClearErrorBeforeAnyAllocation) {
    Network net = Network::from_cfg(parse_cfg_text(kTinyYolo, "tiny.cfg"));
    const uint64_t saved = limits().max_network_bytes;
    limits().max_network_bytes = uint64_t(1) << 20;  // 1 MiB
    try {
        make_train_executor(net, "reference", {4096, 1});
        ADD_FAILURE() << "4096 images of 12x12 fit in 1 MiB?";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("training at 4096 images per pass of 12x12"), std::string::npos) << m;
        EXPECT_NE(m.find("--max-network-mb"), std::string::npos) << m;
    }
    EXPECT_NO_THROW(make_train_executor(net, "onednn", {2, 1}));  // a small batch fits
    limits().max_network_bytes = saved;
}

}  // namespace
}  // namespace yolo9k
