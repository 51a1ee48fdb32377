#include "layer/cost.h"

#include <cstring>

namespace yolo9k {

void CostLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    std::memcpy(output, inputs[0], size_t(batch) * output_.size() * sizeof(float));
}

void CostLayer::backward_reference(std::span<const float* const>, const float*,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    const size_t n = size_t(batch) * output_.size();
    for (size_t i = 0; i < n; ++i) input_grads[0][i] += output_grad[i];
}

namespace {
const LayerRegistrar registrar("cost", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<CostLayer>();
    l->cost_type = r.get_string("type", "sse");
    if (l->cost_type != "sse" && l->cost_type != "masked" && l->cost_type != "smooth" && l->cost_type != "L1")
        r.fail("type", "expected one of sse, masked, smooth, L1; got '" + l->cost_type + "'");
    l->scale = r.get_float("scale", 1);
    l->ratio = r.get_float("ratio", 0);
    l->noobject_scale = r.get_float("noobj", 1);
    l->thresh = r.get_float("thresh", 0);
    return l;
});
}  // namespace

}  // namespace yolo9k
