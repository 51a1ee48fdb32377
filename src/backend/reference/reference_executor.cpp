// Reference backend: every layer's plain-loop forward_reference, all outputs kept.
// Slow on purpose (double accumulation in conv); it is the yardstick for the fast path.
#include <vector>

#include "backend/executor.h"
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

private:
    const Network& net_;
    int batch_;
    std::vector<std::vector<float>> outputs_;
};

const bool registered = (register_backend("reference",
                                          [](const Network& n, const ExecutorOptions& o) {
                                              return std::make_unique<ReferenceExecutor>(n, o);
                                          }),
                         true);

}  // namespace
}  // namespace yolo9k
