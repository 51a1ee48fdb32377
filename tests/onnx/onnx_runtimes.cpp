#include "onnx/onnx_runtimes.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

#include "perf/onnxruntime_baseline.h"
#include "support/test_support.h"

namespace yolo9k::test {

namespace fs = std::filesystem;

std::vector<RuntimeOutput> run_opencv_dnn(const std::string& model_bytes, const std::vector<float>& input,
                                          const std::vector<int>& dims, const std::vector<std::string>& names) {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(model_bytes.data(), model_bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    cv::Mat blob(int(dims.size()), dims.data(), CV_32F, const_cast<float*>(input.data()));
    net.setInput(blob);
    std::vector<cv::Mat> outs;
    net.forward(outs, names);
    std::vector<RuntimeOutput> result;
    for (size_t k = 0; k < outs.size(); ++k) {
        const cv::Mat m = outs[k].isContinuous() ? outs[k] : outs[k].clone();
        RuntimeOutput r{names[k], {}, std::vector<float>(m.ptr<float>(), m.ptr<float>() + m.total())};
        for (int d = 0; d < m.dims; ++d) r.dims.push_back(m.size[d]);
        result.push_back(std::move(r));
    }
    return result;
}

std::string onnxruntime_node_path() { return perf::onnxruntime_node_path(); }

namespace {

// node scripts/onnxruntime_run.js ARGS; its stdout, or an exception with its output.
std::string run_node(const std::string& args) {
    TempDir tmp;
    const std::string cmd = "NODE_PATH='" + onnxruntime_node_path() + "' node " + YOLO9K_SOURCE_DIR +
                            "/scripts/onnxruntime_run.js " + args + " > " + tmp.file("out") + " 2> " + tmp.file("err");
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("onnxruntime-node failed: " + read_file(tmp.file("err")) + read_file(tmp.file("out")));
    return read_file(tmp.file("out"));
}

}  // namespace

std::vector<RuntimeOutput> run_onnxruntime(const std::string& model_path, const std::vector<float>& input,
                                           const std::vector<int>& dims, const std::vector<std::string>& names) {
    TempDir tmp;
    write_file(tmp.file("input.bin"), std::string(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float)));
    std::string shape;
    for (int d : dims) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    run_node("run '" + model_path + "' " + tmp.file("input.bin") + " " + shape + " " + tmp.path().string() + " 2");
    const nlohmann::json manifest = nlohmann::json::parse(read_file(tmp.file("outputs.json")));
    std::vector<RuntimeOutput> result;
    for (const std::string& name : names) {
        RuntimeOutput r{name, manifest.at(name).get<std::vector<int64_t>>(), {}};
        const std::string bytes = read_file(tmp.file(name + ".bin"));
        r.values.resize(bytes.size() / sizeof(float));
        std::memcpy(r.values.data(), bytes.data(), r.values.size() * sizeof(float));
        result.push_back(std::move(r));
    }
    return result;
}

}  // namespace yolo9k::test

namespace yolo9k::test {

std::string run_onnxruntime_detect(const std::string& model_path, const std::vector<float>& input, int image_width,
                                   int image_height, float thresh, float nms) {
    TempDir tmp;
    write_file(tmp.file("input.bin"), std::string(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float)));
    return run_node("detect '" + model_path + "' " + tmp.file("input.bin") + " " + std::to_string(image_width) + " " +
                    std::to_string(image_height) + " " + std::to_string(thresh) + " " + std::to_string(nms));
}

}  // namespace yolo9k::test
