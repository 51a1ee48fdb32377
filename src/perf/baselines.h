// Other engines run on the same cfg/weights/input, timed side by side with yolo9k:
// OpenCV dnn (linked) and the reference darknet (libdarknet.so, dlopen'ed at run time so
// nothing here links to darknet). No OpenCV or darknet header leaks out of this file.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "perf/stats.h"

namespace yolo9k::perf {

class Baseline {
public:
    virtual ~Baseline() = default;

    // Short stable id: "opencv-dnn" or "darknet".
    virtual std::string name() const = 0;

    // Whether this engine can run at all here; if not and `why` is given, the reason.
    virtual bool available(std::string* why = nullptr) const = 0;

    // Reads cfg + weights and prepares for `batch` images of width x height. Throws
    // yolo9k::Error (files missing, engine unavailable, cfg the engine cannot handle).
    virtual void load(const std::string& cfg, const std::string& weights, int batch, int width,
                      int height) = 0;

    // One inference over `batch` images, NCHW, channels x height x width floats each.
    virtual void forward(const float* input_nchw) = 0;

    // Final output of the last forward() for the whole batch, in the engine's own layout;
    // empty before the first forward(). Valid until the next forward()/load().
    //  darknet: the last layer's buffer, shape {batch, outputs per image}; for a final
    //    [region], per image and anchor the entries x y w h objectness classes, each an
    //    h*w plane, after darknet's activations (logistic x, y, objectness; softmax classes).
    //  opencv-dnn: net.forward()'s blob. A final [region] comes out decoded: one row per
    //    (image, cell, anchor) in row-major cell order, columns x y w h (relative to the
    //    image) objectness, then objectness*class probability, zeroed below the cfg's
    //    thresh and by per-class NMS at IoU 0.4; shape {rows, cols}, or {batch, rows, cols}
    //    when batch > 1.
    virtual std::span<const float> output() const = 0;
    virtual std::vector<int> output_shape() const = 0;

    // One line on version and threading, for reports.
    virtual std::string note() const = 0;
};

// OpenCV dnn, backend OpenCV, target CPU. `threads` <= 0: one per available CPU.
// load() ends with one forward on zeros: OpenCV sets layers up lazily, so a cfg it cannot
// run (e.g. yolo9000's tree [region]) fails inside load(), and load time includes a pass.
// cv::setNumThreads is process-wide: load() and forward() set it, so yolo9k code using
// OpenCV in the same process sees that count afterwards.
std::unique_ptr<Baseline> make_opencv_dnn_baseline(int threads = 0);

// Where libdarknet is looked for: $YOLO9K_DARKNET_LIB if set, else the Debian path.
std::string default_darknet_library();
inline constexpr const char* kDebianDarknetLibrary = "/usr/lib/darknet/libdarknet.so";

struct DarknetOptions {
    std::string library = {};  // empty: default_darknet_library()
    // darknet prints its layer table to stderr while loading; when true that text is kept
    // in memory (darknet_load_log()) instead of reaching the terminal. darknet exit()s on
    // some cfg errors: load() checks the files first, but if the process still dies while
    // loading, run again with quiet = false to see darknet's last words.
    bool quiet = true;
};
std::unique_ptr<Baseline> make_darknet_baseline(const DarknetOptions& options = {});

// Text darknet printed during the last load() of `baseline` (quiet mode), else "".
std::string darknet_load_log(const Baseline& baseline);

// Deterministic pseudo-random image batch in [0, 1], NCHW: the same bytes for every engine.
std::vector<float> synthetic_input(int batch, int channels, int width, int height,
                                   unsigned seed = 9000);

struct BaselineRunOptions {
    int batch = 1;
    int width = 416;
    int height = 416;                                     // channels: the cfg's [net]
    int threads = 0;                                      // OpenCV dnn only; 0: all CPUs
    std::vector<std::string> engines{"opencv-dnn", "darknet"};
    TimingOptions timing{};                               // per engine
    DarknetOptions darknet{};
};

struct BaselineRun {
    std::string name = {};
    bool ran = false;      // loaded and timed
    std::string why = {};  // when !ran: unavailable, or what load()/forward() threw
    std::string note = {};
    double load_ms = 0;
    Summary timing = {};   // valid when ran
    std::vector<int> output_shape = {};
};

// Loads each requested engine on cfg/weights (the caller provides both; nothing is written
// to disk), times forward() on synthetic_input() (seed 9000, the cfg's channel count) and
// reports one entry per engine.
// An engine that cannot run is reported with `why`, never thrown.
std::vector<BaselineRun> run_baselines(const std::string& cfg, const std::string& weights,
                                       const BaselineRunOptions& options = {});

}  // namespace yolo9k::perf
