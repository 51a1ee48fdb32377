// The backend seam. A backend compiles a Network for a batch size into an Executor;
// layers never call a compute library directly. Today: "onednn" (the fast CPU path)
// and "reference" (plain loops, the oracle for tests). A CUDA backend registers here too.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/shape.h"

namespace yolo9k {

class Network;

// How the oneDNN backend computes 3x3 stride-1 convolutions.
enum class ConvAlgorithm {
    // Winograd (F(4,3) or F(2,3), whichever oneDNN picks) where it is faster, direct elsewhere:
    // 2-3x fewer multiplications on the 3x3 layers, with a rounding error that grows with the
    // input channels (see README, "Winograd accuracy").
    fast,
    direct,  // direct convolution everywhere: the closest to darknet's arithmetic
};

struct ExecutorOptions {
    int batch = 1;
    int threads = 0;            // 0: all cores
    bool keep_outputs = false;  // keep every layer's output readable (tests, debugging)
    ConvAlgorithm conv_algorithm = ConvAlgorithm::fast;
    // With `fast`: how many bytes Winograd kernels may add to the network's weight memory by
    // keeping pre-transformed weights (1.8x-4x the plain ones), granted in layer order.
    // The default keeps yolov2-voc's detect under 2x its weights file and gives small
    // networks (yolov2-tiny-voc: 45 MiB) every such layer; kUnlimited is the fastest.
    static constexpr size_t kUnlimited = SIZE_MAX;
    size_t winograd_memory = size_t(48) << 20;
    // Called once a layer's kernel holds its own copy of the parameters, so an
    // inference-only owner can free host weights layer by layer (halves peak memory).
    std::function<void(int layer)> on_layer_ready;
};

class Executor {
public:
    virtual ~Executor() = default;
    virtual std::string backend() const = 0;
    virtual int batch() const = 0;
    // `input`: batch x C x H x W floats, plain NCHW, RGB in [0,1] for detectors.
    virtual void forward(const float* input) = 0;
    // forward(), timing each layer (wall ms, the layer's work finished before the next
    // starts); for `yolo9k bench --layers`. Backends that cannot split a pass throw.
    virtual void forward_timed(const float* input, std::vector<double>& layer_ms);
    // The network output layer's result, plain NCHW, batch x output shape.
    virtual const float* output() const = 0;
    // Plain NCHW copy of any layer's last output; needs keep_outputs.
    virtual std::vector<float> layer_output(int layer) const = 0;
    // A one-line-per-layer account of how each layer runs (implementation, layouts).
    virtual std::string describe() const { return {}; }
};

using BackendFactory = std::function<std::unique_ptr<Executor>(const Network&, const ExecutorOptions&)>;
void register_backend(const std::string& name, BackendFactory factory);
std::vector<std::string> backends();
std::unique_ptr<Executor> make_executor(const Network& net, const std::string& backend = "onednn",
                                        const ExecutorOptions& options = {});

int default_thread_count();

}  // namespace yolo9k
