#include "layer/avgpool.h"

#include <cstdio>

namespace yolo9k {

std::string AvgpoolLayer::describe() const {
    const Shape in = inputs_.at(0);
    char buf[160];
    std::snprintf(buf, sizeof buf, "avg                     %4d x%4d x%4d   ->  %4d", in.w, in.h, in.c, output_.c);
    return buf;
}

void AvgpoolLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    const Shape in = inputs_.at(0);
    const int spatial = in.h * in.w;
    for (int b = 0; b < batch; ++b)
        for (int c = 0; c < in.c; ++c) {
            const float* x = inputs[0] + (size_t(b) * in.c + c) * spatial;
            float sum = 0;
            for (int i = 0; i < spatial; ++i) sum += x[i];
            output[size_t(b) * in.c + c] = sum / spatial;
        }
}

void AvgpoolLayer::backward_reference(std::span<const float* const>, const float*,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    const Shape in = inputs_.at(0);
    const int spatial = in.h * in.w;
    for (int b = 0; b < batch; ++b)
        for (int c = 0; c < in.c; ++c) {
            float* dx = input_grads[0] + (size_t(b) * in.c + c) * spatial;
            const float g = output_grad[size_t(b) * in.c + c] / spatial;
            for (int i = 0; i < spatial; ++i) dx[i] += g;
        }
}

namespace {
const LayerRegistrar registrar("avgpool", [](const SectionReader&, const LayerBuildContext&) {
    return std::make_unique<AvgpoolLayer>();
});
}  // namespace

}  // namespace yolo9k
