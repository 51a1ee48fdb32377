// A layer is one [section] of a darknet cfg: its parameters, its shape rule, its
// weights (in .weights order) and plain-C++ reference forward and backward passes.
// Optimised kernels live in the backends (src/backend/<name>/), which never change a
// layer, and are checked against this reference by the op table (tests/ops/).
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/shape.h"
#include "parse/cfg.h"

namespace yolo9k {

struct NetParams;

// What a layer sees while it is being built from its cfg section.
struct LayerBuildContext {
    int index = 0;                           // position among the network's layers
    const std::vector<Shape>* outputs;       // output shapes of layers [0, index)
    Shape input;                             // previous layer's output (or the network input)
    const NetParams* net = nullptr;
};

// A contiguous parameter array as stored in a .weights file.
struct WeightBlob {
    const char* name;
    std::vector<float>* data;
};

// A parameter array the optimizer updates. A layer's gradients live in ONE contiguous
// buffer: its trainable blobs concatenated in trainable_blobs() order (so data-parallel
// training can all-reduce one span per layer).
struct TrainableBlob {
    const char* name;
    std::vector<float>* data;
    bool decay;  // weight decay applies (darknet: weights yes; biases and BN scales no)
};

// Values a training forward updates as an exponential moving average, once per pass:
// x = decay * x + (1 - decay) * (this pass's value). Batch norm's rolling mean and variance.
// Data-parallel training merges them across ranks as if the ranks' passes had run in order.
struct RunningStatistic {
    std::vector<float>* data;
    float decay;
};

class Layer {
public:
    virtual ~Layer() = default;
    virtual std::string_view type() const = 0;

    // Layer indices whose outputs feed this layer; -1 means the network input.
    const std::vector<int>& sources() const { return sources_; }
    void set_sources(std::vector<int> sources) { sources_ = std::move(sources); }
    Shape input_shape(int k = 0) const { return inputs_.at(k); }
    const std::vector<Shape>& input_shapes() const { return inputs_; }
    Shape output_shape() const { return output_; }
    int index() const { return index_; }
    int cfg_line() const { return cfg_line_; }

    // Recompute shapes for new input shapes (network resize, e.g. multi-scale).
    // Throws Error naming the cfg line when the shapes do not fit.
    virtual void reshape(const std::vector<Shape>& inputs) = 0;

    // Multiply-adds x 2 per image, as darknet counts them for its BFLOPs column.
    virtual double flops() const { return 0; }
    // The darknet-style row printed by `yolo9k info` (without the index column).
    virtual std::string describe() const = 0;

    // Parameters in .weights file order; empty for layers without weights.
    virtual std::vector<WeightBlob> weight_blobs() { return {}; }
    // Frees host parameter arrays once a backend holds its own (inference-only use).
    virtual void release_weights() {}
    // Inference only: fold any normalisation into the weights in place, so a backend can
    // take them without a temporary folded copy. The layer's file layout no longer matches its cfg.
    virtual void fold_batch_norm() {}

    // Plain NCHW reference: `inputs[k]` holds batch x input_shape(k), `output` batch x output_shape().
    virtual void forward_reference(std::span<const float* const> inputs, float* output, int batch) const = 0;

    // A layer whose output is its input unchanged (e.g. [cost] at inference).
    virtual bool is_identity() const { return false; }

    // ---- Training, reference (plain NCHW; the oracle checked by finite differences) ----
    // Gradients are true gradients dLoss/dx (not darknet's negated "delta"), and the loss
    // is summed over the images of a batch (darknet divides the step by the batch).
    //
    // Parameters the optimizer updates; their gradient buffer is their concatenation.
    virtual std::vector<TrainableBlob> trainable_blobs() { return {}; }
    size_t trainable_floats();
    // What a training forward updates besides its output (see RunningStatistic).
    virtual std::vector<RunningStatistic> running_statistics() { return {}; }
    // Floats a training forward keeps for the backward (batch-norm statistics, ...).
    virtual size_t train_state_floats(int batch) const { return 0; }
    // Training-mode forward: batch norm uses batch statistics and updates the rolling
    // mean/variance as darknet does. Default: forward_reference (layers without a mode).
    virtual void forward_train_reference(std::span<const float* const> inputs, float* output, float* state,
                                         int batch);
    // Backward: ADDS dLoss/dinput_k into input_grads[k] (nullptr: not wanted, e.g. the
    // network input) and ADDS parameter gradients into param_grads (trainable_floats()
    // floats; nullptr when the layer has none). `output` and `state` are what the
    // training forward produced for these inputs. Default: throws "cannot train".
    virtual void backward_reference(std::span<const float* const> inputs, const float* output,
                                    const float* output_grad, const float* state,
                                    std::span<float* const> input_grads, float* param_grads, int batch);

protected:
    // A shape error at this layer's cfg line.
    [[noreturn]] void fail(const std::string& message) const {
        // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
        std::string text = "[";
        text.append(type()).append("] (layer ").append(std::to_string(index_)).append("): ").append(message);
        throw error_at(cfg_path_, cfg_line_, text);
    }
    std::vector<int> sources_;  // left empty by a factory: the previous layer
    std::vector<Shape> inputs_;
    Shape output_;
    int index_ = 0;
    int cfg_line_ = 0;
    std::string cfg_path_;
    friend class Network;
};

// Layer factories keyed by section name. Each layer's .cpp registers itself with a
// static LayerRegistrar, so adding a layer type touches only src/layer/.
using LayerFactory = std::function<std::unique_ptr<Layer>(const SectionReader&, const LayerBuildContext&)>;

void register_layer(const std::string& section, LayerFactory factory);
const LayerFactory* find_layer_factory(std::string_view section);
std::vector<std::string> registered_layers();

struct LayerRegistrar {
    LayerRegistrar(const std::string& section, LayerFactory factory) { register_layer(section, std::move(factory)); }
};

// Shared activation helpers (darknet's definitions).
enum class Activation { linear, leaky, relu, logistic };
Activation parse_activation(const SectionReader& r, const char* fallback);

// `tree=` of [region]/[softmax]: the WordTree it names (resolved as darknet does, then beside
// the cfg), or null without the key. A bad path or tree fails naming the cfg line.
struct WordTree;
std::shared_ptr<const WordTree> parse_word_tree_key(const SectionReader& r);
const char* activation_name(Activation a);
// In float for every backend; in double for the reference_f64 oracle.
template <typename T>
inline T activate(Activation a, T x) {
    switch (a) {
        case Activation::linear: return x;
        case Activation::leaky: return x > 0 ? x : T(0.1) * x;
        case Activation::relu: return x > 0 ? x : T(0);
        case Activation::logistic: return T(1) / (T(1) + std::exp(-x));
    }
    return x;
}
// d activate(x) / dx, written in terms of the OUTPUT y = activate(x), so a backward needs
// only what the forward wrote (as darknet's gradient_array does). At the kink of
// leaky/relu (y == 0) the left derivative is used.
inline float activation_gradient(Activation a, float y) {
    switch (a) {
        case Activation::linear: return 1.f;
        case Activation::leaky: return y > 0 ? 1.f : 0.1f;
        case Activation::relu: return y > 0 ? 1.f : 0.f;
        case Activation::logistic: return y * (1.f - y);
    }
    return 1.f;
}

}  // namespace yolo9k
