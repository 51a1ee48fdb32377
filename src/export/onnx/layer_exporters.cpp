#include "export/onnx/layer_exporters.h"

#include "core/error.h"
#include "layer/convolutional.h"
#include "layer/maxpool.h"
#include "layer/region.h"
#include "layer/reorg.h"
#include "layer/softmax.h"
#include "network/network.h"
#include "tree/word_tree.h"

namespace yolo9k::onnx_export {

std::string layer_where(const Network& net, const Layer& layer) {
    return net.cfg_path() + ":" + std::to_string(layer.cfg_line()) + ": layer " + std::to_string(layer.index()) + " [" +
           std::string(layer.type()) + "]";
}

namespace {

std::string base_name(const Layer& l) { return std::string(l.type()) + "_" + std::to_string(l.index()); }

// Per-image dimensions of a shape, with the batch kept (Reshape's 0).
std::vector<int64_t> batch_and(const Shape& s) { return {0, s.c, s.h, s.w}; }

std::string activation(OnnxGraph& g, Activation a, const std::string& x, const std::string& base, const std::string& where) {
    switch (a) {
        case Activation::linear: return x;
        case Activation::relu: return g.op("Relu", {x}, base + "_relu");
        case Activation::logistic: return g.op("Sigmoid", {x}, base + "_logistic");
        case Activation::leaky: {
            const std::string y = g.fresh(base + "_leaky");
            set_attribute(g.node("LeakyRelu", {x}, {y}), "alpha", .1f);
            return y;
        }
    }
    throw Error(where + ": activation " + activation_name(a) + " has no ONNX form here");
}

std::string convolutional(const Layer& layer, const std::vector<std::string>& in, ExportContext& c) {
    const auto& l = static_cast<const ConvolutionalLayer&>(layer);
    const std::string base = base_name(l);
    std::vector<float> w, b;
    l.folded(w, b);  // batch norm folded in, as the inference kernels use it
    const Shape x = l.input_shape();
    const std::string weight = c.graph.floats(base + ".weight", {l.filters, x.c, l.size, l.size}, w);
    const std::string bias = c.graph.floats(base + ".bias", {l.filters}, b);
    const std::string y = c.graph.fresh(base);
    onnx::NodeProto& n = c.graph.node("Conv", {in[0], weight, bias}, {y});
    set_attribute(n, "kernel_shape", std::vector<int64_t>{l.size, l.size});
    set_attribute(n, "strides", std::vector<int64_t>{l.stride, l.stride});
    set_attribute(n, "pads", std::vector<int64_t>{l.padding, l.padding, l.padding, l.padding});
    return activation(c.graph, l.activation, y, base, layer_where(c.net, l));
}

std::string maxpool(const Layer& layer, const std::vector<std::string>& in, ExportContext& c) {
    const auto& l = static_cast<const MaxpoolLayer&>(layer);
    // darknet pads padding/2 before and the rest after; padded cells never win, as in ONNX.
    const int64_t before = l.pad_before(), after = l.padding - l.pad_before();
    const std::string y = c.graph.fresh(base_name(l));
    onnx::NodeProto& n = c.graph.node("MaxPool", {in[0]}, {y});
    set_attribute(n, "kernel_shape", std::vector<int64_t>{l.size, l.size});
    set_attribute(n, "strides", std::vector<int64_t>{l.stride, l.stride});
    set_attribute(n, "pads", std::vector<int64_t>{before, before, after, after});
    return y;
}

std::string avgpool(const Layer& l, const std::vector<std::string>& in, ExportContext& c) {
    return c.graph.op("GlobalAveragePool", {in[0]}, base_name(l));
}

std::string route(const Layer& l, const std::vector<std::string>& in, ExportContext& c) {
    if (in.size() == 1) return c.graph.op("Identity", {in[0]}, base_name(l));
    const std::string y = c.graph.fresh(base_name(l));
    set_attribute(c.graph.node("Concat", in, {y}), "axis", int64_t(1));
    return y;
}

// darknet's order: the input read as a (C/s²) x (H·s) x (W·s) image, space-to-depth'd,
// and the result's memory taken as the layer's output shape.
std::string reorg(const Layer& layer, const std::vector<std::string>& in, ExportContext& c) {
    const auto& l = static_cast<const ReorgLayer&>(layer);
    const Shape x = l.input_shape();
    const int s = l.stride;
    const std::string base = base_name(l);
    const std::string wide = c.graph.reshape(in[0], {0, x.c / (s * s), int64_t(x.h) * s, int64_t(x.w) * s}, base + "_wide");
    const std::string packed = c.graph.fresh(base + "_s2d");
    set_attribute(c.graph.node("SpaceToDepth", {wide}, {packed}), "blocksize", int64_t(s));
    return c.graph.reshape(packed, batch_and(l.output_shape()), base);
}

// Softmax along `axis` of x (its last axis), one per WordTree sibling group (contiguous
// ranges). Slices rather than one Split: OpenCV dnn 4.6 splits only into equal parts.
std::string group_softmax(OnnxGraph& g, const WordTree& tree, const std::string& x, int64_t axis,
                          const std::string& base) {
    const std::string axes = g.int64s(base + "_axis", {axis});
    std::vector<std::string> soft;
    for (int k = 0; k < tree.groups(); ++k) {
        const int64_t begin = tree.group_offset[k], end = begin + tree.group_size[k];
        const std::string part = g.op("Slice", {x, g.int64s(base + "_begin", {begin}), g.int64s(base + "_end", {end}), axes},
                                      base + "_group" + std::to_string(k));
        soft.push_back(g.fresh(part + "_softmax"));
        set_attribute(g.node("Softmax", {part}, {soft.back()}), "axis", axis);
    }
    const std::string y = g.fresh(base + "_tree");
    set_attribute(g.node("Concat", soft, {y}), "axis", axis);
    return y;
}

std::string softmax(const Layer& layer, const std::vector<std::string>& in, ExportContext& c) {
    const auto& l = static_cast<const SoftmaxLayer&>(layer);
    const std::string base = base_name(l);
    std::string x = in[0];
    if (l.temperature != 1.f) x = c.graph.op("Div", {x, c.graph.floats(base + "_temperature", {}, {l.temperature})}, base + "_t");
    const int64_t n = int64_t(l.output_shape().size());
    std::string y;
    if (l.tree) {
        y = group_softmax(c.graph, *l.tree, c.graph.reshape(x, {0, n}, base + "_flat"), 1, base);
    } else {
        const std::string grouped = c.graph.reshape(x, {0, l.groups, n / l.groups}, base + "_groups");
        y = c.graph.fresh(base + "_softmax");
        set_attribute(c.graph.node("Softmax", {grouped}, {y}), "axis", int64_t(2));
    }
    return c.graph.reshape(y, batch_and(l.output_shape()), base);
}

// Decoded boxes (see OnnxDecode::boxes), or the raw head input.
std::string region(const Layer& layer, const std::vector<std::string>& in, ExportContext& c) {
    const auto& l = static_cast<const RegionLayer&>(layer);
    const std::string where = layer_where(c.net, l);
    if (!c.is_output) throw Error(where + ": a [region] must be the network's output to be exported");
    const int64_t batch = c.options.batch > 0 ? c.options.batch : -1;
    const Shape s = l.input_shape();
    const int64_t cells = int64_t(s.h) * s.w, boxes = cells * l.num, k = l.classes;
    if (c.options.decode == OnnxDecode::none) {
        c.outputs.push_back({c.graph.op("Identity", {in[0]}, "output"), {batch, s.c, s.h, s.w}});
        return c.outputs.back().name;
    }
    if (l.coords != 4) throw Error(where + ": --decode boxes needs coords=4, the cfg has " + std::to_string(l.coords));
    OnnxGraph& g = c.graph;
    // N x A·E x H x W -> N x A x E x HW -> N x HW x A x E, sliced on the last axis; rank 4
    // throughout (OpenCV dnn 4.6 mishandles some rank-3 tensors), flattened to N x HW·A at the
    // end: box i is cell i / A, anchor i % A.
    const std::string per_anchor = g.reshape(in[0], {0, l.num, l.entries(), cells}, "region_anchors");
    const std::string rows = g.fresh("region_cells");
    set_attribute(g.node("Transpose", {per_anchor}, {rows}), "perm", std::vector<int64_t>{0, 3, 1, 2});
    const std::string last_axis = g.int64s("region_axis", {3});
    auto slice = [&](int64_t from, int64_t to, const std::string& name) {
        return g.op("Slice", {rows, g.int64s(name + "_begin", {from}), g.int64s(name + "_end", {to}), last_axis}, name);
    };
    // Constants of the full HW x A x 2 shape: OpenCV dnn 4.6 cannot broadcast a (2) over the
    // last axis. Its Add with a constant does not broadcast over the batch either, so the
    // grid has the (fixed) batch's size, while Mul and Div become a per-image Scale that must
    // have a batch of 1. (A dynamic batch gets 1 throughout, which ONNX broadcasts.) Each node
    // gets its own copy: OpenCV 4.6 turns a Div by a constant into a multiply by its inverse
    // in place, so a shared one is inverted twice.
    const int64_t grid_batch = c.options.batch > 0 ? c.options.batch : 1;
    std::vector<float> grid, anchors, size;
    for (int64_t cell = 0; cell < cells; ++cell)
        for (int a = 0; a < l.num; ++a) {
            grid.insert(grid.end(), {float(cell % s.w), float(cell / s.w)});
            anchors.insert(anchors.end(), {l.anchors[2 * a], l.anchors[2 * a + 1]});
            size.insert(size.end(), {float(s.w), float(s.h)});
        }
    std::vector<float> batch_grid;
    for (int64_t b = 0; b < grid_batch; ++b) batch_grid.insert(batch_grid.end(), grid.begin(), grid.end());
    const std::vector<int64_t> dims = {1, cells, l.num, 2};
    auto grid_size = [&] { return g.floats("region_grid_size", dims, size); };
    // darknet: x = (col + σ(t_x)) / W, w = e^{t_w} · anchor_w / W; likewise y and h.
    const std::string xy = g.op("Div", {g.op("Add", {g.op("Sigmoid", {slice(0, 2, "region_txy")}, "region_sxy"),
                                                      g.floats("region_grid", {grid_batch, cells, l.num, 2}, batch_grid)},
                                         "region_cxy"),
                                        grid_size()},
                                "region_xy");
    const std::string wh = g.op("Div", {g.op("Mul", {g.op("Exp", {slice(2, 4, "region_twh")}, "region_ewh"),
                                                      g.floats("region_anchor_sizes", dims, anchors)},
                                         "region_awh"),
                                        grid_size()},
                                "region_wh");
    const std::string xywh = g.fresh("region_boxes");
    set_attribute(g.node("Concat", {xy, wh}, {xywh}), "axis", int64_t(3));
    const std::string box = g.reshape(xywh, {0, boxes, 4}, "boxes");
    const std::string objectness =
        g.reshape(g.op("Sigmoid", {slice(4, 5, "region_to")}, "region_sigmoid_to"), {0, boxes}, "objectness");
    const std::string logits = slice(5, 5 + k, "region_class_logits");
    std::string probs;
    if (l.tree) {
        probs = group_softmax(g, *l.tree, logits, 3, "region_classes");
    } else if (l.softmax) {
        probs = g.fresh("region_softmax");
        set_attribute(g.node("Softmax", {logits}, {probs}), "axis", int64_t(3));
    } else {
        probs = g.op("Sigmoid", {logits}, "region_logistic");
    }
    probs = g.reshape(probs, {0, boxes, k}, "class_probs");
    c.outputs = {{box, {batch, boxes, 4}}, {objectness, {batch, boxes}}, {probs, {batch, boxes, k}}};
    return box;
}

}  // namespace

const Registry<LayerExporter>& layer_exporters() {
    static const Registry<LayerExporter> r = [] {
        Registry<LayerExporter> t("layer type for ONNX export");
        t.add("convolutional", convolutional);
        t.add("maxpool", maxpool);
        t.add("avgpool", avgpool);
        t.add("route", route);
        t.add("reorg", reorg);
        t.add("softmax", softmax);
        t.add("region", region);
        return t;
    }();
    return r;
}

}  // namespace yolo9k::onnx_export
