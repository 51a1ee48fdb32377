#include "layer/layer.h"

#include <map>

namespace yolo9k {
namespace {
std::map<std::string, LayerFactory>& registry() {
    static std::map<std::string, LayerFactory> r;  // function-local: safe during static init
    return r;
}
}  // namespace

void register_layer(const std::string& section, LayerFactory factory) { registry()[section] = std::move(factory); }

const LayerFactory* find_layer_factory(const std::string& section) {
    auto it = registry().find(section);
    return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> registered_layers() {
    std::vector<std::string> names;
    for (const auto& [name, _] : registry()) names.push_back(name);
    return names;
}

size_t Layer::trainable_floats() {
    size_t n = 0;
    for (const auto& b : trainable_blobs()) n += b.data->size();
    return n;
}

void Layer::forward_train_reference(std::span<const float* const> inputs, float* output, float*, int batch) {
    forward_reference(inputs, output, batch);
}

void Layer::backward_reference(std::span<const float* const>, const float*, const float*, const float*,
                               std::span<float* const>, float*, int) {
    fail("training is not supported for this layer type");
}

Activation parse_activation(const SectionReader& r, const char* fallback) {
    std::string s = r.get_string("activation", fallback);
    if (s == "linear") return Activation::linear;
    if (s == "leaky") return Activation::leaky;
    if (s == "relu") return Activation::relu;
    if (s == "logistic") return Activation::logistic;
    r.fail("activation", "expected one of linear, leaky, relu, logistic; got '" + s + "'");
}

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::linear: return "linear";
        case Activation::leaky: return "leaky";
        case Activation::relu: return "relu";
        case Activation::logistic: return "logistic";
    }
    return "?";
}

}  // namespace yolo9k
