// The inference side of the backend seam: a backend compiles a Network for a batch size
// into an Executor. Layers never call a compute library; backends (src/backend/<name>/)
// run them, and backend.h says how one registers and what it supports.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/activation_ranges.h"
#include "backend/tensor.h"

namespace yolo9k {

class Network;
class SharedWorkspace;

// Settings only one backend understands (oneDNN's Winograd choices, say): a struct that
// backend defines in its own folder. A backend ignores settings of another type.
struct BackendSettings {
    virtual ~BackendSettings() = default;
};

struct ExecutorOptions {
    int batch = 1;
    int threads = 0;            // 0: all cores
    bool keep_outputs = false;  // keep every layer's output readable (tests, debugging)
    Precision precision = Precision::f32;  // a backend refuses precisions it cannot compute in
    // int8: the calibrated activation ranges (required; a backend refuses int8 without them).
    std::shared_ptr<const ActivationRanges> activation_ranges;
    std::string device = "cpu";            // "cpu", or a backend's own ("cuda:0")
    std::shared_ptr<const BackendSettings> settings;
    // Called once a layer's kernel holds its own copy of the parameters, so an
    // inference-only owner can free host weights layer by layer (halves peak memory).
    std::function<void(int layer)> on_layer_ready;
    // Activation and scratch memory shared with other executors that never run at the same
    // time (see shared_workspace.h); null: this executor's own. A backend may ignore it.
    std::shared_ptr<SharedWorkspace> workspace;
};

// How a backend runs one layer: `yolo9k info --backend`, `bench --layers` and the tests
// read these fields, never the text of describe().
struct LayerExecution {
    int layer = 0;
    std::string type;           // the layer's cfg section
    std::string kernel;         // what computes it, as the backend names its implementation
    std::string output_layout;  // "" where the backend keeps plain NCHW; "(alias)": an input unchanged
    int reorders = 0;           // layout conversions the layer adds
    size_t extra_weight_bytes = 0;  // weights held beyond one plain copy (pre-transformed Winograd)
};

struct ExecutionPlan {
    std::vector<LayerExecution> layers;
    // Memory the backend reports for its activations (0: not reported).
    size_t activation_bytes = 0, scratchpad_bytes = 0;
    int buffers = 0;
    int reorders() const;
};

class Executor {
public:
    virtual ~Executor() = default;
    virtual std::string backend() const = 0;
    virtual int batch() const = 0;
    // The network input and output at this seam: batch x C x H x W, f32, plain NCHW
    // (RGB in [0,1] for detectors). A backend converts to its own dtype and layout inside.
    TensorDesc input_desc() const;
    TensorDesc output_desc() const;
    // `input`: input_desc() floats.
    virtual void forward(const float* input) = 0;
    // The same, for a described tensor: throws Error unless it is what input_desc() says.
    void forward(const ConstTensorView& input);
    // forward(), timing each layer (wall ms, the layer's work finished before the next
    // starts); for `yolo9k bench --layers`. Backends that cannot split a pass throw.
    virtual void forward_timed(const float* input, std::vector<double>& layer_ms);
    // The network output layer's result: output_desc() floats.
    virtual const float* output() const = 0;
    ConstTensorView output_tensor() const { return {output_desc(), output()}; }
    // Plain NCHW copy of any layer's last output; needs keep_outputs.
    virtual std::vector<float> layer_output(int layer) const = 0;
    // How each layer runs; by default every layer on its reference code.
    virtual ExecutionPlan plan() const;
    // plan() as text, one line per layer ("3 convolutional: KERNEL -> LAYOUT") and the memory.
    std::string describe() const;

protected:
    virtual const Network& network() const = 0;
};

int default_thread_count();

}  // namespace yolo9k
