// [region]: YOLOv2's detection head. Reads the last conv's num*(coords+1+classes)
// channels per cell and applies σ to x, y and objectness and a softmax over the classes
// (t_w, t_h stay raw: b_w = p_w e^{t_w} is applied when boxes are decoded).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layer/layer.h"
#include "tree/word_tree.h"

namespace yolo9k {

class RegionLayer : public Layer {
public:
    std::string_view type() const override { return "region"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
    // Training: back through the activations only (σ on x, y, objectness; softmax or σ on
    // the classes; identity on w, h). The trainer's loss differentiates the head itself.
    void backward_reference(std::span<const float* const> inputs, const float* output, const float* output_grad,
                            const float* state, std::span<float* const> input_grads, float* param_grads,
                            int batch) override;
    // In-place activation of one batch of region output in darknet's layout.
    void activate_in_place(float* data, int batch) const;

    int classes = 20, coords = 4, num = 1;
    std::vector<float> anchors;  // (w, h) pairs in grid cells
    bool softmax = false;
    std::string tree_file, map_file;  // YOLO9000 WordTree (hierarchical softmax), as written in the cfg
    // Loaded when the cfg is parsed. With a tree the classes are its nodes and get a
    // softmax per sibling group (Pr(node | parent)); class_map (map=, e.g. coco9k.map)
    // gives the tree node of each dataset class, empty without map=.
    std::shared_ptr<const WordTree> tree;
    std::vector<int> class_map;

    // Training parameters (consumed by the trainer).
    bool bias_match = false, rescore = false, absolute = false, random = false;
    float jitter = .2f, thresh = .5f;
    float object_scale = 1, noobject_scale = 1, class_scale = 1, coord_scale = 1;
    int entries() const { return coords + 1 + classes; }
};

}  // namespace yolo9k
