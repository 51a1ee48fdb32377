#include "layer/onednn/batch_norm_activation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace yolo9k::onednn {
namespace {

// Branch-free forms: signs of batch-normalised values are a coin toss, and a mispredicted
// branch per element costs more than the memory traffic.
template <Activation A>
inline float activate_as(float x) {
    if constexpr (A == Activation::leaky) return std::max(x, 0.1f * x);  // = x > 0 ? x : .1x
    if constexpr (A == Activation::relu) return std::max(x, 0.f);
    if constexpr (A == Activation::logistic) return 1.f / (1.f + std::exp(-x));
    return x;
}

// d act / d input, from the activation's output y (leaky and relu keep the input's sign).
// (GCC turns float compares into branches here; an integer mask it cannot.)
inline float select_positive(float y, float if_positive, float otherwise) {
    const uint32_t positive = uint32_t(-int32_t(std::bit_cast<int32_t>(y) > 0));  // +0 and -0 are not
    return std::bit_cast<float>((positive & std::bit_cast<uint32_t>(if_positive)) |
                                (~positive & std::bit_cast<uint32_t>(otherwise)));
}
template <Activation A>
inline float slope_from_output(float y) {
    if constexpr (A == Activation::leaky) return select_positive(y, 1.f, 0.1f);
    if constexpr (A == Activation::relu) return select_positive(y, 1.f, 0.f);
    if constexpr (A == Activation::logistic) return y * (1.f - y);
    return 1.f;
}

// Calls f(std::integral_constant<Activation, a>) so inner loops are compiled per activation.
template <class F>
void with_activation(Activation a, F&& f) {
    switch (a) {
        case Activation::linear:
            return f(std::integral_constant<Activation, Activation::linear>{});
        case Activation::leaky:
            return f(std::integral_constant<Activation, Activation::leaky>{});
        case Activation::relu:
            return f(std::integral_constant<Activation, Activation::relu>{});
        case Activation::logistic:
            return f(std::integral_constant<Activation, Activation::logistic>{});
    }
}

// Calls visit(n, c, zseg, pseg, len) for every row segment (image n, channel c, row h,
// columns [w0, w0 + len)) in parallel over images x channel blocks: element i of the
// segment is z[zseg + i*sw] in the blocked layout and y[pseg + i] in plain NCHW. Within a
// block the segments run lane by lane over a tile of kTileW columns, so the plain side
// streams contiguously while the blocked tile (kTileW x block floats, 4 KiB) stays in L1.
constexpr int64_t kTileW = 64;
template <class F>
void for_each_segment(const ChannelBlockedLayout& L, F&& visit) {
    const int64_t blocks = (L.c + L.block - 1) / L.block;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < L.n; ++n)
        for (int64_t cb = 0; cb < blocks; ++cb) {
            const int64_t c0 = cb * L.block, lanes = std::min(L.block, L.c - c0);
            for (int64_t h = 0; h < L.h; ++h)
                for (int64_t w0 = 0; w0 < L.w; w0 += kTileW) {
                    const int64_t len = std::min(kTileW, L.w - w0);
                    for (int64_t l = 0; l < lanes; ++l)
                        visit(n, c0 + l, n * L.sn + cb * L.sc + h * L.sh + w0 * L.sw + l,
                              ((n * L.c + c0 + l) * L.h + h) * L.w + w0, len);
                }
        }
}

// sum of term(i) for i < count in double, four independent chains (latency-bound otherwise).
template <class Term>
double sum_over(int64_t count, Term&& term) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        a0 += term(i);
        a1 += term(i + 1);
        a2 += term(i + 2);
        a3 += term(i + 3);
    }
    for (; i < count; ++i) a0 += term(i);
    return (a0 + a1) + (a2 + a3);
}

// Per-channel sums over n, h, w of K terms: row_sums(c, zseg, pseg, len, double* sums)
// adds one row segment's K sums; images are summed separately (in parallel), then in order.
template <int K, class RowSums>
std::vector<double> channel_sums(const ChannelBlockedLayout& L, RowSums&& row_sums) {
    std::vector<double> per_image(size_t(L.n * L.c * K), 0.0);
    for_each_segment(L, [&](int64_t n, int64_t c, int64_t zseg, int64_t pseg, int64_t len) {
        row_sums(c, zseg, pseg, len, &per_image[size_t((n * L.c + c) * K)]);
    });
    std::vector<double> sums(size_t(L.c * K), 0.0);
    for (int64_t n = 0; n < L.n; ++n)
        for (size_t i = 0; i < sums.size(); ++i) sums[i] += per_image[size_t(n * L.c * K) + i];
    return sums;
}

std::vector<float> inverse_std(const float* variance, int64_t channels, float eps) {
    std::vector<float> r(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) r[size_t(c)] = 1.f / std::sqrt(variance[c] + eps);
    return r;
}

}  // namespace

bool ChannelBlockedLayout::supports(const dnnl::memory::desc& md) {
    const auto& d = md.data;
    if (d.ndims != 4 || d.format_kind != dnnl_blocked) return false;
    const auto& b = d.format_desc.blocking;
    return b.inner_nblks == 0 || (b.inner_nblks == 1 && b.inner_idxs[0] == 1 && b.inner_blks[0] <= 64);
}

