// Running an exported model in the two runtimes no one here wrote: OpenCV dnn's ONNX
// importer (in process) and ONNX Runtime (onnxruntime-node, through scripts/onnxruntime_run.js).
#pragma once

#include <string>
#include <vector>

namespace yolo9k::test {

struct RuntimeOutput {
    std::string name;
    std::vector<int64_t> dims;
    std::vector<float> values;
};

// Outputs in the order of `names`.
std::vector<RuntimeOutput> run_opencv_dnn(const std::string& model_bytes, const std::vector<float>& input,
                                          const std::vector<int>& dims, const std::vector<std::string>& names);

// NODE_PATH for onnxruntime-node (perf::onnxruntime_node_path); empty when not installed.
std::string onnxruntime_node_path();
#define YOLO9K_REQUIRE_ONNXRUNTIME()                                                                        \
    do {                                                                                                    \
        if (::yolo9k::test::onnxruntime_node_path().empty()) {                                              \
            if (::yolo9k::test::running_in_ci()) FAIL() << "onnxruntime-node missing under CI=true "       \
                                                           "(scripts/onnxruntime.sh installs it)";          \
            GTEST_SKIP() << "onnxruntime-node not installed (run scripts/onnxruntime.sh)";                 \
        }                                                                                                   \
    } while (0)

std::vector<RuntimeOutput> run_onnxruntime(const std::string& model_path, const std::vector<float>& input,
                                           const std::vector<int>& dims, const std::vector<std::string>& names);

// The README's Python steps in JavaScript (scripts/onnxruntime_run.js detect) on a model
// exported with --decode boxes and one letterboxed input: its JSON detections.
std::string run_onnxruntime_detect(const std::string& model_path, const std::vector<float>& input, int image_width,
                                   int image_height, float thresh, float nms);

}  // namespace yolo9k::test
