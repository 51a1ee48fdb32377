// Training-mode batch norm + activation, fused into few memory passes (OpenMP). oneDNN
// 2.6 has no batch-norm post-ops (leaky cannot follow batch norm inside one primitive),
// and its batch norm, eltwise and layout reorders each stream the whole tensor: on the
// large early layers of a detector that memory traffic rivals the convolution itself.
// These passes read the convolution output in its oneDNN layout and read/write the
// plain NCHW activations at the layer boundary directly, converting layout on the way.
#pragma once

#include <dnnl.hpp>

#include <cstdint>

#include "layer/layer.h"

namespace yolo9k::onednn {

// A 4-D tensor layout with at most one inner block, on channels (nchw, nhwc, nChw8c,
// nChw16c): element (n, c, h, w) is at n*sn + (c/block)*sc + h*sh + w*sw + c%block.
struct ChannelBlockedLayout {
    static bool supports(const dnnl::memory::desc& md);
    ChannelBlockedLayout() = default;
    explicit ChannelBlockedLayout(const dnnl::memory::desc& md);  // throws Error if !supports
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t block = 1, sn = 0, sc = 0, sh = 0, sw = 0;
};

// y = act(scales * (z - mean) / sqrt(variance + eps) + biases) with the per-channel batch
// mean and biased variance over n, h, w, which are written to `mean` and `variance`.
// z in `layout`, y plain NCHW.
void batch_norm_activation_forward(const ChannelBlockedLayout& layout, const float* z, const float* scales,
                                   const float* biases, Activation act, float eps, float* mean, float* variance,
                                   float* y);

// The backward of the above from its plain output y and output gradient dy: writes
// dLoss/dz in `layout` (padding lanes untouched) and ADDS dLoss/dscales, dLoss/dbiases.
void batch_norm_activation_backward(const ChannelBlockedLayout& layout, const float* z, const float* mean,
                                    const float* variance, const float* scales, Activation act, float eps,
                                    const float* y, const float* dy, float* dz, float* dscales, float* dbiases);

// dz = dy * act'(y): the activation's backward from its plain output, written in `layout`.
void activation_backward(const ChannelBlockedLayout& layout, Activation act, const float* y, const float* dy,
                         float* dz);

}  // namespace yolo9k::onednn
