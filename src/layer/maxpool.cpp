#include "layer/maxpool.h"

#include <cfloat>
#include <cstdio>

namespace yolo9k {

void MaxpoolLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    const Shape in = inputs.at(0);
    const int out_w = (in.w + padding - size) / stride + 1;
    const int out_h = (in.h + padding - size) / stride + 1;
    if (out_w < 1 || out_h < 1) fail("input " + in.str() + " is too small for a " + std::to_string(size) + "x" + std::to_string(size) + " pool");
    output_ = {in.c, out_h, out_w};
}

std::string MaxpoolLayer::describe() const {
    const Shape in = inputs_.at(0);
    char buf[160];
    std::snprintf(buf, sizeof buf, "max         %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d", size, size, stride, in.w,
                  in.h, in.c, output_.w, output_.h, output_.c);
    return buf;
}

void MaxpoolLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    const Shape in = inputs_.at(0);
    const Shape out = output_;
    const int off = -pad_before();
    for (int b = 0; b < batch; ++b)
        for (int c = 0; c < in.c; ++c) {
            const float* x = inputs[0] + (size_t(b) * in.c + c) * in.h * in.w;
            float* y = output + (size_t(b) * out.c + c) * out.h * out.w;
            for (int oy = 0; oy < out.h; ++oy)
                for (int ox = 0; ox < out.w; ++ox) {
                    float best = -FLT_MAX;
                    for (int ky = 0; ky < size; ++ky)
                        for (int kx = 0; kx < size; ++kx) {
                            const int iy = off + oy * stride + ky, ix = off + ox * stride + kx;
                            if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w) best = std::max(best, x[iy * in.w + ix]);
                        }
                    y[oy * out.w + ox] = best;
                }
        }
}

namespace {
const LayerRegistrar registrar("maxpool", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<MaxpoolLayer>();
    l->stride = r.get_int_in("stride", 1, 1, 64);
    l->size = r.get_int_in("size", l->stride, 1, 64);
    l->padding = r.get_int_in("padding", l->size - 1, 0, 128);
    return l;
});
}  // namespace

}  // namespace yolo9k
