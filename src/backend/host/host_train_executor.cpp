#include "backend/host/host_train_executor.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/limits.h"
#include "layer/layer.h"
#include "network/network.h"

namespace yolo9k {
namespace {

class ReferenceTrainKernel final : public TrainKernel {
public:
    ReferenceTrainKernel(Layer& layer, int batch) : layer_(layer), batch_(batch) { impl = "reference"; }
    size_t state_floats() const override { return layer_.train_state_floats(batch_); }
    void forward(std::span<const float* const> inputs, float* output, float* state) override {
        layer_.forward_train_reference(inputs, output, state, batch_);
    }
    void backward(std::span<const float* const> inputs, const float* output, const float* output_grad,
                  const float* state, std::span<float* const> input_grads, float* param_grads) override {
        layer_.backward_reference(inputs, output, output_grad, state, input_grads, param_grads, batch_);
    }

private:
    Layer& layer_;
    int batch_;
};

// Grows `v` to at least n floats; never shrinks, so multi-scale training allocates once
// for the largest size it meets.
void ensure(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
}

}  // namespace

std::unique_ptr<TrainKernel> make_reference_train_kernel(const TrainKernelContext& ctx) {
    return std::make_unique<ReferenceTrainKernel>(ctx.layer, ctx.batch);
}

namespace {

class HostTrainExecutor final : public TrainExecutor {
public:
    HostTrainExecutor(Network& net, std::string backend, const TrainExecutorOptions& options, TrainKernelLookup kernels);

