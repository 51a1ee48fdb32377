#include "backend/backend.h"

#include <algorithm>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/registry.h"
#include "network/network.h"

namespace yolo9k {
namespace {
Registry<Backend>& registry() {
    static Registry<Backend> r("backend");
    return r;
}
}  // namespace

void register_backend(Backend backend) {
    const std::string name = backend.name;
    registry().add(name, std::move(backend));
}

const Backend& find_backend(std::string_view name) { return registry().get(name); }

std::vector<std::string> backends() { return registry().names(); }

std::vector<std::string> user_backends() {
    std::vector<std::string> out;
    for (const std::string& n : backends())
        if (!find_backend(n).test_only) out.push_back(n);
    return out;
}

std::unique_ptr<Executor> make_executor(const Network& net, const std::string& name, const ExecutorOptions& options) {
    const Backend& b = find_backend(name);
    if (options.batch < 1) throw Error("batch must be at least 1, got " + std::to_string(options.batch));
    if (std::find(b.precisions.begin(), b.precisions.end(), options.precision) == b.precisions.end())
        throw Error("the " + name + " backend cannot compute in " + precision_name(options.precision));
    if (std::find(b.devices.begin(), b.devices.end(), options.device) == b.devices.end())
        throw Error("the " + name + " backend has no device '" + options.device + "'");
    return b.make_executor(net, options);
}

std::unique_ptr<TrainExecutor> make_train_executor(Network& net, const std::string& name,
                                                   const TrainExecutorOptions& options) {
    const Backend& b = find_backend(name);
    if (!b.make_train_executor) throw Error("the " + name + " backend cannot train");
    if (options.batch < 1) throw Error("training batch must be at least 1, got " + std::to_string(options.batch));
    return b.make_train_executor(net, options);
}

TensorDesc Executor::input_desc() const { return {batch(), network().input_shape()}; }

TensorDesc Executor::output_desc() const {
    return {batch(), network().layer(network().output_layer()).output_shape()};
}

void Executor::forward(const ConstTensorView& input) {
    const TensorDesc want = input_desc();
    if (!(input.desc == want))
        throw Error("the " + backend() + " executor takes " + want.str() + ", given " + input.desc.str());
    if (!input.data) throw Error("the " + backend() + " executor was given a tensor without data");
    forward(static_cast<const float*>(input.data));
}

void Executor::forward_timed(const float*, std::vector<double>&) {
    throw Error("the " + backend() + " backend cannot time layers one by one");
}

int ExecutionPlan::reorders() const {
    int n = 0;
    for (const LayerExecution& l : layers) n += l.reorders;
    return n;
}

ExecutionPlan Executor::plan() const {
    ExecutionPlan p;
    const Network& net = network();
    for (int i = 0; i < net.size(); ++i)
        p.layers.push_back({.layer = i, .type = std::string(net.layer(i).type()), .kernel = "reference (plain nchw)"});
    return p;
}

std::string Executor::describe() const {
    const ExecutionPlan p = plan();
    std::ostringstream o;
    for (const LayerExecution& l : p.layers) {
        o << l.layer << " " << l.type << ": " << l.kernel;
        if (!l.output_layout.empty()) o << " -> " << l.output_layout;
        o << "\n";
    }
    if (p.buffers > 0)
        o << "layout reorders between layers: " << p.reorders() << "; activation memory: " << p.activation_bytes / (1 << 20)
          << " MiB in " << p.buffers << " buffers; scratchpad: " << p.scratchpad_bytes / (1 << 20) << " MiB\n";
    return o.str();
}

int default_thread_count() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? int(n) : 1;
}

}  // namespace yolo9k
