// The shared host training path: runs layer by layer on plain NCHW float buffers, each
// layer through the backend's own TrainKernel when it has one and through the layer's
// reference code otherwise. The reference backend uses it with no kernels; a CPU backend
// passes its kernels; a device backend writes its own TrainExecutor instead.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/train_executor.h"

namespace yolo9k {

class Network;

// The backend's kernel for a layer type, or null for the reference fallback.
using TrainKernelLookup = std::function<const TrainKernelFactory*(std::string_view layer_type)>;

std::unique_ptr<TrainExecutor> make_host_train_executor(Network& net, std::string backend,
                                                        const TrainExecutorOptions& options,
                                                        TrainKernelLookup kernels = nullptr);

// Layer::forward_train_reference / backward_reference as a TrainKernel.
std::unique_ptr<TrainKernel> make_reference_train_kernel(const TrainKernelContext& ctx);

}  // namespace yolo9k