    int batch() const override { return batch_; }
    std::string backend() const override { return backend_; }
    void forward(const float* input) override;
    const float* output() const override;
    const float* head_input() const override;
    void backward(const float* head_input_grad) override;
    std::vector<LayerGradients>& gradients() override { return grads_; }
    void zero_grad() override;
    void parameters_changed() override;
    void reshape() override { build(); }
    std::span<const float> layer_output(int layer) const override;
    std::string describe() const override;
    void set_profile(TrainProfile* profile) override;

private:
    void build();
    Network& net_;
    std::string backend_;
    TrainKernelLookup kernels_for_;
    int batch_;
    int threads_;
    int head_ = -1;  // output layer index
    std::vector<std::unique_ptr<TrainKernel>> kernels_;
    std::vector<std::vector<float>> outputs_, output_grads_, states_;
    std::vector<size_t> output_sizes_;
    std::vector<LayerGradients> grads_;
    std::vector<int> grad_slot_;  // layer -> index in grads_, or -1
    const float* input_ = nullptr;  // the last forward's input (the caller keeps it alive)
    TrainProfile* profile_ = nullptr;  // with set_profile()
    PhaseClock clock_;
};

HostTrainExecutor::HostTrainExecutor(Network& net, std::string backend, const TrainExecutorOptions& options,
                                     TrainKernelLookup kernels)
    : net_(net), backend_(std::move(backend)), kernels_for_(std::move(kernels)), batch_(options.batch),
      threads_(options.threads) {
    if (batch_ < 1) throw Error("training batch must be at least 1, got " + std::to_string(batch_));
    if (net.weights_released()) throw Error("cannot train: the network's host weights were released");
    if (threads_ != 0) check_thread_count(threads_, "--threads");
    // Before the kernels are built: oneDNN fixes its work split (and so the float summation
    // order) for the thread count current when a primitive is created. forward() sets it
    // again because OpenMP's count belongs to the calling thread.
    if (threads_ > 0) omp_set_num_threads(threads_);
    head_ = net_.output_layer();
    if (net_.layer(head_).sources().size() != 1)
        throw Error("cannot train: the output layer must have exactly one input");
    for (int i = 0; i <= head_; ++i) {
        Layer& l = net_.layer(i);
        if (size_t n = l.trainable_floats()) {
            grad_slot_.push_back(int(grads_.size()));
            grads_.push_back({i, std::vector<float>(n, 0.f)});
        } else {
            grad_slot_.push_back(-1);
        }
    }
    build();
}

void HostTrainExecutor::build() {
    const int n = head_ + 1;
    // What training at this batch and size holds: the weights, their gradients and the
    // optimizer's momentum, and per layer its output, output gradient and saved state.
    // Checked before anything is allocated, as inference is (--max-network-mb).
    uint64_t floats = 0;
    for (int i = 0; i < n; ++i) {
        const Layer& l = net_.layer(i);
        floats += 2 * uint64_t(batch_) * l.output_shape().size() + l.train_state_floats(batch_);
        for (auto& b : net_.layer(i).trainable_blobs()) floats += 3 * uint64_t(b.data->size());
    }
    if (over_network_limit(floats * sizeof(float))) {
        const Shape in = net_.input_shape();
        throw Error(network_limit_message(floats * sizeof(float),
                                          "training at " + std::to_string(batch_) + " images per pass of " +
                                              std::to_string(in.w) + "x" + std::to_string(in.h) +
                                              " (batch / subdivisions)") +
                    "; or use more subdivisions or a smaller size");
    }
    kernels_.clear();
    outputs_.resize(n);
    output_grads_.resize(n);
    states_.resize(n);
    output_sizes_.assign(n, 0);
    for (int i = 0; i < n; ++i) {
        Layer& l = net_.layer(i);
        TrainKernelContext ctx{l, batch_};
        const TrainKernelFactory* f = kernels_for_ ? kernels_for_(l.type()) : nullptr;
        kernels_.push_back(f ? (*f)(ctx) : make_reference_train_kernel(ctx));
        kernels_.back()->clock = profile_ ? &clock_ : nullptr;
        output_sizes_[i] = size_t(batch_) * l.output_shape().size();
        ensure(outputs_[i], output_sizes_[i]);
        if (i < head_) ensure(output_grads_[i], output_sizes_[i]);
        ensure(states_[i], kernels_[i]->state_floats());
    }
}

void HostTrainExecutor::forward(const float* input) {
    if (threads_ > 0) omp_set_num_threads(threads_);  // OpenMP's count is per calling thread
    std::vector<const float*> in;
    for (int i = 0; i <= head_; ++i) {
        in.clear();
        for (int s : net_.layer(i).sources()) in.push_back(s < 0 ? input : outputs_[s].data());
        if (profile_) clock_.begin(*profile_, i);
        kernels_[i]->forward(in, outputs_[i].data(), states_[i].data());
        if (profile_) clock_.mark(TrainPhase::other_forward);  // what the kernel did not mark
    }
    input_ = input;
}

const float* HostTrainExecutor::output() const { return outputs_[head_].data(); }

const float* HostTrainExecutor::head_input() const {
    int s = net_.layer(head_).sources()[0];
    return s < 0 ? input_ : outputs_[s].data();
}

void HostTrainExecutor::backward(const float* head_input_grad) {
    if (!input_) throw Error("HostTrainExecutor::backward called before forward");
    for (int i = 0; i < head_; ++i) std::fill_n(output_grads_[i].data(), output_sizes_[i], 0.f);
    const int head_src = net_.layer(head_).sources()[0];
    if (head_src < 0) return;  // the head reads the network input: nothing to train
    const size_t n = output_sizes_[head_src];
    float* g = output_grads_[head_src].data();
    for (size_t k = 0; k < n; ++k) g[k] += head_input_grad[k];

    std::vector<const float*> in;
    std::vector<float*> in_grads;
    for (int i = head_src; i >= 0; --i) {
        const Layer& l = net_.layer(i);
        in.clear();
        in_grads.clear();
        for (int s : l.sources()) {
            in.push_back(s < 0 ? input_ : outputs_[s].data());
            in_grads.push_back(s < 0 ? nullptr : output_grads_[s].data());
        }
        float* pg = grad_slot_[i] >= 0 ? grads_[grad_slot_[i]].data.data() : nullptr;
        if (profile_) clock_.begin(*profile_, i);
        kernels_[i]->backward(in, outputs_[i].data(), output_grads_[i].data(), states_[i].data(), in_grads, pg);
        if (profile_) clock_.mark(TrainPhase::other_backward);
    }
}

void HostTrainExecutor::zero_grad() {
    for (auto& g : grads_) std::fill(g.data.begin(), g.data.end(), 0.f);
}

void HostTrainExecutor::parameters_changed() {
    for (auto& k : kernels_) k->parameters_changed();
}

std::span<const float> HostTrainExecutor::layer_output(int layer) const {
    if (layer < 0 || layer > head_) throw Error("layer_output: no training output for layer " + std::to_string(layer));
    return {outputs_[layer].data(), output_sizes_[layer]};
}

void HostTrainExecutor::set_profile(TrainProfile* profile) {
    profile_ = profile;
    if (profile_) profile_->reset(net_.size());
    for (auto& k : kernels_) k->clock = profile_ ? &clock_ : nullptr;
}

std::string HostTrainExecutor::describe() const {
    std::ostringstream os;
    for (int i = 0; i <= head_; ++i)
        os << i << ' ' << net_.layer(i).type() << ": " << kernels_[i]->impl << '\n';
    return os.str();
}

}  // namespace

std::unique_ptr<TrainExecutor> make_host_train_executor(Network& net, std::string backend,
                                                        const TrainExecutorOptions& options, TrainKernelLookup kernels) {
    return std::make_unique<HostTrainExecutor>(net, std::move(backend), options, std::move(kernels));
}

}  // namespace yolo9k
