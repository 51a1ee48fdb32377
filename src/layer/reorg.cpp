#include "layer/reorg.h"

#include <cstdint>
#include <cstdio>

namespace yolo9k {

void ReorgLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    const Shape in = inputs.at(0);
    if (in.w % stride || in.h % stride)
        fail("input " + in.str() + ": width and height must be multiples of stride " + std::to_string(stride));
    if (in.c % (stride * stride))
        fail("input has " + std::to_string(in.c) + " channels; darknet's reorg needs a multiple of stride² = " +
             std::to_string(stride * stride));
    const int64_t channels = int64_t(in.c) * stride * stride;
    if (channels > kMaxChannels)
        fail("input " + in.str() + " reorganised by stride " + std::to_string(stride) + " would have " +
             std::to_string(channels) + " channels; at most " + std::to_string(kMaxChannels));
    output_ = {int(channels), in.h / stride, in.w / stride};
}

std::string ReorgLayer::describe() const {
    const Shape in = inputs_.at(0);
    char buf[160];
    std::snprintf(buf, sizeof buf, "reorg              /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d", stride, in.w, in.h, in.c,
                  output_.w, output_.h, output_.c);
    return buf;
}

void ReorgLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    const Shape in = inputs_.at(0);
    const size_t n = in.size();
    for (int b = 0; b < batch; ++b)
        for (size_t q = 0; q < n; ++q) output[b * n + q] = inputs[0][b * n + reorg_source_index(q, in.w, in.h, in.c, stride)];
}

void ReorgLayer::backward_reference(std::span<const float* const>, const float*,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    const Shape in = inputs_.at(0);
    const size_t n = in.size();
    for (int b = 0; b < batch; ++b)
        for (size_t q = 0; q < n; ++q)
            input_grads[0][b * n + reorg_source_index(q, in.w, in.h, in.c, stride)] += output_grad[b * n + q];
}

namespace {
const LayerRegistrar registrar("reorg", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<ReorgLayer>();
    l->stride = r.get_int_in("stride", 1, 1, 64);
    return l;
});
}  // namespace

}  // namespace yolo9k
