// [route]: concatenates the outputs of earlier layers along channels
// (`layers=-1,-4`: negative indices are relative to this layer).
#pragma once

#include "layer/layer.h"

namespace yolo9k {

class RouteLayer : public Layer {
public:
    std::string_view type() const override { return "route"; }
    void reshape(const std::vector<Shape>& inputs) override;
    std::string describe() const override;
    void forward_reference(std::span<const float* const> inputs, float* output, int batch) const override;
};

}  // namespace yolo9k
