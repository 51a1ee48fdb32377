// The training side of the backend seam. A TrainExecutor runs a Network in training mode
// (batch-norm batch statistics, saved state for the backward) and backpropagates into
// per-layer contiguous gradient buffers. The optimizer and the loss live in src/train and
// see only this interface; each backend builds its own (backend.h).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/train_profile.h"
#include "core/shape.h"

namespace yolo9k {

class Layer;

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

class TrainExecutor {
public:
    virtual ~TrainExecutor() = default;

    virtual int batch() const = 0;
    virtual std::string backend() const = 0;

    // Training-mode forward of `batch` images, plain NCHW f32 (net input shape).
    virtual void forward(const float* input) = 0;
    // The output layer's (region / softmax) result of the last forward, plain NCHW.
    virtual const float* output() const = 0;
    // The raw input of the output layer (what the loss differentiates against).
    virtual const float* head_input() const = 0;
    // Backpropagate from dLoss/d(head input) - the loss owns the head's activation
    // derivative (softmax+cross-entropy, logistic+squared error), as darknet does.
    // Gradients ADD to gradients() until zero_grad() (subdivisions accumulate).
    virtual void backward(const float* head_input_grad) = 0;

    // Host-side per-layer gradients (what the optimizer and an all-reduce read).
    virtual std::vector<LayerGradients>& gradients() = 0;
    virtual void zero_grad() = 0;
    // Host parameters changed (after an optimizer step or a weights load).
    virtual void parameters_changed() = 0;
    // The network was resized (multi-scale): rebuild kernels; buffers grow only when needed.
    virtual void reshape() = 0;

    // Every layer's last training output, plain NCHW (tests).
    virtual std::span<const float> layer_output(int layer) const = 0;
    // One line per layer: which kernel runs it.
    virtual std::string describe() const = 0;
    // Record where each pass's time goes into `profile` (reset to the network's layers), or
    // stop recording (null). A backend that cannot split its passes throws.
    virtual void set_profile(TrainProfile* profile);
};

// A per-layer training kernel (the unit a host backend optimises). Same contract as
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
    // Set while the executor profiles (train_profile.h): the kernel marks its phases on it.
    PhaseClock* clock = nullptr;
    void mark(TrainPhase phase) {
        if (clock) clock->mark(phase);
    }
};

struct TrainKernelContext {
    Layer& layer;
    int batch = 1;
};
using TrainKernelFactory = std::function<std::unique_ptr<TrainKernel>(const TrainKernelContext&)>;

}  // namespace yolo9k
