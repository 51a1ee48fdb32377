// reference_f64: a double-precision oracle, and the smallest example of a backend in one
// folder. It keeps activations in double between layers and runs convolution (with its
// batch norm and activation), route and the two poolings itself; every other layer goes
// through the shared host path (the layer's float reference code), the fallback any
// backend gets for the layers it does not declare. The op table (tests/ops/) picks it up
// from the registry and measures the float paths' rounding against it.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "layer/avgpool.h"
#include "layer/convolutional.h"
#include "layer/maxpool.h"
#include "layer/route.h"
#include "network/network.h"

namespace yolo9k {
namespace {

bool runs_in_double(std::string_view type) {
    return type == "convolutional" || type == "route" || type == "maxpool" || type == "avgpool";
}

void convolve(const ConvolutionalLayer& l, const double* x_all, double* y_all, int batch) {
    const Shape in = l.input_shape(), out = l.output_shape();
    for (int b = 0; b < batch; ++b)
        for (int f = 0; f < l.filters; ++f) {
            // Inference batch norm as darknet: scale * (z - mean) / (sqrt(var) + 1e-6) + bias.
            double k = 1, shift = l.biases[f];
            if (l.batch_normalize) {
                k = l.scales[f] / (std::sqrt(double(l.rolling_variance[f])) + 1e-6);
                shift -= k * l.rolling_mean[f];
            }
            double* y = y_all + (size_t(b) * l.filters + f) * out.h * out.w;
            for (int oy = 0; oy < out.h; ++oy)
                for (int ox = 0; ox < out.w; ++ox) {
                    double z = 0;
                    for (int c = 0; c < in.c; ++c) {
                        const double* x = x_all + (size_t(b) * in.c + c) * in.h * in.w;
                        for (int ky = 0; ky < l.size; ++ky) {
                            const int iy = oy * l.stride + ky - l.padding;
                            if (iy < 0 || iy >= in.h) continue;
                            for (int kx = 0; kx < l.size; ++kx) {
                                const int ix = ox * l.stride + kx - l.padding;
                                if (ix < 0 || ix >= in.w) continue;
                                z += double(l.weights[((size_t(f) * in.c + c) * l.size + ky) * l.size + kx]) *
                                     x[size_t(iy) * in.w + ix];
                            }
                        }
                    }
                    y[size_t(oy) * out.w + ox] = activate(l.activation, k * z + shift);
                }
        }
}

void maxpool(const MaxpoolLayer& l, const double* x_all, double* y_all, int batch) {
    const Shape in = l.input_shape(), out = l.output_shape();
    for (long plane = 0; plane < long(batch) * in.c; ++plane) {
        const double* x = x_all + size_t(plane) * in.h * in.w;
        double* y = y_all + size_t(plane) * out.h * out.w;
        for (int oy = 0; oy < out.h; ++oy)
            for (int ox = 0; ox < out.w; ++ox) {
                double best = -DBL_MAX;  // padded cells never win (darknet)
                for (int ky = 0; ky < l.size; ++ky)
                    for (int kx = 0; kx < l.size; ++kx) {
                        const int iy = oy * l.stride + ky - l.pad_before(), ix = ox * l.stride + kx - l.pad_before();
                        if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w) best = std::max(best, x[size_t(iy) * in.w + ix]);
                    }
                y[size_t(oy) * out.w + ox] = best;
            }
    }
}

void avgpool(const AvgpoolLayer& l, const double* x_all, double* y_all, int batch) {
    const Shape in = l.input_shape();
    const size_t plane = size_t(in.h) * in.w;
    for (long p = 0; p < long(batch) * in.c; ++p) {
        double sum = 0;
        for (size_t i = 0; i < plane; ++i) sum += x_all[p * plane + i];
        y_all[p] = sum / double(plane);
    }
}

void route(const Layer& l, const std::vector<const double*>& inputs, double* y, int batch) {
    for (int b = 0; b < batch; ++b)
        for (size_t k = 0; k < inputs.size(); ++k) {
            const size_t n = l.input_shape(int(k)).size();
            y = std::copy_n(inputs[k] + size_t(b) * n, n, y);
        }
}

class ReferenceF64Executor final : public Executor {
public:
    ReferenceF64Executor(const Network& net, const ExecutorOptions& o) : net_(net), batch_(o.batch) {
        if (net.weights_released()) throw Error("reference_f64 backend: the network's host weights were released");
        values_.resize(net.size());
        for (int i = 0; i < net.size(); ++i) values_[i].assign(size_t(batch_) * net.layer(i).output_shape().size(), 0.0);
        output_.resize(values_[net.output_layer()].size());
    }
    std::string backend() const override { return "reference_f64"; }
    int batch() const override { return batch_; }

