// [convolutional] training on oneDNN. Forward: convolution -> batch norm with batch
// statistics -> activation; backward: activation, batch norm, then the convolution's
// weight and data gradients. The convolutions work in the layouts oneDNN picks
// (format_tag::any: blocked nChw16c on AVX-512); batch norm + activation are fused passes
// (batch_norm_activation.h) that convert between that layout and the plain NCHW at the
// kernel boundary as they go. Gradients are ADDED to the caller's buffers by reorders
// with a sum post-op (no temporary plain copies).
//
// backward() reuses the input in the convolution's layout that the last forward() left
// in the kernel (when that layout is not plain): the contract gives backward the output
// and state of the forward on the same inputs, and one kernel serves one layer of one
// executor.
#include <dnnl.hpp>

#include <algorithm>
#include <unordered_map>

#include "backend/onednn/batch_norm_activation.h"
#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"

namespace yolo9k {
namespace {

using dnnl::memory;
using onednn::activation_backward;
using onednn::batch_norm_activation_backward;
using onednn::batch_norm_activation_forward;
using onednn::ChannelBlockedLayout;
using tag = memory::format_tag;
using Args = std::unordered_map<int, memory>;
constexpr auto f32 = memory::data_type::f32;
constexpr float kEpsilon = ConvolutionalLayer::batch_norm_epsilon;

const dnnl::engine& cpu_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// from -> to; `accumulate` adds into the destination instead of overwriting it.
dnnl::reorder make_reorder(const memory::desc& from, const memory::desc& to, bool accumulate = false) {
    dnnl::primitive_attr attr;
    if (accumulate) {
        dnnl::post_ops ops;
        ops.append_sum(1.f);
        attr.set_post_ops(ops);
    }
    return dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to, attr));
}

void run(dnnl::stream& s, const dnnl::reorder& r, const memory& from, const memory& to) {
    r.execute(s, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

// A tensor some primitive wants in layout `want` while it is produced in layout `have`:
// an identity when they agree, else a reorder into a buffer of its own.
struct LayoutBridge {
    LayoutBridge() = default;
    LayoutBridge(const memory::desc& have, const memory::desc& want) : want_(want) {
        if (have != want) {
            reorder_ = make_reorder(have, want);
            buffer_ = memory(want, cpu_engine());
        }
    }
    memory operator()(dnnl::stream& s, const memory& m) {
        if (!reorder_) return m;
        run(s, reorder_, m, buffer_);
        return buffer_;
    }
    memory::desc want_;
    dnnl::reorder reorder_;
    memory buffer_;
};

// The activation as a convolution post-op (without batch norm).
void append_activation(dnnl::post_ops& ops, Activation a) {
    switch (a) {
        case Activation::leaky:
            return ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.1f, 0.f);
        case Activation::relu:
            return ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        case Activation::logistic:
            return ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f);
        case Activation::linear:
            return;
    }
}

