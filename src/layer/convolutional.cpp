#include "layer/convolutional.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>

#include "core/limits.h"

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
    // Before allocating: a cfg asking for terabytes of weights is an error, not an OOM kill.
    if (over_network_limit(n_weights * sizeof(float)))
        fail(network_limit_message(n_weights * sizeof(float), std::to_string(n_weights) + " weights"));
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

void ConvolutionalLayer::fold_into(std::vector<float>& w, std::vector<float>& b) const {
    const size_t per_filter = w.size() / filters;
    for (int f = 0; f < filters; ++f) {
        const float k = scales[f] / (std::sqrt(rolling_variance[f]) + .000001f);
        for (size_t i = 0; i < per_filter; ++i) w[f * per_filter + i] *= k;
        b[f] -= rolling_mean[f] * k;
    }
}

void ConvolutionalLayer::folded(std::vector<float>& w, std::vector<float>& b) const {
    w = weights;
    b = biases;
    if (batch_normalize) fold_into(w, b);
}

void ConvolutionalLayer::fold_batch_norm() {
    if (!batch_normalize) return;
    fold_into(weights, biases);
    for (auto* v : {&scales, &rolling_mean, &rolling_variance}) std::vector<float>().swap(*v);
    batch_normalize = false;
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
// The output positions o in [begin, end) whose input position o*stride + k - padding
// falls inside [0, n_in): the loops below then need no bounds test in the inner loop.
struct ValidRange {
    int begin, end;
};
ValidRange valid_outputs(int k, int n_in, int n_out, int stride, int padding) {
    const int lo = padding - k;             // o*stride >= lo
    const int hi = n_in - 1 + padding - k;  // o*stride <= hi
    const int begin = lo <= 0 ? 0 : (lo + stride - 1) / stride;
    const int end = hi < 0 ? 0 : std::min(n_out, hi / stride + 1);
    return {begin, std::max(begin, end)};
}
}  // namespace

std::vector<RunningStatistic> ConvolutionalLayer::running_statistics() {
    if (!batch_normalize) return {};
    return {{&rolling_mean, rolling_decay}, {&rolling_variance, rolling_decay}};
}

std::vector<TrainableBlob> ConvolutionalLayer::trainable_blobs() {
    if (batch_normalize) return {{"biases", &biases, false}, {"scales", &scales, false}, {"weights", &weights, true}};
    return {{"biases", &biases, false}, {"weights", &weights, true}};
}

size_t ConvolutionalLayer::train_state_floats(int batch) const {
    return batch_normalize ? size_t(batch) * output_.size() + filters : 0;
}

void ConvolutionalLayer::convolve(const float* x_all, double* y_all, int batch) const {
    const Shape in = inputs_.at(0), out = output_;
    const size_t plane_in = size_t(in.h) * in.w, plane_out = size_t(out.h) * out.w;
    for (int b = 0; b < batch; ++b)
        for (int f = 0; f < filters; ++f) {
            double* acc = y_all + (size_t(b) * filters + f) * plane_out;
            std::fill(acc, acc + plane_out, 0.0);
            for (int c = 0; c < in.c; ++c) {
                const float* x = x_all + (size_t(b) * in.c + c) * plane_in;
                for (int ky = 0; ky < size; ++ky) {
                    const ValidRange rows = valid_outputs(ky, in.h, out.h, stride, padding);
                    for (int kx = 0; kx < size; ++kx) {
                        const ValidRange cols = valid_outputs(kx, in.w, out.w, stride, padding);
                        const double w = weights[((size_t(f) * in.c + c) * size + ky) * size + kx];
                        for (int oy = rows.begin; oy < rows.end; ++oy) {
                            const float* xr = x + ptrdiff_t(oy * stride + ky - padding) * in.w + (kx - padding);
                            double* ar = acc + size_t(oy) * out.w;
                            for (int ox = cols.begin; ox < cols.end; ++ox) ar[ox] += w * xr[ox * stride];
                        }
                    }
                }
            }
        }
}

