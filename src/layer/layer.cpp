#include "layer/layer.h"

#include "core/error.h"
#include "core/registry.h"
#include "tree/word_tree.h"

namespace yolo9k {
namespace {
Registry<LayerFactory>& registry() {
    static Registry<LayerFactory> r("layer type");
    return r;
}
}  // namespace

void register_layer(const std::string& section, LayerFactory factory) { registry().add(section, std::move(factory)); }

const LayerFactory* find_layer_factory(std::string_view section) { return registry().find(section); }

std::vector<std::string> registered_layers() { return registry().names(); }

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

std::shared_ptr<const WordTree> parse_word_tree_key(const SectionReader& r) {
    const std::string given = r.get_string("tree", "");
    if (given.empty()) return nullptr;
    try {
        return std::make_shared<const WordTree>(load_word_tree(resolve_cfg_relative_path(given, r.file().path)));
    } catch (const Error& e) {
        r.fail("tree", e.what());
    }
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
