#include "layer/route.h"

#include <cstdint>
#include <cstring>

namespace yolo9k {

void RouteLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    Shape out = inputs.at(0);
    int64_t channels = out.c;
    for (size_t k = 1; k < inputs.size(); ++k) {
        if (inputs[k].w != out.w || inputs[k].h != out.h)
            fail("layer " + std::to_string(sources_[k]) + " outputs " + inputs[k].str() + ", but layer " +
                 std::to_string(sources_[0]) + " outputs " + inputs[0].str() + ": routed layers must share width and height");
        channels += inputs[k].c;
        if (channels > kMaxChannels)
            fail("the routed layers have more than " + std::to_string(kMaxChannels) + " channels together");
    }
    out.c = int(channels);
    output_ = out;
}

std::string RouteLayer::describe() const {
    std::string s = "route ";
    for (int src : sources_) s.append(" ").append(std::to_string(src));
    return s;
}

void RouteLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    for (int b = 0; b < batch; ++b) {
        float* y = output + b * output_.size();
        for (size_t k = 0; k < inputs_.size(); ++k) {
            const size_t n = inputs_[k].size();
            std::memcpy(y, inputs[k] + b * n, n * sizeof(float));
            y += n;
        }
    }
}

void RouteLayer::backward_reference(std::span<const float* const>, const float*,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    for (int b = 0; b < batch; ++b) {
        const float* g = output_grad + b * output_.size();
        for (size_t k = 0; k < inputs_.size(); ++k) {
            const size_t n = inputs_[k].size();
            if (k < input_grads.size() && input_grads[k]) {
                float* dx = input_grads[k] + b * n;
                for (size_t i = 0; i < n; ++i) dx[i] += g[i];
            }
            g += n;
        }
    }
}

namespace {
const LayerRegistrar registrar("route", [](const SectionReader& r, const LayerBuildContext& ctx) {
    auto l = std::make_unique<RouteLayer>();
    std::vector<int> layers = r.get_ints("layers");
    if (layers.empty()) r.fail_section("missing 'layers' (e.g. layers=-1,-4)");
    for (int& idx : layers) {
        const int abs = idx < 0 ? ctx.index + idx : idx;
        if (abs < 0 || abs >= ctx.index)
            r.fail("layers", "index " + std::to_string(idx) + " points to layer " + std::to_string(abs) +
                                 "; expected an earlier layer in [0, " + std::to_string(ctx.index - 1) + "]");
        idx = abs;
    }
    l->set_sources(layers);
    return l;
});
}  // namespace

}  // namespace yolo9k
