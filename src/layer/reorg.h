// [reorg]: space-to-depth for the passthrough (26x26x64 -> 13x13x256 in yolov2).
// Darknet's order is not the textbook one: it reads the input as a (c/s²)-channel image
// of s·w x s·h and writes it out in the input's own index order. Pretrained weights
// after the passthrough depend on exactly this order, so we reproduce it.
#pragma once

#include <cstddef>

#include "layer/layer.h"

namespace yolo9k {

// For per-image flat output index q (NCHW of the output), the flat input index it copies.
// w, h, c are the layer's INPUT dims.
inline size_t reorg_source_index(size_t q, int w, int h, int c, int stride) {
    const int i = int(q % w);
    const int j = int((q / w) % h);
    const int k = int(q / (size_t(w) * h));
    const int out_c = c / (stride * stride);
    const int c2 = k % out_c, offset = k / out_c;
    const int w2 = i * stride + offset % stride;
    const int h2 = j * stride + offset / stride;
    return size_t(w2) + size_t(w) * stride * (size_t(h2) + size_t(h) * stride * c2);
}

class ReorgLayer : public Layer {
public:
    std::string_view type() const override { return "reorg"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: the forward is a permutation, so the backward scatters through its inverse.
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;

    int stride = 1;
};

}  // namespace yolo9k