void ConvolutionalLayer::convolve_backward(const float* x_all, const float* dconv_all, float* dweights, float* dx_all,
                                           int batch) const {
    const Shape in = inputs_.at(0), out = output_;
    const size_t plane_in = size_t(in.h) * in.w, plane_out = size_t(out.h) * out.w;
    std::vector<double> dx_plane(dx_all ? plane_in : 0);
    for (int b = 0; b < batch; ++b) {
        const float* dconv = dconv_all + size_t(b) * filters * plane_out;
        // Weights: correlate each output-gradient plane with each input plane.
        for (int f = 0; f < filters; ++f) {
            const float* g = dconv + size_t(f) * plane_out;
            for (int c = 0; c < in.c; ++c) {
                const float* x = x_all + (size_t(b) * in.c + c) * plane_in;
                for (int ky = 0; ky < size; ++ky) {
                    const ValidRange rows = valid_outputs(ky, in.h, out.h, stride, padding);
                    for (int kx = 0; kx < size; ++kx) {
                        const ValidRange cols = valid_outputs(kx, in.w, out.w, stride, padding);
                        double sum = 0;
                        for (int oy = rows.begin; oy < rows.end; ++oy) {
                            const float* xr = x + ptrdiff_t(oy * stride + ky - padding) * in.w + (kx - padding);
                            const float* gr = g + size_t(oy) * out.w;
                            for (int ox = cols.begin; ox < cols.end; ++ox) sum += double(gr[ox]) * xr[ox * stride];
                        }
                        dweights[((size_t(f) * in.c + c) * size + ky) * size + kx] += float(sum);
                    }
                }
            }
        }
        if (!dx_all) continue;
        // Input: scatter each output gradient back through the kernel, one input plane at a time.
        for (int c = 0; c < in.c; ++c) {
            std::fill(dx_plane.begin(), dx_plane.end(), 0.0);
            for (int f = 0; f < filters; ++f) {
                const float* g = dconv + size_t(f) * plane_out;
                for (int ky = 0; ky < size; ++ky) {
                    const ValidRange rows = valid_outputs(ky, in.h, out.h, stride, padding);
                    for (int kx = 0; kx < size; ++kx) {
                        const ValidRange cols = valid_outputs(kx, in.w, out.w, stride, padding);
                        const double w = weights[((size_t(f) * in.c + c) * size + ky) * size + kx];
                        for (int oy = rows.begin; oy < rows.end; ++oy) {
                            double* dr = dx_plane.data() + ptrdiff_t(oy * stride + ky - padding) * in.w + (kx - padding);
                            const float* gr = g + size_t(oy) * out.w;
                            for (int ox = cols.begin; ox < cols.end; ++ox) dr[ox * stride] += w * gr[ox];
                        }
                    }
                }
            }
            float* dx = dx_all + (size_t(b) * in.c + c) * plane_in;
            for (size_t i = 0; i < plane_in; ++i) dx[i] += float(dx_plane[i]);
        }
    }
}

