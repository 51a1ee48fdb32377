// Reference backend: every layer's plain-loop reference code, all outputs kept. Slow on
// purpose (double accumulation in conv); it is the yardstick every other backend is
// checked against, for inference and for training.
#include <vector>

#include "backend/backend.h"
#include "backend/host/host_train_executor.h"
#include "core/error.h"
#include "network/network.h"

namespace yolo9k {
namespace {

class ReferenceExecutor final : public Executor {
public:
    ReferenceExecutor(const Network& net, const ExecutorOptions& o) : net_(net), batch_(o.batch) {
        if (net.weights_released()) throw Error("reference backend: the network's host weights were released");
        outputs_.resize(net.size());
        for (int i = 0; i < net.size(); ++i) outputs_[i].assign(size_t(batch_) * net.layer(i).output_shape().size(), 0.f);
    }
    std::string backend() const override { return "reference"; }
    int batch() const override { return batch_; }
    void forward(const float* input) override {
        for (int i = 0; i < net_.size(); ++i) {
            const Layer& l = net_.layer(i);
            std::vector<const float*> in;
            for (int s : l.sources()) in.push_back(s < 0 ? input : outputs_[s].data());
            l.forward_reference(in, outputs_[i].data(), batch_);
        }
    }
    const float* output() const override { return outputs_[net_.output_layer()].data(); }
    std::vector<float> layer_output(int layer) const override { return outputs_.at(layer); }

protected:
    const Network& network() const override { return net_; }

private:
    const Network& net_;
    int batch_;
    std::vector<std::vector<float>> outputs_;
};

const BackendRegistrar registrar({
    .name = "reference",
    .summary = "every layer's plain C++ reference code (the oracle; slow)",
    .supports = [](std::string_view) { return true; },
    .supports_training = [](std::string_view) { return true; },
    .make_executor = [](const Network& n, const ExecutorOptions& o) -> std::unique_ptr<Executor> {
        return std::make_unique<ReferenceExecutor>(n, o);
    },
    .make_train_executor = [](Network& n, const TrainExecutorOptions& o) {
        return make_host_train_executor(n, "reference", o);
    },
});

}  // namespace
}  // namespace yolo9k
