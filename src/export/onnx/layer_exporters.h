// One exporter per layer type: how a layer becomes ONNX nodes. A new layer type adds its
// entry in layer_exporters.cpp (a test fails for a registered layer type without one).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/registry.h"
#include "export/onnx/onnx_graph.h"
#include "yolo9k/onnx_export.h"

namespace yolo9k {
class Layer;
class Network;
}  // namespace yolo9k

namespace yolo9k::onnx_export {

// A graph output: its tensor name and its dimensions (-1: the dynamic batch).
struct GraphOutput {
    std::string name;
    std::vector<int64_t> dims;
};

struct ExportContext {
    OnnxGraph& graph;
    const Network& net;
    const OnnxExportOptions& options;
    bool is_output = false;  // the network's output layer: a [region] then names the graph outputs
    std::vector<GraphOutput> outputs;
};

// Emits the nodes for `layer` reading `inputs` (one tensor name per source); returns its
// output tensor's name. Throws Error naming the layer when it cannot be exported as configured.
using LayerExporter = std::function<std::string(const Layer& layer, const std::vector<std::string>& inputs,
                                                ExportContext& context)>;

const Registry<LayerExporter>& layer_exporters();

// "cfg:LINE: layer N [type]" for messages.
std::string layer_where(const Network& net, const Layer& layer);

}  // namespace yolo9k::onnx_export