void ConvolutionalLayer::forward_train_reference(std::span<const float* const> inputs, float* output, float* state,
                                                 int batch) {
    if (weights.empty()) fail("the host weights were released (inference only); training needs them");
    const size_t plane = size_t(output_.h) * output_.w;
    const size_t values = size_t(batch) * plane;  // per filter: the N of the batch statistics
    if (batch_normalize && values < 2)
        fail("batch norm over a single value per filter (batch 1, 1x1 output) has no variance; use batch >= 2");
    // The convolution stays in double up to the activation: one rounding per output keeps
    // finite-difference checks of the batch norm (which amplifies z - μ) meaningful.
    std::vector<double> convolved(size_t(batch) * output_.size());
    convolve(inputs[0], convolved.data(), batch);
    auto channel = [&](auto* base, int b, int f) { return base + (size_t(b) * filters + f) * plane; };
    if (!batch_normalize) {
        for (int b = 0; b < batch; ++b)
            for (int f = 0; f < filters; ++f) {
                const double* z = channel(convolved.data(), b, f);
                float* y = channel(output, b, f);
                for (size_t i = 0; i < plane; ++i) y[i] = activate(activation, float(z[i] + biases[f]));
            }
        return;
    }
    float* x_hat = state;
    float* inv_std = state + size_t(batch) * output_.size();
    for (int f = 0; f < filters; ++f) {
        double sum = 0;
        for (int b = 0; b < batch; ++b) {
            const double* z = channel(convolved.data(), b, f);
            for (size_t i = 0; i < plane; ++i) sum += z[i];
        }
        const double mean = sum / double(values);
        double squares = 0;
        for (int b = 0; b < batch; ++b) {
            const double* z = channel(convolved.data(), b, f);
            for (size_t i = 0; i < plane; ++i) squares += (z[i] - mean) * (z[i] - mean);
        }
        const double variance = squares / double(values);  // biased, as oneDNN normalises
        const double k = 1.0 / std::sqrt(variance + batch_norm_epsilon);
        inv_std[f] = float(k);
        for (int b = 0; b < batch; ++b) {
            const double* z = channel(convolved.data(), b, f);
            float* y = channel(output, b, f);
            float* xh = channel(x_hat, b, f);
            for (size_t i = 0; i < plane; ++i) {
                const double normalized = (z[i] - mean) * k;
                xh[i] = float(normalized);
                y[i] = activate(activation, float(scales[f] * normalized + biases[f]));
            }
        }
        // Darknet keeps the unbiased variance in its rolling statistics.
        rolling_mean[f] = rolling_decay * rolling_mean[f] + rolling_rate * float(mean);
        rolling_variance[f] = rolling_decay * rolling_variance[f] +
                              rolling_rate * float(variance * double(values) / double(values - 1));
    }
}

void ConvolutionalLayer::backward_reference(std::span<const float* const> inputs, const float* output,
                                            const float* output_grad, const float* state,
                                            std::span<float* const> input_grads, float* param_grads, int batch) {
    const size_t plane = size_t(output_.h) * output_.w;
    const size_t n = size_t(batch) * output_.size();
    float* dbiases = param_grads;
    float* dscales = batch_normalize ? param_grads + filters : nullptr;
    float* dweights = param_grads + (batch_normalize ? 2 : 1) * size_t(filters);
    // dconv: the gradient at the convolution's output (before bias / batch norm).
    std::vector<float> dconv(n);
    for (size_t i = 0; i < n; ++i) dconv[i] = output_grad[i] * activation_gradient(activation, output[i]);
    auto channel = [&](auto* base, int b, int f) { return base + (size_t(b) * filters + f) * plane; };
    for (int f = 0; f < filters; ++f) {
        double sum_dz = 0, sum_dz_xhat = 0;
        for (int b = 0; b < batch; ++b) {
            const float* dz = channel(dconv.data(), b, f);
            const float* xh = batch_normalize ? channel(state, b, f) : nullptr;
            for (size_t i = 0; i < plane; ++i) {
                sum_dz += dz[i];
                if (xh) sum_dz_xhat += double(dz[i]) * xh[i];
            }
        }
        dbiases[f] += float(sum_dz);
        if (!batch_normalize) continue;
        dscales[f] += float(sum_dz_xhat);
        // y = γ x̂ + β, x̂ = (z - μ)/σ over N values; through μ and σ as well:
        // dL/dz = γ/(Nσ) (N g - Σg - x̂ Σ(g x̂)) with g = dL/dy.
        const double values = double(batch) * double(plane);
        const double k = double(scales[f]) * state[n + f] / values;
        for (int b = 0; b < batch; ++b) {
            float* dz = channel(dconv.data(), b, f);
            const float* xh = channel(state, b, f);
            for (size_t i = 0; i < plane; ++i) dz[i] = float(k * (values * dz[i] - sum_dz - xh[i] * sum_dz_xhat));
        }
    }
    convolve_backward(inputs[0], dconv.data(), dweights, input_grads.empty() ? nullptr : input_grads[0], batch);
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
