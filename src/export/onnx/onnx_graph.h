// A thin builder over ONNX's GraphProto (Debian's libonnx protobuf classes): unique tensor
// names, nodes with attributes, and initializers from host arrays.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_set>
#include <vector>

#include <onnx/onnx_pb.h>

namespace yolo9k::onnx_export {

class OnnxGraph {
public:
    OnnxGraph(onnx::GraphProto& graph, int opset) : graph_(graph), opset_(opset) {}
    int opset() const { return opset_; }

    // A tensor name not used before, from `base` ("conv3" -> "conv3", then "conv3_1", ...).
    std::string fresh(const std::string& base);

    // Adds a node; returns it so that attributes can follow. Its outputs are named by the caller.
    onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs);
    // The common case: one output, named fresh(base).
    std::string op(const std::string& op, const std::vector<std::string>& inputs, const std::string& base);

    std::string floats(const std::string& base, const std::vector<int64_t>& dims, const std::vector<float>& values);
    std::string int64s(const std::string& base, const std::vector<int64_t>& values);  // 1-D

    // Reshape with a constant target ("0" keeps the batch dimension).
    std::string reshape(const std::string& x, const std::vector<int64_t>& shape, const std::string& base);

private:
    onnx::GraphProto& graph_;
    int opset_;
    std::unordered_set<std::string> used_;
};

void set_attribute(onnx::NodeProto& node, const std::string& name, int64_t value);
void set_attribute(onnx::NodeProto& node, const std::string& name, float value);
void set_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);

}  // namespace yolo9k::onnx_export
