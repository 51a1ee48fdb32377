// The training side of the backend seam. A TrainExecutor runs a Network in training mode
// (batch-norm batch statistics, saved state for the backward) and backpropagates into
// per-layer contiguous gradient buffers. The optimizer and the loss live in src/train and
// see only this interface, so a CUDA backend can slot in beside "onednn".
//
// Activations cross layer boundaries as plain NCHW floats; a backend keeps whatever
// layout it likes inside a layer's kernel (the oneDNN conv kernel works in nhwc).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/shape.h"
#include "layer/layer.h"

namespace yolo9k {

class Network;

// One trainable layer's gradients: trainable_blobs() concatenated. The single point where
// data-parallel training would all-reduce is between TrainExecutor::backward and the
// optimizer step, over these spans.
struct LayerGradients {
    int layer = -1;
    std::vector<float> data;
};

struct TrainExecutorOptions {
    int batch = 1;    // images per forward/backward (darknet's batch / subdivisions)
    int threads = 0;  // 0: all cores
};

// A per-layer training kernel (the unit a backend optimises). Same contract as
// Layer::forward_train_reference / backward_reference, on plain NCHW buffers.
class TrainKernel {
public:
    virtual ~TrainKernel() = default;
    virtual size_t state_floats() const = 0;
    virtual void forward(std::span<const float* const> inputs, float* output, float* state) = 0;
    virtual void backward(std::span<const float* const> inputs, const float* output, const float* output_grad,
                          const float* state, std::span<float* const> input_grads, float* param_grads) = 0;
    // The layer's host parameters changed (optimizer step, weights loaded): re-read them.
    virtual void parameters_changed() {}
    std::string impl;  // what runs, for describe()
};

struct TrainKernelContext {
    Layer& layer;
    int batch = 1;
};
using TrainKernelFactory = std::function<std::unique_ptr<TrainKernel>(const TrainKernelContext&)>;
// Optimised kernels register per (backend, layer type); a layer without one runs its
// reference training code.
void register_train_kernel(const std::string& backend, const std::string& layer_type, TrainKernelFactory f);
const TrainKernelFactory* find_train_kernel(const std::string& backend, const std::string& layer_type);
struct TrainKernelRegistrar {
    TrainKernelRegistrar(const std::string& backend, const std::string& layer_type, TrainKernelFactory f) {
        register_train_kernel(backend, layer_type, std::move(f));
    }
};
// The reference kernel: Layer::forward_train_reference / backward_reference.
std::unique_ptr<TrainKernel> make_reference_train_kernel(const TrainKernelContext& ctx);

class TrainExecutor {
public:
    // backend: "onednn" (registered fast kernels, reference elsewhere) or "reference".
    TrainExecutor(Network& net, const std::string& backend, const TrainExecutorOptions& options);
    ~TrainExecutor();

    int batch() const { return batch_; }
    const std::string& backend() const { return backend_; }

    // Training-mode forward of `batch` images, plain NCHW (net input shape).
    void forward(const float* input);
    // The output layer's (region / softmax) result of the last forward, plain NCHW.
    const float* output() const;
    // The raw input of the output layer (what the loss differentiates against).
    const float* head_input() const;
    // Backpropagate from dLoss/d(head input) - the loss owns the head's activation
    // derivative (softmax+cross-entropy, logistic+squared error), as darknet does.
    // Gradients ADD to gradients() until zero_grad() (subdivisions accumulate).
    void backward(const float* head_input_grad);

    std::vector<LayerGradients>& gradients() { return grads_; }
    void zero_grad();
    // Host parameters changed (after an optimizer step or a weights load).
    void parameters_changed();
    // The network was resized (multi-scale): rebuild kernels; buffers grow only when needed.
    void reshape();

    // Every layer's last training output, plain NCHW (tests).
    std::span<const float> layer_output(int layer) const;
    std::string describe() const;

private:
    void build();
    Network& net_;
    std::string backend_;
    int batch_;
    int threads_;
    int head_ = -1;  // output layer index
    std::vector<std::unique_ptr<TrainKernel>> kernels_;
    std::vector<std::vector<float>> outputs_, output_grads_, states_;
    std::vector<size_t> output_sizes_;
    std::vector<LayerGradients> grads_;
    std::vector<int> grad_slot_;  // layer -> index in grads_, or -1
    const float* input_ = nullptr;  // the last forward's input (the caller keeps it alive)
};

}  // namespace yolo9k
