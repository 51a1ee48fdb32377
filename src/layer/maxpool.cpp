#include "layer/maxpool.h"

#include <algorithm>
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

void MaxpoolLayer::pool(const float* x_all, float* y_all, float* argmax_all, int batch) const {
    const Shape in = inputs_.at(0);
    const Shape out = output_;
    const int off = -pad_before();
    // Output columns [ox_lo, ox_hi) have their whole window inside the input row: those
    // run without bounds checks (the training loop spends most of its pooling time there).
    auto first_inside = [&](int extent_out) {
        int o = 0;
        while (o < extent_out && off + o * stride < 0) ++o;
        return o;
    };
    auto end_inside = [&](int extent_out, int extent_in) {
        int o = extent_out;
        while (o > 0 && off + (o - 1) * stride + size > extent_in) --o;
        return o;
    };
    const int ox_lo = first_inside(out.w), ox_hi = std::max(ox_lo, end_inside(out.w, in.w));
    const int oy_lo = first_inside(out.h), oy_hi = std::max(oy_lo, end_inside(out.h, in.h));
    // Planes are independent: spread them over the cores (training runs this code).
#pragma omp parallel for schedule(static)
    for (long plane = 0; plane < long(batch) * in.c; ++plane) {
        const float* x = x_all + size_t(plane) * in.h * in.w;
        const size_t out_plane = size_t(plane) * out.h * out.w;
        float* y = y_all + out_plane;
        float* arg = argmax_all ? argmax_all + out_plane : nullptr;
        // One output, bounds-checked. Strictly greater: the first maximum in scan order
        // wins a tie (and a NaN never wins), as darknet's loop does.
        auto checked = [&](int oy, int ox) {
            float best = -FLT_MAX;
            int winner = -1;
            for (int ky = 0; ky < size; ++ky)
                for (int kx = 0; kx < size; ++kx) {
                    const int iy = off + oy * stride + ky, ix = off + ox * stride + kx;
                    if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                    const float v = x[iy * in.w + ix];
                    if (winner < 0 || v > best) winner = iy * in.w + ix;
                    best = std::max(best, v);
                }
            y[oy * out.w + ox] = best;
            if (arg) arg[oy * out.w + ox] = float(winner);
        };
        for (int oy = 0; oy < out.h; ++oy) {
            if (oy < oy_lo || oy >= oy_hi) {
                for (int ox = 0; ox < out.w; ++ox) checked(oy, ox);
                continue;
            }
            for (int ox = 0; ox < ox_lo; ++ox) checked(oy, ox);
            const int iy0 = off + oy * stride;
            for (int ox = ox_lo; ox < ox_hi; ++ox) {
                const int ix0 = off + ox * stride;
                // Starting from the window's first element as the winner gives the same
                // result as `checked` (it wins there unless a later value is greater), and
                // lets the compares compile to selects: the winner is a coin toss on real
                // activations, so a branch per element mispredicts half the time.
                float best = -FLT_MAX;
                int winner = iy0 * in.w + ix0;
                for (int ky = 0; ky < size; ++ky)
                    for (int kx = 0; kx < size; ++kx) {
                        const int at = (iy0 + ky) * in.w + ix0 + kx;
                        const float v = x[at];
                        const bool greater = v > best;
                        winner = greater ? at : winner;
                        best = greater ? v : best;
                    }
                y[oy * out.w + ox] = best;
                if (arg) arg[oy * out.w + ox] = float(winner);
            }
            for (int ox = ox_hi; ox < out.w; ++ox) checked(oy, ox);
        }
    }
}

void MaxpoolLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    pool(inputs[0], output, nullptr, batch);
}

size_t MaxpoolLayer::train_state_floats(int batch) const { return size_t(batch) * output_.size(); }

void MaxpoolLayer::forward_train_reference(std::span<const float* const> inputs, float* output, float* state,
                                           int batch) {
    if (size_t(inputs_.at(0).h) * inputs_.at(0).w >= (size_t(1) << 24))
        fail("input plane " + inputs_[0].str() + " is too large to index in float state");
    pool(inputs[0], output, state, batch);
}

void MaxpoolLayer::backward_reference(std::span<const float* const>, const float*, const float* output_grad,
                                      const float* state, std::span<float* const> input_grads, float*, int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    const Shape in = inputs_.at(0);
    const size_t out_plane = size_t(output_.h) * output_.w, in_plane = size_t(in.h) * in.w;
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < size_t(batch) * in.c; ++p) {  // p: (image, channel) plane
        float* dx = input_grads[0] + p * in_plane;
        for (size_t i = 0; i < out_plane; ++i) {
            const float winner = state[p * out_plane + i];
            if (winner >= 0) dx[size_t(winner)] += output_grad[p * out_plane + i];
        }
    }
}

namespace {
const LayerRegistrar registrar("maxpool", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<MaxpoolLayer>();
    l->stride = r.get_int_in("stride", 1, 1, 64);
    l->size = r.get_int_in("size", l->stride, 1, 64);
    l->padding = r.get_int_in("padding", l->size - 1, 0, 128);
    // More padding than size-1 on a side makes windows that lie wholly in padding, whose
    // maximum is -FLT_MAX (darknet computes that garbage silently).
    if (l->pad_before() > l->size - 1 || l->padding - l->pad_before() > l->size - 1)
        r.fail("padding", "padding=" + std::to_string(l->padding) + " with size=" + std::to_string(l->size) +
                              " leaves windows wholly in padding; expected at most " +
                              std::to_string(2 * (l->size - 1)) + " (size-1 on each side)");
    return l;
});
}  // namespace

}  // namespace yolo9k
