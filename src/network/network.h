// A darknet network: the [net] hyper-parameters and the layers built from a cfg.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layer/layer.h"
#include "parse/cfg.h"

namespace yolo9k {

// [net] section. Training keys are parsed and validated now so that every cfg darknet
// ships loads; the trainer consumes them.
struct NetParams {
    int batch = 1, subdivisions = 1;
    int width = 0, height = 0, channels = 0;
    int channels_line = 0;  // cfg line of channels=, for messages
    float momentum = 0.9f, decay = 0.0001f;
    // darknet's adam=1 with B1, B2, eps: Adam instead of SGD with momentum.
    bool adam = false;
    float adam_b1 = 0.9f, adam_b2 = 0.999f, adam_eps = 1e-7f;
    float angle = 0, saturation = 1, exposure = 1, hue = 0, aspect = 1;
    int max_crop = 0, min_crop = 0;
    float learning_rate = 0.001f;
    int burn_in = 0;
    float power = 4;
    int max_batches = 0;
    std::string policy = "constant";
    std::vector<int> steps;
    std::vector<float> scales;
    float gamma = 1;
    int step = 1;
    float scale = 1;  // "step" policy: lr * scale^(batch / step)
};

struct WeightsHeader {
    int32_t major = 0, minor = 2, revision = 0;
    uint64_t seen = 0;  // images seen in training
    // darknet writes `seen` as 64 bits from version 0.2 on, as 32 bits before
    bool wide_seen() const { return int64_t(major) * 10 + minor >= 2; }  // 64-bit: any header read
    size_t bytes() const { return 12 + (wide_seen() ? 8 : 4); }
};

struct NetworkOptions {
    std::optional<int> width, height;  // override [net] width/height (e.g. --size)
};

class Network {
public:
    static Network from_cfg_file(const std::string& path, const NetworkOptions& opts = {});
    static Network from_cfg(const CfgFile& cfg, const NetworkOptions& opts = {});

    Network(Network&&) noexcept = default;
    Network& operator=(Network&&) noexcept = default;

    const NetParams& params() const { return net_; }
    NetParams& params() { return net_; }  // a trainer's command-line overrides
    Shape input_shape() const { return {net_.channels, net_.height, net_.width}; }
    int size() const { return int(layers_.size()); }
    Layer& layer(int i) { return *layers_.at(i); }
    const Layer& layer(int i) const { return *layers_.at(i); }
    // The layer whose output is the network's result: the last one that is not an identity
    // ([cost]), as darknet's get_network_output does.
    int output_layer() const;
    const std::string& cfg_path() const { return cfg_path_; }

    // Re-infer every shape for a new input size (keeps weights).
    void resize(int width, int height);

    double total_flops() const;

    // .weights I/O, byte-compatible with darknet. `allow_prefix` accepts a file that holds
    // only the first layers' weights (darknet's `partial` files, e.g. darknet19_448.conv.23),
    // provided it ends exactly at a layer boundary; returns the number of layers loaded.
    int load_weights(const std::string& path, bool allow_prefix = false);
    void save_weights(const std::string& path, int upto_layers = -1) const;
    size_t weights_file_bytes(int upto_layers = -1) const;
    WeightsHeader& header() { return header_; }
    const WeightsHeader& header() const { return header_; }
    bool weights_released() const { return weights_released_; }
    void release_weights();
    // Inference-only owners: batch norm folded into the conv weights in place (no
    // temporary copies when a backend takes them). The network can no longer be saved.
    void fold_batch_norm();

    // Throws a cfg-line Error unless the network takes 3-channel images: detection,
    // classification and training feed it planar RGB, as darknet's detector does.
    void require_rgb_input() const;

    // Throws a cfg-line Error, naming the first layer past it, when the weights and one
    // image's outputs exceed limits().max_network_bytes. resize() calls it; construction
    // checks layer by layer as it goes.
    void check_memory() const;

    // A text table like darknet's network print: index, type, filters, size, input, output, BFLOPs.
    std::string describe() const;

private:
    // Throws when `bytes` (the running total up to and including `layer`) is over the limit.
    void check_memory_at(const Layer& layer, uint64_t bytes) const;

    Network() = default;
    std::string cfg_path_;
    NetParams net_;
    std::vector<std::unique_ptr<Layer>> layers_;
    WeightsHeader header_;
    bool weights_released_ = false;
    bool batch_norm_folded_ = false;
};

}  // namespace yolo9k
