// A small C++ wrapper over Debian's libdarknet, the reference implementation our engine is
// checked against: load a network from cfg + weights, run it on a plain NCHW input, read
// its output (and any layer's), write its weights back out.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "yolo9k/detection.h"

struct network;    // darknet.h: typedef struct network network;
struct detection;  // darknet.h: typedef struct detection detection;

namespace yolo9k::test {

// Darknet takes the input size and the batch from the cfg's [net] section, so to run a
// cfg at another size it needs its own copy: writes `src` to `dst` with [net] width,
// height, batch (and subdivisions=1, so that batch is the batch darknet allocates for)
// replaced. Every other line is kept as it is.
void write_darknet_cfg(const std::string& src, const std::string& dst, int width, int height, int batch = 1);

// One (box, class) that draw_detections would report: probability above the threshold,
// darknet's integer pixel box. darknet clamps only left/top from below and right/bottom
// from above; this clamps every side into the image, as yolo9k does (a box in the
// letterbox margin stays inside), so the two can be compared.
struct DarknetFound {
    int cls;
    float score;
    float x1, y1, x2, y2;
};
std::vector<DarknetFound> darknet_reported_boxes(const detection* dets, int nboxes, int classes, float thresh,
                                                 int image_w, int image_h);

// gtest checks that `ours` are darknet's detections: as many, each of darknet's matched to
// one of ours of its class (nearest box, the score breaking ties between clamped boxes),
// scores within 1e-3 and boxes within 1 px once truncated to whole pixels as darknet prints
// them. Prints the worst differences.
void expect_same_detections(const std::vector<DarknetFound>& theirs, const std::vector<Detection>& ours,
                            const std::string& label);

// A gtest parameter name from a cfg name: every character that is not a letter or digit
// becomes '_' ("yolov2-tiny-voc.cfg" -> "yolov2_tiny_voc_cfg").
std::string test_name(std::string s);

class DarknetNet {
public:
    // load_network(cfg, weights, 0) then set_batch_network(net, batch). The cfg's own
    // [net] batch must be at least `batch` (write_darknet_cfg sees to that).
    DarknetNet(const std::string& cfg, const std::string& weights, int batch = 1);
    ~DarknetNet();
    DarknetNet(const DarknetNet&) = delete;
    DarknetNet& operator=(const DarknetNet&) = delete;

    int batch() const;
    int layers() const;
    int width() const;
    int height() const;
    int channels() const;
    // Per-image floats of the input and of the network's output (darknet's output layer:
    // the last one that is not a [cost]).
    size_t input_size() const;
    size_t output_size() const;
    int output_layer() const;
    // Per-image floats of layer i's output and its shape (c, h, w).
    size_t layer_output_size(int i) const;
    int layer_out_c(int i) const;
    int layer_out_h(int i) const;
    int layer_out_w(int i) const;

    // network_predict on `batch() * input_size()` floats of NCHW input; returns a copy of
    // the `batch() * output_size()` output floats.
    std::vector<float> predict(const float* input);
    // Layer i's output after the last predict(), `batch() * layer_output_size(i)` floats.
    std::vector<float> layer_output(int i) const;

    // darknet's save_weights.
    void save_weights(const std::string& path) const;

private:
    network* net_ = nullptr;
};

}  // namespace yolo9k::test
