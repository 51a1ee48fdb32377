#include "backend/onednn/batch_norm_activation.h"

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

// Calls visit(n, c0, lanes, zt, pt, len) for every tile in parallel over images x channel
// blocks: image n, channels [c0, c0 + lanes) (one block), one row, columns [w0, w0 + len).
// Element (w, l) of the tile is z[zt + w*sw + l] in the blocked layout (lanes are adjacent)
// and p[pt + l*h*w + w] in plain NCHW. Loops with the lane innermost run over contiguous
// memory on the blocked side, one vector per column: the statistics passes use them.
template <class F>
void for_each_tile(const ChannelBlockedLayout& L, F&& visit) {
    const int64_t blocks = (L.c + L.block - 1) / L.block;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < L.n; ++n)
        for (int64_t cb = 0; cb < blocks; ++cb) {
            const int64_t c0 = cb * L.block, lanes = std::min(L.block, L.c - c0);
            for (int64_t h = 0; h < L.h; ++h)
                for (int64_t w0 = 0; w0 < L.w; w0 += kTileW)
                    visit(n, c0, lanes, n * L.sn + cb * L.sc + h * L.sh + w0 * L.sw, ((n * L.c + c0) * L.h + h) * L.w + w0,
                          std::min(kTileW, L.w - w0));
        }
}

// The largest block ChannelBlockedLayout accepts: the size of the per-tile lane buffers.
constexpr int64_t kMaxLanes = 64;

// Per-channel sums over n, h, w of K terms: tile_sums(n, c0, lanes, zt, pt, len, float* acc)
// adds one tile's sums to acc[k * kMaxLanes + lane] (float: at most kTileW terms each); each
// tile's float sums are then added in double, per image (in parallel), and the images in order.
template <int K, class TileSums>
std::vector<double> channel_sums(const ChannelBlockedLayout& L, TileSums&& tile_sums) {
    std::vector<double> per_image(size_t(L.n * L.c * K), 0.0);
    for_each_tile(L, [&](int64_t n, int64_t c0, int64_t lanes, int64_t zt, int64_t pt, int64_t len) {
        float acc[K * kMaxLanes] = {};
        tile_sums(c0, lanes, zt, pt, len, acc);
        double* out = &per_image[size_t((n * L.c + c0) * K)];
        for (int64_t l = 0; l < lanes; ++l)
            for (int k = 0; k < K; ++k) out[l * K + k] += acc[k * kMaxLanes + l];
    });
    std::vector<double> sums(size_t(L.c * K), 0.0);
    for (int64_t n = 0; n < L.n; ++n)
        for (size_t i = 0; i < sums.size(); ++i) sums[i] += per_image[size_t(n * L.c * K) + i];
    return sums;
}

// The activation's input gradient u = dy * act'(y) of a tile, transposed from the plain rows
// into u[w * kMaxLanes + l] so the blocked-side loops read it lane-contiguously.
template <Activation A>
void tile_input_gradient(const ChannelBlockedLayout& L, const float* y, const float* dy, int64_t lanes, int64_t pt,
                         int64_t len, float* u) {
    const int64_t plane = L.h * L.w;
    for (int64_t l = 0; l < lanes; ++l)
        for (int64_t w = 0; w < len; ++w) u[w * kMaxLanes + l] = dy[pt + l * plane + w] * slope_from_output<A>(y[pt + l * plane + w]);
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
    const auto sum = channel_sums<1>(L, [&](int64_t, int64_t lanes, int64_t zt, int64_t, int64_t len, float* acc) {
        for (int64_t w = 0; w < len; ++w)
            for (int64_t l = 0; l < lanes; ++l) acc[l] += z[zt + w * L.sw + l];
    });
    for (int64_t c = 0; c < L.c; ++c) mean[c] = float(sum[size_t(c)] / count);
    const auto squares = channel_sums<1>(L, [&](int64_t c0, int64_t lanes, int64_t zt, int64_t, int64_t len, float* acc) {
        for (int64_t w = 0; w < len; ++w)
            for (int64_t l = 0; l < lanes; ++l) {
                const float d = z[zt + w * L.sw + l] - mean[c0 + l];
                acc[l] += d * d;
            }
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
        const auto sums = channel_sums<2>(L, [&](int64_t c0, int64_t lanes, int64_t zt, int64_t pt, int64_t len, float* acc) {
            float u[kTileW * kMaxLanes];
            tile_input_gradient<A>(L, y, dy, lanes, pt, len, u);
            for (int64_t w = 0; w < len; ++w)
                for (int64_t l = 0; l < lanes; ++l) {
                    const float uw = u[w * kMaxLanes + l];
                    acc[l] += uw;
                    acc[kMaxLanes + l] += uw * ((z[zt + w * L.sw + l] - mean[c0 + l]) * inv_std[size_t(c0 + l)]);
                }
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
        for_each_tile(L, [&](int64_t, int64_t c0, int64_t lanes, int64_t zt, int64_t pt, int64_t len) {
            float u[kTileW * kMaxLanes];
            tile_input_gradient<A>(L, y, dy, lanes, pt, len, u);
            const float *m = mean + c0, *is = inv_std.data() + c0, *kc = k.data() + c0, *mu = mean_u.data() + c0,
                        *mux = mean_u_xhat.data() + c0;
            for (int64_t w = 0; w < len; ++w)
                for (int64_t l = 0; l < lanes; ++l) {
                    const float x_hat = (z[zt + w * L.sw + l] - m[l]) * is[l];
                    dz[zt + w * L.sw + l] = kc[l] * (u[w * kMaxLanes + l] - mu[l] - x_hat * mux[l]);
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