    void forward(const float* input) override {
        input_.assign(input, input + input_desc().elements());
        for (int i = 0; i < net_.size(); ++i) {
            const Layer& l = net_.layer(i);
            std::vector<const double*> in;
            for (int s : l.sources()) in.push_back(s < 0 ? input_.data() : values_[s].data());
            double* y = values_[i].data();
            if (const auto* conv = dynamic_cast<const ConvolutionalLayer*>(&l)) convolve(*conv, in[0], y, batch_);
            else if (const auto* pool = dynamic_cast<const MaxpoolLayer*>(&l)) maxpool(*pool, in[0], y, batch_);
            else if (const auto* avg = dynamic_cast<const AvgpoolLayer*>(&l)) avgpool(*avg, in[0], y, batch_);
            else if (dynamic_cast<const RouteLayer*>(&l)) route(l, in, y, batch_);
            else host_fallback(l, in, y);
        }
        const std::vector<double>& out = values_[net_.output_layer()];
        std::transform(out.begin(), out.end(), output_.begin(), [](double v) { return float(v); });
    }
    const float* output() const override { return output_.data(); }
    std::vector<float> layer_output(int layer) const override {
        const std::vector<double>& v = values_.at(layer);
        return std::vector<float>(v.begin(), v.end());
    }
    ExecutionPlan plan() const override {
        ExecutionPlan p;
        for (int i = 0; i < net_.size(); ++i) {
            const std::string type(net_.layer(i).type());
            p.layers.push_back({.layer = i, .type = type,
                                .kernel = runs_in_double(type) ? "f64" : "host fallback (f32 reference)"});
        }
        return p;
    }

protected:
    const Network& network() const override { return net_; }

private:
    // The shared host path: the layer's float reference code on float copies.
    void host_fallback(const Layer& l, const std::vector<const double*>& in, double* y) {
        std::vector<std::vector<float>> inputs;
        std::vector<const float*> ptrs;
        for (size_t k = 0; k < in.size(); ++k) {
            const size_t n = size_t(batch_) * l.input_shape(int(k)).size();
            inputs.emplace_back(in[k], in[k] + n);
            ptrs.push_back(inputs.back().data());
        }
        std::vector<float> out(size_t(batch_) * l.output_shape().size());
        l.forward_reference(ptrs, out.data(), batch_);
        std::copy(out.begin(), out.end(), y);
    }

    const Network& net_;
    int batch_;
    std::vector<double> input_;
    std::vector<std::vector<double>> values_;
    std::vector<float> output_;
};

const BackendRegistrar registrar({
    .name = "reference_f64",
    .summary = "double-precision oracle: convolution, route and pooling in f64, the rest on the host path",
    .supports = runs_in_double,
    .supports_training = [](std::string_view) { return false; },
    .test_only = true,
    .make_executor = [](const Network& n, const ExecutorOptions& o) -> std::unique_ptr<Executor> {
        return std::make_unique<ReferenceF64Executor>(n, o);
    },
});

}  // namespace
}  // namespace yolo9k
