// A darknet network in memory: its cfg, its weights, and what can be done with the file
// pair without running it (describe, initialise, cut, save). Detector and Classifier can
// run a Model that is already loaded instead of reading the files again.
//
//   yolo9k::Model model("yolov2-voc.cfg");
//   model.load_weights("yolov2-voc.weights");
//   std::cout << model.describe();                      // darknet's layer table
//   yolo9k::Detector det(model, {.names = "voc.names"});
//
// Link yolo9k::yolo9k.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "yolo9k/error.h"

namespace yolo9k {

// One layer as the cfg builds it at the model's input size.
struct LayerSummary {
    int index = 0;
    std::string type;  // the cfg section name: "convolutional", "maxpool", "region", ...
    int in_channels = 0, in_height = 0, in_width = 0;  // the first input's shape
    int out_channels = 0, out_height = 0, out_width = 0;
    double flops = 0;         // multiply-adds x 2 for one image
    int64_t parameters = 0;   // trainable floats (weights, biases, batch-norm scales)
};

// The header of a darknet .weights file (and of the model's weights once loaded).
struct WeightsVersion {
    int major = 0, minor = 2, revision = 0;
    uint64_t images_seen = 0;  // how many images training has shown the weights
};

class Model {
public:
    // Reads and checks a darknet .cfg (yolo9k::Error names the file and line on a bad one);
    // `size` (a multiple of 32) overrides [net] width and height, 0 keeps the cfg's. The
    // weights are zero until load_weights() or initialize_weights().
    explicit Model(const std::string& cfg, int size = 0);
    ~Model();
    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;

    // Reads a darknet .weights file. `partial` accepts one that holds only the first layers
    // (darknet's `partial` output, e.g. darknet19_448.conv.23) if it ends at a layer
    // boundary. Returns the number of layers read.
    int load_weights(const std::string& path, bool partial = false);
    // Fresh weights for training from scratch: He-scaled conv weights (darknet's variance),
    // zero biases, identity batch norm; the same seed gives the same bytes. `head_scale`
    // multiplies the convolutions without batch norm (the head): AlexeyAB darknet's is
    // 1/sqrt(3) (TrainerOptions::head_init_scale).
    void initialize_weights(uint32_t seed, float head_scale = 1.f);
    // Writes darknet's .weights format atomically; `layers` > 0 keeps only the first
    // layers (darknet's `partial`).
    void save_weights(const std::string& path, int layers = 0) const;
    // The size save_weights() writes.
    uint64_t weights_file_bytes(int layers = 0) const;
    WeightsVersion weights_version() const;
    // darknet's `partial` resets it so that a cut backbone starts its schedule at 0.
    void set_images_seen(uint64_t images);

    const std::string& cfg_path() const;
    int input_width() const;
    int input_height() const;
    int input_channels() const;
    int layer_count() const;
    std::vector<LayerSummary> layers() const;
    double total_flops() const;  // one image
    // A table like darknet's network print: index, type, filters, size, input, output, BFLOPs.
    std::string describe() const;
    // How `backend` would run each layer (its kernel, or the shared host path), one line
    // per layer; throws for a backend that this build does not have.
    // `precision`: as DetectorOptions::precision (each layer's kernel and output type show which
    // arithmetic it runs in).
    // `calibration`: for int8, as DetectorOptions::calibration; without one the kernels are
    // shown as they would run (they do not depend on the calibrated values).
    std::string describe_execution(const std::string& backend, const std::string& precision = "f32",
                                   const std::string& calibration = "") const;

    struct Impl;

private:
    explicit Model(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;  // shared with the Detectors and Classifiers built on it
    friend struct ModelAccess;
};

// A compute backend this build has (`yolo9k info --backends`).
struct BackendInfo {
    std::string name, summary;
    std::vector<std::string> precisions, devices;
    std::vector<std::string> inference_layers;  // layer types it runs with its own kernels
    bool can_train = false;
    std::vector<std::string> training_layers;   // layer types it trains with its own kernels
};
// The backends users can choose, default first; other layer types run on the shared host path.
std::vector<BackendInfo> available_backends();

}  // namespace yolo9k