class ConvTrainKernel final : public TrainKernel {
public:
    explicit ConvTrainKernel(const TrainKernelContext& ctx)
        : layer_(dynamic_cast<ConvolutionalLayer&>(ctx.layer)), batch_(ctx.batch), stream_(cpu_engine()) {
        const ConvolutionalLayer& L = layer_;
        const Shape in = L.input_shape(), out = L.output_shape();
        filters_ = L.filters;
        bn_ = L.batch_normalize;
        activation_ = L.activation;
        spatial_per_filter_ = size_t(batch_) * out.h * out.w;

        const memory::dims src_dims = {batch_, in.c, in.h, in.w}, dst_dims = {batch_, out.c, out.h, out.w};
        const memory::dims w_dims = {L.filters, in.c, L.size, L.size};
        const memory::dims strides = {L.stride, L.stride}, pad_l = {L.padding, L.padding};
        // darknet's output size floors; the right/bottom padding is whatever makes it consistent
        const memory::dims pad_r = {(out.h - 1) * L.stride + L.size - in.h - L.padding,
                                    (out.w - 1) * L.stride + L.size - in.w - L.padding};
        plain_src_ = memory::desc(src_dims, f32, tag::nchw);
        plain_dst_ = memory::desc(dst_dims, f32, tag::nchw);
        plain_w_ = memory::desc(w_dims, f32, tag::oihw);
        const memory::desc src_any(src_dims, f32, tag::any), dst_any(dst_dims, f32, tag::any),
            w_any(w_dims, f32, tag::any), vec({filters_}, f32, tag::x);
        const auto& eng = cpu_engine();

        // Convolution. Without batch norm it carries the bias and the activation (post-op).
        dnnl::primitive_attr fwd_attr;
        if (!bn_) {
            dnnl::post_ops ops;
            append_activation(ops, activation_);
            fwd_attr.set_post_ops(ops);
        }
        const auto fwd_kind = dnnl::prop_kind::forward_training;
        const auto direct = dnnl::algorithm::convolution_direct;
        fwd_pd_ = bn_ ? dnnl::convolution_forward::primitive_desc(
                            {fwd_kind, direct, src_any, w_any, dst_any, strides, pad_l, pad_r}, fwd_attr, eng)
                      : dnnl::convolution_forward::primitive_desc(
                            {fwd_kind, direct, src_any, w_any, vec, dst_any, strides, pad_l, pad_r}, fwd_attr, eng);
        bwd_data_pd_ = dnnl::convolution_backward_data::primitive_desc(
            {direct, src_any, w_any, dst_any, strides, pad_l, pad_r}, eng, fwd_pd_);
        bwd_weights_pd_ = bn_ ? dnnl::convolution_backward_weights::primitive_desc(
                                    {direct, src_any, w_any, dst_any, strides, pad_l, pad_r}, eng, fwd_pd_)
                              : dnnl::convolution_backward_weights::primitive_desc(
                                    {direct, src_any, w_any, vec, dst_any, strides, pad_l, pad_r}, eng, fwd_pd_);
        conv_fwd_ = dnnl::convolution_forward(fwd_pd_);
        conv_bwd_data_ = dnnl::convolution_backward_data(bwd_data_pd_);
        conv_bwd_weights_ = dnnl::convolution_backward_weights(bwd_weights_pd_);
        dst_md_ = fwd_pd_.dst_desc();

        dst_layout_ = ChannelBlockedLayout(dst_md_);
        if (bn_) {
            scales_.resize(size_t(filters_));
            biases_.resize(size_t(filters_));
        } else {
            bias_ = memory(fwd_pd_.bias_desc(), eng);
            diff_bias_ = memory(bwd_weights_pd_.diff_bias_desc(), eng);
        }

        // Kernel-owned buffers: the input in the convolution's layout (kept from forward for
        // backward); the output gradient (also the convolution's output without batch norm,
        // on its way to plain NCHW); the input gradient. Padding lanes of a blocked layout
        // must read as zeros, and the fused passes never write them.
        grad_ = memory(dst_md_, eng);
        std::fill_n(static_cast<char*>(grad_.get_data_handle()), dst_md_.get_size(), 0);
        src_md_ = fwd_pd_.src_desc();
        diff_src_md_ = bwd_data_pd_.diff_src_desc();
        if (src_md_ != plain_src_) {
            src_in_ = make_reorder(plain_src_, src_md_);
            x_ = memory(src_md_, eng);
        }
        // Weight backward normally agrees with the forward on the src layout (the hint);
        // when it does not, convert from whatever the forward left.
        weights_src_ = LayoutBridge(src_md_, bwd_weights_pd_.src_desc());
        weights_diff_dst_ = LayoutBridge(dst_md_, bwd_weights_pd_.diff_dst_desc());
        data_diff_dst_ = LayoutBridge(dst_md_, bwd_data_pd_.diff_dst_desc());
        dx_ = memory(diff_src_md_, eng);
        dx_out_ = make_reorder(diff_src_md_, plain_src_, /*accumulate=*/true);
        if (!bn_) out_to_plain_ = make_reorder(dst_md_, plain_dst_);

        weights_fwd_ = memory(fwd_pd_.weights_desc(), eng);
        weights_bwd_ = bwd_data_pd_.weights_desc() == fwd_pd_.weights_desc() ? weights_fwd_
                                                                             : memory(bwd_data_pd_.weights_desc(), eng);
        diff_weights_ = memory(bwd_weights_pd_.diff_weights_desc(), eng);
        dw_out_ = make_reorder(diff_weights_.get_desc(), plain_w_, /*accumulate=*/true);

        impl = std::string("onednn conv train fwd ") + fwd_pd_.impl_info_str() + ", bwd-data " +
               bwd_data_pd_.impl_info_str() + ", bwd-weights " + bwd_weights_pd_.impl_info_str() +
               (bn_ ? ", fused batch norm + " : ", ") + activation_name(activation_);
        parameters_changed();
    }

