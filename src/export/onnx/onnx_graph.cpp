#include "export/onnx/onnx_graph.h"

namespace yolo9k::onnx_export {

std::string OnnxGraph::fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
}

onnx::NodeProto& OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs) {
    onnx::NodeProto& n = *graph_.add_node();
    n.set_op_type(op);
    n.set_name(outputs.empty() ? op : outputs.front());
    for (const std::string& i : inputs) n.add_input(i);
    for (const std::string& o : outputs) n.add_output(o);
    return n;
}

std::string OnnxGraph::op(const std::string& op, const std::vector<std::string>& inputs, const std::string& base) {
    const std::string out = fresh(base);
    node(op, inputs, {out});
    return out;
}

std::string OnnxGraph::floats(const std::string& base, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
    onnx::TensorProto& t = *graph_.add_initializer();
    t.set_name(fresh(base));
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    // raw_data is little-endian IEEE floats, which is what x86-64 and ARM hold in memory.
    t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return t.name();
}

std::string OnnxGraph::int64s(const std::string& base, const std::vector<int64_t>& values) {
    onnx::TensorProto& t = *graph_.add_initializer();
    t.set_name(fresh(base));
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(int64_t(values.size()));
    for (int64_t v : values) t.add_int64_data(v);
    return t.name();
}

std::string OnnxGraph::reshape(const std::string& x, const std::vector<int64_t>& shape, const std::string& base) {
    return op("Reshape", {x, int64s(base + "_shape", shape)}, base);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
    onnx::AttributeProto& a = *node.add_attribute();
    a.set_name(name);
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(value);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, float value) {
    onnx::AttributeProto& a = *node.add_attribute();
    a.set_name(name);
    a.set_type(onnx::AttributeProto::FLOAT);
    a.set_f(value);
}

void set_attribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
    onnx::AttributeProto& a = *node.add_attribute();
    a.set_name(name);
    a.set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a.add_ints(v);
}

}  // namespace yolo9k::onnx_export
