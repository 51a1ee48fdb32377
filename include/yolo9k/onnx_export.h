// Exporting a darknet model to ONNX, for ONNX Runtime, OpenCV dnn, TensorRT and the rest.
// Link yolo9k::yolo9k_onnx.
//
//   yolo9k::Model model("yolov2-voc.cfg");
//   model.load_weights("yolov2-voc.weights");
//   yolo9k::export_onnx(model, "yolov2-voc.onnx", {.decode = yolo9k::OnnxDecode::boxes});
//
// The graph computes what yolo9k's forward computes, to float rounding:
//  * batch norm is folded into the convolutions; leaky becomes LeakyRelu(0.1);
//  * maxpool keeps darknet's padding (padding/2 before, the rest after: tiny-yolo's size-2
//    stride-1 pool pads only at the end);
//  * [reorg] is darknet's own order, not a textbook SpaceToDepth: Reshape to
//    (C/s², H·s, W·s), SpaceToDepth(s), Reshape to (C·s², H/s, W/s);
//  * WordTree softmaxes (YOLO9000) are one Softmax per sibling group.
// The input "images" is N x 3 x H x W, RGB in [0, 1], letterboxed as darknet does (the
// model's metadata says how). Metadata also holds the class names, anchors and grid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "yolo9k/model.h"

namespace yolo9k {

enum class OnnxDecode {
    // The detection head's input, raw: N x A·(5+K) x H x W, as darknet's [region] reads it.
    none,
    // Decoded in the graph, as darknet's forward and box decoding: outputs "boxes"
    // (N x H·W·A x 4: centre x, centre y, width, height, relative to the network input),
    // "objectness" (N x H·W·A, σ(t_o)) and "class_probs" (N x H·W·A x K: softmax, or the
    // WordTree's conditional probabilities). Box i is cell i / A (row-major), anchor i % A.
    boxes,
};

struct OnnxExportOptions {
    int batch = 1;      // the input's batch; 0: dynamic (a symbolic "batch" dimension)
    int opset = 13;     // ONNX opset, 11 to 17
    OnnxDecode decode = OnnxDecode::none;  // detectors only; a classifier ends in its softmax
    std::vector<std::string> class_names;  // written to the metadata; empty: none written
};

struct OnnxExportReport {
    int opset = 0;
    int nodes = 0;
    int64_t parameters = 0;                  // floats in the initializers
    std::vector<std::string> inputs, outputs;  // "name: N x C x H x W"
    uint64_t bytes = 0;                      // of the serialized model
};

// The serialized ModelProto, checked with ONNX's own checker and shape inference. Throws
// yolo9k::Error naming the layer (index, type, cfg line) that cannot be exported.
std::string to_onnx_bytes(const Model& model, const OnnxExportOptions& options = {},
                          OnnxExportReport* report = nullptr);

// The same, written atomically to `path`.
OnnxExportReport export_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace yolo9k