    // Batch norm keeps its batch mean and variance and the convolution output (its input).
    size_t state_floats() const override { return bn_ ? z_offset() + dst_md_.get_size() / sizeof(float) : 0; }

    void forward(std::span<const float* const> inputs, float* output, float* state) override {
        const memory user_src(plain_src_, cpu_engine(), const_cast<float*>(inputs[0]));
        if (src_in_) run(stream_, src_in_, user_src, x_);
        const memory& x = src_in_ ? x_ : user_src;
        if (bn_) {
            float* z = state + z_offset();
            conv_fwd_.execute(stream_, {{DNNL_ARG_SRC, x},
                                        {DNNL_ARG_WEIGHTS, weights_fwd_},
                                        {DNNL_ARG_DST, memory(dst_md_, cpu_engine(), z)}});
            stream_.wait();
            mark(TrainPhase::conv_forward);
            batch_norm_activation_forward(dst_layout_, z, scales_.data(), biases_.data(), activation_, kEpsilon, state,
                                          state + filters_, output);
            update_rolling_statistics(state, state + filters_);
            mark(TrainPhase::bn_activation_forward);
        } else {
            conv_fwd_.execute(
                stream_,
                {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, weights_fwd_}, {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, grad_}});
            stream_.wait();
            mark(TrainPhase::conv_forward);
            run(stream_, out_to_plain_, grad_, memory(plain_dst_, cpu_engine(), output));
            stream_.wait();
        }
    }

    void backward(std::span<const float* const> inputs, const float* output, const float* output_grad,
                  const float* state, std::span<float* const> input_grads, float* param_grads) override {
        if (!param_grads)
            throw Error("internal: convolutional training kernel called without a parameter gradient buffer");
        const auto& eng = cpu_engine();
        float* const bias_grad = param_grads;
        float* const weight_grad = param_grads + (bn_ ? 2 : 1) * filters_;
        float* const g = static_cast<float*>(grad_.get_data_handle());
        if (bn_) {
            batch_norm_activation_backward(dst_layout_, state + z_offset(), state, state + filters_, scales_.data(),
                                           activation_, kEpsilon, output, output_grad, g, param_grads + filters_,
                                           bias_grad);
        } else {
            activation_backward(dst_layout_, activation_, output, output_grad, g);
        }
        mark(TrainPhase::bn_activation_backward);
        // The input in the convolution's layout: the forward's converted copy, or the caller's.
        const memory x = src_in_ ? x_ : memory(plain_src_, eng, const_cast<float*>(inputs[0]));
        Args weight_args = {{DNNL_ARG_SRC, weights_src_(stream_, x)},
                            {DNNL_ARG_DIFF_DST, weights_diff_dst_(stream_, grad_)},
                            {DNNL_ARG_DIFF_WEIGHTS, diff_weights_}};
        if (!bn_) weight_args[DNNL_ARG_DIFF_BIAS] = diff_bias_;
        conv_bwd_weights_.execute(stream_, weight_args);
        run(stream_, dw_out_, diff_weights_, memory(plain_w_, eng, weight_grad));
        stream_.wait();
        mark(TrainPhase::backward_weights);
        if (!input_grads.empty() && input_grads[0]) {
            conv_bwd_data_.execute(stream_, {{DNNL_ARG_DIFF_DST, data_diff_dst_(stream_, grad_)},
                                             {DNNL_ARG_WEIGHTS, weights_bwd_},
                                             {DNNL_ARG_DIFF_SRC, dx_}});
            run(stream_, dx_out_, dx_, memory(plain_src_, eng, input_grads[0]));
            stream_.wait();
            mark(TrainPhase::backward_data);
        }
        stream_.wait();
        if (!bn_) add_into(bias_grad, static_cast<const float*>(diff_bias_.get_data_handle()));
    }

    // Host parameters -> the kernel's copies (weights in the layouts the primitives chose).
    void parameters_changed() override {
        const ConvolutionalLayer& L = layer_;
        const size_t n_weights = plain_w_.get_size() / sizeof(float);
        if (L.weights.size() != n_weights || L.biases.size() != size_t(filters_) ||
            (bn_ && L.scales.size() != size_t(filters_)))
            throw Error("internal: convolutional layer " + std::to_string(L.index()) +
                        " has no host parameters to train");
        const memory user_w(plain_w_, cpu_engine(), const_cast<float*>(L.weights.data()));
        run(stream_, make_reorder(plain_w_, weights_fwd_.get_desc()), user_w, weights_fwd_);
        if (weights_bwd_ != weights_fwd_)
            run(stream_, make_reorder(plain_w_, weights_bwd_.get_desc()), user_w, weights_bwd_);
        stream_.wait();
        if (bn_) {
            scales_ = L.scales;
            biases_ = L.biases;
        } else {
            std::copy(L.biases.begin(), L.biases.end(), static_cast<float*>(bias_.get_data_handle()));
        }
    }

