// The public ONNX export: every layer through its exporter, the graph's inputs, outputs and
// metadata, then ONNX's own checker and shape inference before a byte is written.
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <nlohmann/json.hpp>

#include "api/model_access.h"
#include "core/error.h"
#include "core/json_read.h"
#include "export/onnx/layer_exporters.h"
#include "layer/region.h"
#include "network/network.h"
#include "yolo9k/files.h"
#include "yolo9k/onnx_export.h"

namespace yolo9k {

namespace {

using onnx_export::ExportContext;
using onnx_export::GraphOutput;
using onnx_export::OnnxGraph;

// The IR version each opset first shipped with: runtimes older than the IR refuse the file.
int64_t ir_version_for(int opset) { return opset <= 11 ? 6 : opset <= 14 ? 7 : 8; }

void set_tensor_type(onnx::ValueInfoProto& v, const std::string& name, const std::vector<int64_t>& dims) {
    v.set_name(name);
    onnx::TypeProto_Tensor& t = *v.mutable_type()->mutable_tensor_type();
    t.set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
        onnx::TensorShapeProto_Dimension& dim = *t.mutable_shape()->add_dim();
        if (d < 0) dim.set_dim_param("batch");
        else dim.set_dim_value(d);
    }
}

std::string dims_text(const std::vector<int64_t>& dims) {
    std::string s;
    for (int64_t d : dims) s += (s.empty() ? "" : " x ") + (d < 0 ? std::string("N") : std::to_string(d));
    return s;
}

void add_metadata(onnx::ModelProto& m, const std::string& key, const std::string& value) {
    onnx::StringStringEntryProto& e = *m.add_metadata_props();
    e.set_key(key);
    e.set_value(value);
}

void describe_model(onnx::ModelProto& m, const Network& net, const OnnxExportOptions& o) {
    add_metadata(m, "yolo9k.cfg", net.cfg_path());
    add_metadata(m, "yolo9k.input", "images: N x " + std::to_string(net.input_shape().c) + " x " +
                                        std::to_string(net.input_shape().h) + " x " + std::to_string(net.input_shape().w) +
                                        ", RGB, planar, values in [0, 1]");
    add_metadata(m, "yolo9k.letterbox",
                 "darknet: scale the image to fit the input keeping its aspect ratio (bilinear), centre it on a canvas "
                 "filled with 0.5");
    add_metadata(m, "yolo9k.input_width", std::to_string(net.input_shape().w));
    add_metadata(m, "yolo9k.input_height", std::to_string(net.input_shape().h));
    const Layer& last = net.layer(net.output_layer());
    const auto* region = dynamic_cast<const RegionLayer*>(&last);
    const size_t classes = region ? size_t(region->classes) : last.output_shape().size();
    if (!o.class_names.empty() && o.class_names.size() != classes)
        throw Error("ONNX export: " + std::to_string(o.class_names.size()) + " class names, but " + net.cfg_path() +
                    " has " + std::to_string(classes) + " classes");
    if (!o.class_names.empty()) add_metadata(m, "yolo9k.class_names", dump_json(o.class_names));
    if (!region) return;
    add_metadata(m, "yolo9k.decode", o.decode == OnnxDecode::boxes ? "boxes" : "none");
    add_metadata(m, "yolo9k.anchors", dump_json(region->anchors));  // (w, h) pairs in grid cells
    add_metadata(m, "yolo9k.grid", std::to_string(region->input_shape().w) + "x" + std::to_string(region->input_shape().h));
    add_metadata(m, "yolo9k.num_anchors", std::to_string(region->num));
    add_metadata(m, "yolo9k.classes", std::to_string(region->classes));
    add_metadata(m, "yolo9k.class_activation", region->tree ? "wordtree " + region->tree_file : region->softmax ? "softmax" : "logistic");
    add_metadata(m, "yolo9k.box_layout",
                 o.decode == OnnxDecode::boxes
                     ? "boxes: N x (H*W*A) x 4 (cx, cy, w, h relative to the input); box i is cell i / A, anchor i % A"
                     : "output: N x A*(5+classes) x H x W, per anchor tx, ty, tw, th, to, class logits (darknet's region input)");
}

onnx::ModelProto build(const Network& net, const OnnxExportOptions& o) {
    if (o.opset < 11 || o.opset > 17) throw Error("ONNX opset " + std::to_string(o.opset) + ": expected 11 to 17");
    if (o.batch < 0) throw Error("ONNX export: batch must be positive, or 0 for a dynamic batch");
    onnx::ModelProto m;
    m.set_ir_version(ir_version_for(o.opset));
    m.set_producer_name("yolo9k");
    m.set_producer_version("0.1.0");
    m.add_opset_import()->set_version(o.opset);
    onnx::GraphProto& graph = *m.mutable_graph();
    graph.set_name("yolo9k");
    OnnxGraph g(graph, o.opset);

    const int64_t batch = o.batch > 0 ? o.batch : -1;
    const Shape in = net.input_shape();
    const std::string input = g.fresh("images");
    set_tensor_type(*graph.add_input(), input, {batch, in.c, in.h, in.w});

    std::vector<std::string> tensors(size_t(net.size()));
    const int last = net.output_layer();
    ExportContext context{g, net, o, false, {}};
    for (int i = 0; i <= last; ++i) {
        const Layer& layer = net.layer(i);
        std::vector<std::string> inputs;
        for (int s : layer.sources()) inputs.push_back(s < 0 ? input : tensors.at(size_t(s)));
        if (layer.is_identity()) {
            tensors[size_t(i)] = inputs.at(0);
            continue;
        }
        const onnx_export::LayerExporter* exporter = onnx_export::layer_exporters().find(layer.type());
        if (!exporter) throw Error(onnx_export::layer_where(net, layer) + " has no ONNX export");
        context.is_output = i == last;
        tensors[size_t(i)] = (*exporter)(layer, inputs, context);
    }
    if (context.outputs.empty()) {  // not a detector: the output layer's tensor as it is
        const Shape out = net.layer(last).output_shape();
        context.outputs.push_back({tensors[size_t(last)], {batch, out.c, out.h, out.w}});
    }
    for (const GraphOutput& out : context.outputs) set_tensor_type(*graph.add_output(), out.name, out.dims);
    describe_model(m, net, o);
    return m;
}

// ONNX's checker (schemas, types, topological order) and strict shape inference, so a file
// that a runtime would reject never leaves here.
void check(onnx::ModelProto& m) {
    try {
        onnx::checker::check_model(m);
        onnx::ShapeInferenceOptions strict{true, 1, false};
        onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), strict);
    } catch (const std::exception& e) {
        throw Error(std::string("ONNX export: the graph fails ONNX's own checks (a yolo9k bug): ") + e.what());
    }
}

}  // namespace

