#include "layer/softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace yolo9k {

void SoftmaxLayer::reshape(const std::vector<Shape>& inputs) {
    inputs_ = inputs;
    if (tree && int(inputs.at(0).size()) != tree->size())
        fail("input " + inputs[0].str() + " has " + std::to_string(inputs[0].size()) + " values, but the tree " +
             tree->source + " has " + std::to_string(tree->size()) + " nodes; expected one value per node");
    if (inputs.at(0).size() % groups)
        fail("input " + inputs[0].str() + " does not split into groups=" + std::to_string(groups) + " equal parts");
    output_ = inputs[0];
}

std::string SoftmaxLayer::describe() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "softmax                                        %4zu", output_.size());
    return buf;
}

void SoftmaxLayer::activate_in_place(float* data, int batch) const {
    if (tree) {
        for (int b = 0; b < batch; ++b) {
            float* x = data + b * output_.size();
            tree_softmax(*tree, x, x, 1, temperature);
        }
        return;
    }
    const size_t n = output_.size() / groups;
    for (int b = 0; b < batch; ++b)
        for (int g = 0; g < groups; ++g) {
            float* x = data + b * output_.size() + g * n;
            const float largest = *std::max_element(x, x + n);
            float sum = 0;
            for (size_t i = 0; i < n; ++i) {
                x[i] = std::exp(x[i] / temperature - largest / temperature);
                sum += x[i];
            }
            for (size_t i = 0; i < n; ++i) x[i] /= sum;
        }
}

void SoftmaxLayer::forward_reference(std::span<const float* const> inputs, float* output, int batch) const {
    std::memcpy(output, inputs[0], size_t(batch) * output_.size() * sizeof(float));
    activate_in_place(output, batch);
}

void SoftmaxLayer::backward_reference(std::span<const float* const>, const float* output,
                                  const float* output_grad, const float*, std::span<float* const> input_grads, float*,
                                  int batch) {
    if (input_grads.empty() || !input_grads[0]) return;
    if (tree) {
        for (int b = 0; b < batch; ++b) {
            const size_t at = size_t(b) * output_.size();
            tree_softmax_backward(*tree, output + at, output_grad + at, input_grads[0] + at, 1, temperature);
        }
        return;
    }
    const size_t n = output_.size() / groups;
    for (size_t part = 0; part < size_t(batch) * groups; ++part) {
        const float* y = output + part * n;
        const float* g = output_grad + part * n;
        float* dx = input_grads[0] + part * n;
        double dot = 0;
        for (size_t i = 0; i < n; ++i) dot += double(g[i]) * y[i];
        for (size_t i = 0; i < n; ++i) dx[i] += float(y[i] * (g[i] - dot) / temperature);
    }
}

namespace {
const LayerRegistrar registrar("softmax", [](const SectionReader& r, const LayerBuildContext&) {
    auto l = std::make_unique<SoftmaxLayer>();
    l->groups = r.get_int_in("groups", 1, 1, 1 << 20);
    l->temperature = r.get_float_in("temperature", 1, 1e-6f, 1e6f);
    l->tree_file = r.get_string("tree", "");
    l->tree = parse_word_tree_key(r);
    return l;
});
}  // namespace

}  // namespace yolo9k