private:
    // mean, variance, then the convolution output at a 64-byte multiple.
    size_t z_offset() const { return (2 * size_t(filters_) + 15) / 16 * 16; }

    void add_into(float* dst, const float* src) const {
        for (int f = 0; f < filters_; ++f) dst[f] += src[f];
    }

    // darknet's running averages; the variance is made unbiased over batch x H x W.
    void update_rolling_statistics(const float* mean, const float* variance) {
        const double n = double(spatial_per_filter_);
        const float unbias = n > 1 ? float(n / (n - 1)) : 1.f;
        for (int f = 0; f < filters_; ++f) {
            constexpr float d = ConvolutionalLayer::rolling_decay;
            layer_.rolling_mean[f] = d * layer_.rolling_mean[f] + ConvolutionalLayer::rolling_rate * mean[f];
            layer_.rolling_variance[f] = d * layer_.rolling_variance[f] + ConvolutionalLayer::rolling_rate * variance[f] * unbias;
        }
    }

    ConvolutionalLayer& layer_;
    int batch_ = 1, filters_ = 1;
    bool bn_ = false;
    Activation activation_ = Activation::linear;
    size_t spatial_per_filter_ = 1;
    dnnl::stream stream_;

    memory::desc plain_src_, plain_dst_, plain_w_, src_md_, dst_md_, diff_src_md_;
    dnnl::convolution_forward::primitive_desc fwd_pd_;
    dnnl::convolution_backward_data::primitive_desc bwd_data_pd_;
    dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd_;
    dnnl::convolution_forward conv_fwd_;
    dnnl::convolution_backward_data conv_bwd_data_;
    dnnl::convolution_backward_weights conv_bwd_weights_;
    dnnl::reorder src_in_, out_to_plain_, dx_out_, dw_out_;
    LayoutBridge weights_src_, weights_diff_dst_, data_diff_dst_;

    memory x_, dx_, grad_;
    memory weights_fwd_, weights_bwd_, diff_weights_, bias_, diff_bias_;
    std::vector<float> scales_, biases_;  // batch norm's, copied at parameters_changed()
    ChannelBlockedLayout dst_layout_;
};

const onednn::TrainKernelRegistrar registrar("convolutional",
                                     [](const TrainKernelContext& ctx) -> std::unique_ptr<TrainKernel> {
                                         return std::make_unique<ConvTrainKernel>(ctx);
                                     });

}  // namespace
}  // namespace yolo9k
