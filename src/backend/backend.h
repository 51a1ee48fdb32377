// The backend seam. A backend is one folder, src/backend/<name>/, that registers one
// Backend: how to build an inference Executor and (optionally) a TrainExecutor, and which
// layer types it runs with its own kernels. Every other layer runs on the shared host
// path (the layer's reference code on plain NCHW floats), as ggml's supports_op and its
// scheduler's fallback. Adding a backend is adding a folder and one line in CMake.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/executor.h"
#include "backend/train_executor.h"

namespace yolo9k {

class Network;

struct Backend {
    std::string name;
    std::string summary;  // one line: what computes, on what
    // Layer types with this backend's own inference / training kernels.
    std::function<bool(std::string_view layer_type)> supports;
    std::function<bool(std::string_view layer_type)> supports_training;
    std::vector<Precision> precisions = {Precision::f32};  // inference
    std::vector<Precision> training_precisions = {Precision::f32};
    std::vector<std::string> devices = {"cpu"};  // accepted ExecutorOptions::device values
    bool test_only = false;  // an oracle for tests (the op table), not offered to users
    std::function<std::unique_ptr<Executor>(const Network&, const ExecutorOptions&)> make_executor;
    // Null: the backend cannot train.
    std::function<std::unique_ptr<TrainExecutor>(Network&, const TrainExecutorOptions&)> make_train_executor;
};

// The backend users get unless they choose: the fast CPU path.
inline constexpr const char* kDefaultBackend = "onednn";

void register_backend(Backend backend);
// Throws Error listing the registered backends when `name` is not one of them.
const Backend& find_backend(std::string_view name);
std::vector<std::string> backends();  // every registered name, test-only ones included
std::vector<std::string> user_backends();

struct BackendRegistrar {
    explicit BackendRegistrar(Backend backend) { register_backend(std::move(backend)); }
};

std::unique_ptr<Executor> make_executor(const Network& net, const std::string& backend = kDefaultBackend,
                                        const ExecutorOptions& options = {});
std::unique_ptr<TrainExecutor> make_train_executor(Network& net, const std::string& backend,
                                                   const TrainExecutorOptions& options);

}  // namespace yolo9k