std::string to_onnx_bytes(const Model& model, const OnnxExportOptions& options, OnnxExportReport* report) {
    const Network& net = ModelAccess::network(model);
    if (net.weights_released()) throw Error(net.cfg_path() + ": the model's weights were released; load them again to export");
    onnx::ModelProto m = build(net, options);
    check(m);
    std::string bytes;
    if (!m.SerializeToString(&bytes)) throw Error("ONNX export: the model is too large for protobuf (2 GiB)");
    if (report) {
        *report = {};
        report->opset = options.opset;
        report->nodes = m.graph().node_size();
        for (const onnx::TensorProto& t : m.graph().initializer())
            if (t.data_type() == onnx::TensorProto::FLOAT) {
                int64_t n = 1;
                for (int64_t d : t.dims()) n *= d;
                report->parameters += n;
            }
        auto describe = [](const onnx::ValueInfoProto& v) {
            std::vector<int64_t> dims;
            for (const auto& d : v.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
            return v.name() + ": " + dims_text(dims);
        };
        for (const auto& v : m.graph().input()) report->inputs.push_back(describe(v));
        for (const auto& v : m.graph().output()) report->outputs.push_back(describe(v));
        report->bytes = bytes.size();
    }
    return bytes;
}

OnnxExportReport export_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options) {
    OnnxExportReport report;
    write_file_atomically(path, to_onnx_bytes(model, options, &report));
    return report;
}

}  // namespace yolo9k
