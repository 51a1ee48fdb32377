// [softmax]: softmax over each image's outputs (split into `groups` equal parts),
// with an optional temperature. `tree=` selects the WordTree hierarchical softmax.
#pragma once

#include <memory>
#include <string>

#include "layer/layer.h"
#include "tree/word_tree.h"

namespace yolo9k {

class SoftmaxLayer : public Layer {
public:
    std::string_view type() const override { return "softmax"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: the softmax Jacobian per group, y = softmax(x / T): dx = y (g - Σ g y) / T.
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
    void activate_in_place(float* data, int batch) const;

    int groups = 1;
    float temperature = 1;
    std::string tree_file;
    // Loaded when the cfg is parsed: the input is one node per entry, softmaxed per
    // sibling group (groups= is then unused, as in darknet).
    std::shared_ptr<const WordTree> tree;
};

}  // namespace yolo9k