ChannelBlockedLayout::ChannelBlockedLayout(const dnnl::memory::desc& md) {
    if (!supports(md)) throw Error("internal: batch norm needs a plain or channel-blocked 4-D layout");
    const auto& d = md.data;
    const auto& b = d.format_desc.blocking;
    n = d.dims[0], c = d.dims[1], h = d.dims[2], w = d.dims[3];
    block = b.inner_nblks == 1 ? b.inner_blks[0] : 1;
    sn = b.strides[0], sc = b.strides[1], sh = b.strides[2], sw = b.strides[3];
}

void batch_norm_activation_forward(const ChannelBlockedLayout& L, const float* z, const float* scales,
                                   const float* biases, Activation act, float eps, float* mean, float* variance,
                                   float* y) {
    const double count = double(L.n * L.h * L.w);
    // Two passes (mean, then squared deviations) rather than E[z^2] - E[z]^2, which
    // cancels badly when the mean is large against the spread.
    const auto sum = channel_sums<1>(L, [&](int64_t, int64_t zrow, int64_t, int64_t len, double* out) {
        *out += sum_over(len, [&](int64_t w) { return double(z[zrow + w * L.sw]); });
    });
    for (int64_t c = 0; c < L.c; ++c) mean[c] = float(sum[size_t(c)] / count);
    const auto squares = channel_sums<1>(L, [&](int64_t c, int64_t zrow, int64_t, int64_t len, double* out) {
        const double m = mean[c];
        *out += sum_over(len, [&](int64_t w) {
            const double d = double(z[zrow + w * L.sw]) - m;
            return d * d;
        });
    });
    for (int64_t c = 0; c < L.c; ++c) variance[c] = float(squares[size_t(c)] / count);

    // y = act(k * z + shift) with k = scale / std, shift = bias - mean * k
    const auto inv_std = inverse_std(variance, L.c, eps);
    std::vector<float> k(size_t(L.c)), shift(size_t(L.c));
    for (int64_t c = 0; c < L.c; ++c) {
        k[size_t(c)] = scales[c] * inv_std[size_t(c)];
        shift[size_t(c)] = biases[c] - mean[c] * k[size_t(c)];
    }
    with_activation(act, [&](auto a) {
        constexpr Activation A = decltype(a)::value;
        for_each_segment(L, [&](int64_t, int64_t c, int64_t zrow, int64_t prow, int64_t len) {
            const float kc = k[size_t(c)], sc = shift[size_t(c)];
            for (int64_t w = 0; w < len; ++w) y[prow + w] = activate_as<A>(kc * z[zrow + w * L.sw] + sc);
        });
    });
}

void batch_norm_activation_backward(const ChannelBlockedLayout& L, const float* z, const float* mean,
                                    const float* variance, const float* scales, Activation act, float eps,
                                    const float* y, const float* dy, float* dz, float* dscales, float* dbiases) {
    const double count = double(L.n * L.h * L.w);
    const auto inv_std = inverse_std(variance, L.c, eps);
    with_activation(act, [&](auto a) {
        constexpr Activation A = decltype(a)::value;
        // u = dLoss/d(normalised * scale + bias); x_hat = (z - mean) / std
        const auto sums = channel_sums<2>(L, [&](int64_t c, int64_t zrow, int64_t prow, int64_t len, double* out) {
            const float m = mean[c], is = inv_std[size_t(c)];
            auto u = [&](int64_t w) { return dy[prow + w] * slope_from_output<A>(y[prow + w]); };
            // two sweeps of the segment: the second reads it from L1
            out[0] += sum_over(len, [&](int64_t w) { return double(u(w)); });
            out[1] += sum_over(len, [&](int64_t w) { return double(u(w) * ((z[zrow + w * L.sw] - m) * is)); });
        });
        // dz = scale / std * (u - mean(u) - x_hat * mean(u * x_hat))
        std::vector<float> k(size_t(L.c)), mean_u(size_t(L.c)), mean_u_xhat(size_t(L.c));
        for (int64_t c = 0; c < L.c; ++c) {
            const double sum_u = sums[size_t(2 * c)], sum_u_xhat = sums[size_t(2 * c + 1)];
            dbiases[c] += float(sum_u);
            dscales[c] += float(sum_u_xhat);
            k[size_t(c)] = scales[c] * inv_std[size_t(c)];
            mean_u[size_t(c)] = float(sum_u / count);
            mean_u_xhat[size_t(c)] = float(sum_u_xhat / count);
        }
        for_each_segment(L, [&](int64_t, int64_t c, int64_t zrow, int64_t prow, int64_t len) {
            const float m = mean[c], is = inv_std[size_t(c)], kc = k[size_t(c)], mu = mean_u[size_t(c)],
                        mux = mean_u_xhat[size_t(c)];
            for (int64_t w = 0; w < len; ++w) {
                const float u = dy[prow + w] * slope_from_output<A>(y[prow + w]);
                const float x_hat = (z[zrow + w * L.sw] - m) * is;
                dz[zrow + w * L.sw] = kc * (u - mu - x_hat * mux);
            }
        });
    });
}

void activation_backward(const ChannelBlockedLayout& L, Activation act, const float* y, const float* dy, float* dz) {
    with_activation(act, [&](auto a) {
        constexpr Activation A = decltype(a)::value;
        for_each_segment(L, [&](int64_t, int64_t, int64_t zrow, int64_t prow, int64_t len) {
            for (int64_t w = 0; w < len; ++w) dz[zrow + w * L.sw] = dy[prow + w] * slope_from_output<A>(y[prow + w]);
        });
    });
}

}  // namespace yolo9k::onednn
