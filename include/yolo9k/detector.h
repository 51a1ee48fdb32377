// yolo9k's public API: build a detector from a darknet cfg + weights, detect objects.
//
//   yolo9k::Detector det({.cfg = "yolov2-voc.cfg", .weights = "yolov2-voc.weights",
//                         .names = "voc.names"});
//   for (const auto& d : det.detect(cv::imread("dog.jpg"))) ...
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "yolo9k/detection.h"
#include "yolo9k/model.h"

namespace yolo9k {

// Memory several Detectors share: their activation and scratch buffers (the largest one's
// worth instead of the sum) and one lock, so their passes run one at a time. For one model at
// several batch sizes, as `yolo9k serve` holds them; the results equal unshared Detectors'.
class SharedDetectorMemory {
public:
    SharedDetectorMemory();
    ~SharedDetectorMemory();
    std::size_t bytes() const;  // activation and scratch memory held now
    struct Impl;
    const std::shared_ptr<Impl>& impl() const { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

struct DetectorOptions {
    std::string cfg;      // darknet .cfg whose last layer is [region]
    std::string weights;  // darknet .weights matching the cfg
    std::string names;    // one class name per line; optional (ids are used without it)
    int size = 0;         // input width = height; 0 keeps the cfg's (must be a multiple of 32)
    float thresh = .5f;   // minimum objectness x class probability, as darknet's -thresh
    float nms = .45f;     // IoU above which a weaker box of the same class is dropped; 0 disables
    bool letterbox = true;  // keep aspect ratio (darknet's default); false stretches the image
    int batch = 1;        // images per forward pass in detect_batch()
    int threads = 0;      // 0: all cores
    std::string backend = "onednn";  // what computes: "onednn" (the fast CPU path) or "reference"
    // Direct convolution everywhere instead of Winograd on the 3x3 layers: about 1.5x slower,
    // arithmetic closest to darknet's (the Winograd rounding error is in the README).
    bool direct_conv = false;
    // MiB of extra weight memory the Winograd kernels may spend on pre-transformed weights
    // (the fastest form on small maps, 1.8x the plain size); granted layer by layer in
    // network order. The default keeps yolov2-voc under 2x its weights file and gives
    // yolov2-tiny-voc every such layer; negative: unlimited (fastest).
    int winograd_memory_mib = 48;
    // Arithmetic: "f32" (darknet-exact), "bf16" (weights and activations in bf16, f32
    // accumulation; needs AVX512-BF16, and says so otherwise), "int8" (8-bit weights and
    // activations scaled by `calibration`, s32 accumulation; needs VNNI). `yolo9k info --backends` lists
    // what each backend offers.
    std::string precision = "f32";
    // int8: the file `yolo9k calibrate` wrote for this cfg and these weights (required then;
    // refused with any other precision).
    std::string calibration;
    // YOLO9000 ([region] tree=). Without a map each box gets the most specific class whose
    // descent from the root stays above `hier` (darknet's -hier), named from `names`, by
    // default the .names beside the .tree (9k.tree -> 9k.names). With `map` (a file such
    // as coco9k.map, or "cfg" for the [region]'s own map=) the classes are the map's lines,
    // scored objectness x Pr(node), as darknet's `detector valid` with a map.
    float hier = .5f;
    std::string map;
    // Share activation memory with the other Detectors given the same object (see above);
    // null: this Detector's own.
    std::shared_ptr<SharedDetectorMemory> shared_memory;
};

// Per call, instead of the DetectorOptions' (a server's query parameters): unset keeps the
// option's value.
struct DetectThresholds {
    std::optional<float> thresh, nms, hier;
};

// Thread safety: detect() and detect_batch() may be called from several threads; the calls
// run one at a time (each uses `threads` cores; the thread count is this Detector's, set
// per call, not the process's). For throughput on many cores, one Detector per thread.
// forward() returns the Detector's own buffer: one caller at a time.
class Detector {
public:
    explicit Detector(const DetectorOptions& options);
    // A detector over a model already in memory (loaded once for several detectors, or a
    // trainer's): no cfg or weights file is read, so options.cfg, .weights and .size are
    // unused. The detector shares the model's network (it stays alive while the detector
    // does); the fast backends copy the weights now, so later weight changes need a new
    // Detector.
    Detector(const Model& model, const DetectorOptions& options);
    ~Detector();
    Detector(Detector&&) noexcept;
    Detector& operator=(Detector&&) noexcept;

    // One image, 8-bit BGR (as cv::imread gives; grey and BGRA are converted).
    std::vector<Detection> detect(const cv::Mat& image, const DetectThresholds& thresholds = {});
    // Several images, run `options.batch` at a time.
    std::vector<std::vector<Detection>> detect_batch(const std::vector<cv::Mat>& images,
                                                     const DetectThresholds& thresholds = {});

    // Staged detection, for a server that gathers requests from many threads into one forward
    // pass: prepare() and decode() may run on any thread at once (they touch no shared
    // state); infer() runs one batch at a time under the Detector's lock. detect() is
    // prepare + infer + decode.
    struct PreparedImage {
        std::vector<float> tensor;             // 3 x input_height x input_width, RGB in [0, 1]
        int image_width = 0, image_height = 0;  // the image's own size, for mapping boxes back
        int fitted_width = 0, fitted_height = 0;  // the image's size inside the input
        bool letterbox = true;
    };
    PreparedImage prepare(const cv::Mat& image) const;
    // One forward pass over up to options().batch prepared images (the pass costs a full batch
    // however many are given); returns each image's activated [region] output.
    std::vector<std::vector<float>> infer(const std::vector<const PreparedImage*>& images);
    std::vector<Detection> decode(const std::vector<float>& output, const PreparedImage& image,
                                  const DetectThresholds& thresholds = {}) const;

    const std::vector<std::string>& class_names() const;
    int classes() const;
    int input_width() const;
    int input_height() const;
    const DetectorOptions& options() const;

    // The raw network pass on a prepared input (batch x 3 x H x W, RGB in [0,1]):
    // returns the activated [region] output. For tools that need the tensor itself. With
    // shared_memory, the output stays valid only until a Detector sharing it runs again.
    const float* forward(const float* input);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Reads a darknet .names file: one name per line, trailing blanks removed.
std::vector<std::string> read_names_file(const std::string& path);

}  // namespace yolo9k
