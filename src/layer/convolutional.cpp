#include "layer/convolutional.h"

#include <cmath>
#include <cstdio>

namespace yolo9k {

void ConvolutionalLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    const Shape in = inputs.at(0);
    const int out_w = (in.w + 2 * padding - size) / stride + 1;
    const int out_h = (in.h + 2 * padding - size) / stride + 1;
    if (out_w < 1 || out_h < 1)
        fail("input " + in.str() + " is smaller than the " + std::to_string(size) + "x" + std::to_string(size) + " kernel");
    output_ = {filters, out_h, out_w};
    const size_t n_weights = size_t(filters) * in.c * size * size;
    if (weights.size() != n_weights) {
        // Sizes depend only on the channel count, so a resize keeps loaded weights.
        biases.assign(filters, 0.f);
        weights.assign(n_weights, 0.f);
        if (batch_normalize) {
            scales.assign(filters, 1.f);
            rolling_mean.assign(filters, 0.f);
            rolling_variance.assign(filters, 1.f);
        }
    }
}

double ConvolutionalLayer::flops() const {
    const Shape in = inputs_.at(0);
    return 2.0 * filters * size * size * in.c * output_.h * output_.w;
}

std::string ConvolutionalLayer::describe() const {
    const Shape in = inputs_.at(0);
    char buf[160];
    std::snprintf(buf, sizeof buf, "conv  %5d %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  %5.3f BFLOPs", filters,
                  size, size, stride, in.w, in.h, in.c, output_.w, output_.h, output_.c, flops() / 1e9);
    return buf;
}

std::vector<WeightBlob> ConvolutionalLayer::weight_blobs() {
    if (batch_normalize)
        return {{"biases", &biases},
                {"scales", &scales},
                {"rolling_mean", &rolling_mean},
                {"rolling_variance", &rolling_variance},
                {"weights", &weights}};
    return {{"biases", &biases}, {"weights", &weights}};
}

void ConvolutionalLayer::release_weights() {
    for (auto* v : {&biases, &scales, &rolling_mean, &rolling_variance, &weights}) std::vector<float>().swap(*v);
}

void ConvolutionalLayer::folded(std::vector<float>& w, std::vector<float>& b) const {
    w = weights;
    b = biases;
    if (!batch_normalize) return;
    const size_t per_filter = weights.size() / filters;
    for (int f = 0; f < filters; ++f) {
        const float k = scales[f] / (std::sqrt(rolling_variance[f]) + .000001f);
        for (size_t i = 0; i < per_filter; ++i) w[f * per_filter + i] *= k;
        b[f] = biases[f] - rolling_mean[f] * k;
    }
}

void ConvolutionalLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    // Unfolded on purpose: the reference applies batch norm the way darknet does,
    // so it also checks the folding used by the fast kernels.
    const Shape in = inputs_.at(0);
    const Shape out = output_;
    for (int b = 0; b < batch; ++b) {
        const float* x = inputs[0] + b * in.size();
        float* y = output + b * out.size();
        for (int f = 0; f < filters; ++f) {
            float norm = 1.f, shift = 0.f;
            if (batch_normalize) {
                norm = scales[f] / (std::sqrt(rolling_variance[f]) + .000001f);
                shift = -rolling_mean[f] * norm;
            }
            for (int oy = 0; oy < out.h; ++oy)
                for (int ox = 0; ox < out.w; ++ox) {
                    double acc = 0;
                    for (int c = 0; c < in.c; ++c)
                        for (int ky = 0; ky < size; ++ky) {
                            const int iy = oy * stride + ky - padding;
                            if (iy < 0 || iy >= in.h) continue;
                            for (int kx = 0; kx < size; ++kx) {
                                const int ix = ox * stride + kx - padding;
                                if (ix < 0 || ix >= in.w) continue;
                                acc += double(weights[((size_t(f) * in.c + c) * size + ky) * size + kx]) *
                                       x[(size_t(c) * in.h + iy) * in.w + ix];
                            }
                        }
                    const float v = float(acc) * norm + shift + biases[f];
                    y[(size_t(f) * out.h + oy) * out.w + ox] = activate(activation, v);
                }
        }
    }
}

namespace {
const LayerRegistrar registrar("convolutional", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<ConvolutionalLayer>();
    l->filters = r.get_int_in("filters", 1, 1, 1 << 20);
    l->size = r.get_int_in("size", 1, 1, 64);
    l->stride = r.get_int_in("stride", 1, 1, 64);
    const bool pad = r.get_bool("pad", false);
    const int padding = r.get_int_in("padding", 0, 0, 64);
    l->padding = pad ? l->size / 2 : padding;  // pad=1 means "same" padding and wins
    l->batch_normalize = r.get_bool("batch_normalize", false);
    l->activation = parse_activation(r, "logistic");  // darknet's default
    return l;
});
}  // namespace

}  // namespace yolo9k
