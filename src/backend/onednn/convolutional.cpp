// Convolution on oneDNN: batch norm folded into weights and bias once, the activation
// fused as a post-op (Winograd: a separate pass), weights reordered once into the layout
// the chosen kernel wants.
//
// Which kernel runs a 3x3 stride-1 layer in the default (fast) mode, measured on yolov2-voc
// (bench --layers): Winograd takes 40-60% off direct's time, but oneDNN's inference kernels
// keep pre-transformed weights, 4x (F(4,3)) or 1.8x (F(2,3), small maps) the plain size.
// So: (1) where oneDNN's F(4,3) kernel applies, run it in its training-mode form, which
// transforms the plain weights into the scratchpad on every run (under 1 ms per layer at
// 26x26, nothing at higher resolutions) and stores 1x; (2) otherwise keep pre-transformed
// weights while the network's Winograd memory budget lasts, in layer order; (3) otherwise direct.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string_view>

#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"

namespace yolo9k::onednn {
namespace {

class ConvKernel final : public Kernel {
public:
    explicit ConvKernel(const KernelContext& ctx) {
        const auto& L = dynamic_cast<const ConvolutionalLayer&>(ctx.layer);
        const Shape in = L.input_shape();
        const ConvGeometry g = ConvGeometry::of(L, ctx.batch);
        const memory::dims &src_dims = g.src, &dst_dims = g.dst, &w_dims = g.weights, &strides = g.strides,
                           &pad_l = g.pad_l, &pad_r = g.pad_r;
        const auto f32 = memory::data_type::f32;
        // bf16: weights and activations in bf16, accumulation and bias in f32 (oneDNN's
        // avx512_core_bf16 kernels); the layer feeding the head still writes f32, so the
        // box logits are not rounded to 8 bits of mantissa.
        const auto act = activation_type(ctx.precision);
        const auto out_type = ctx.f32_output ? f32 : act;

        // With Winograd in the network every convolution works on the 16-channel-blocked
        // layout those kernels use, so activations flow between layers without reorders
        // (left to choose, the direct 1x1 kernels would pick nhwc and force a conversion
        // at every change). Direct-only networks let oneDNN choose (brgconv on nhwc).
        const bool blocked = ctx.conv_algorithm == ConvAlgorithm::fast && ctx.precision == Precision::f32;
        const bool producer_layout = blocked && !is_plain_nchw(ctx.src[0]) && ctx.src[0].data_type() == act;
        const memory::desc src_md = producer_layout ? ctx.src[0] : memory::desc(src_dims, act, tag::any);
        const memory::desc dst_md(dst_dims, out_type, blocked ? tag::nChw16c : tag::any);
        const auto desc_with = [&](dnnl::algorithm a, dnnl::prop_kind prop, const memory::desc& src,
                                   const memory::desc& dst) {
            return dnnl::convolution_forward::desc(prop, a, src, memory::desc(w_dims, act, tag::any),
                                                   memory::desc({L.filters}, f32, tag::x), dst, strides, pad_l, pad_r);
        };
        const auto algorithm_for = [&](dnnl::algorithm a, dnnl::prop_kind prop = dnnl::prop_kind::forward_inference) {
            return desc_with(a, prop, src_md, dst_md);
        };
        dnnl::primitive_attr fused = ctx.attr();
        fused.set_post_ops(activation_post_ops(L.activation));

        // Winograd pays off on 3x3 stride-1 layers with enough input channels to amortise
        // its transforms (on the 3-channel first layer direct is 2x faster). oneDNN 2.x's
        // Winograd kernels accept no eltwise post-op, so the activation then runs as a
        // separate in-place pass over the output.
        // oneDNN 2.x has Winograd in f32 only.
        const bool try_winograd = ctx.precision == Precision::f32 && ctx.conv_algorithm == ConvAlgorithm::fast &&
                                  L.size == 3 && L.stride == 1 &&
                                  in.c >= 16 && L.activation != Activation::logistic;
        if (try_winograd) {
            const size_t plain_bytes = size_t(L.filters) * in.c * L.size * L.size * sizeof(float);
            const auto winograd_desc = [&](dnnl::prop_kind prop) {
                return algorithm_for(dnnl::algorithm::convolution_winograd, prop);
            };
            if (choose_winograd(ctx, winograd_desc, plain_bytes) && L.activation != Activation::linear) {
                const float alpha = L.activation == Activation::leaky ? 0.1f : 0.f;
                const dnnl::eltwise_forward::primitive_desc act(
                    dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu,
                                                pd_.dst_desc(), alpha),
                    ctx.attr(), ctx.engine);
                activation_ = dnnl::eltwise_forward(act);
                activation_scratchpad_ = act.scratchpad_desc().get_size();
            }
        }
        if (!pd_) pd_ = dnnl::convolution_forward::primitive_desc(algorithm_for(dnnl::algorithm::convolution_direct), fused,
                                                                  ctx.engine);
        // Some shapes have no optimised kernel on the blocked layout (a layer of 8 input
        // channels padded to 16, say) and oneDNN falls back to its reference loop, hundreds
        // of times slower: let oneDNN pick the layouts then (the reorders cost far less).
        if (blocked && std::string_view(pd_.impl_info_str()).starts_with("ref")) {
            const ConvPd any_layout(desc_with(dnnl::algorithm::convolution_direct, dnnl::prop_kind::forward_inference,
                                              memory::desc(src_dims, act, tag::any), memory::desc(dst_dims, out_type, tag::any)),
                                    fused, ctx.engine);
            if (!std::string_view(any_layout.impl_info_str()).starts_with("ref")) pd_ = any_layout;
        }
        conv_ = dnnl::convolution_forward(pd_);
        dst = pd_.dst_desc();
        scratchpad_bytes = pd_.scratchpad_desc().get_size();
        scratchpad_bytes = std::max(scratchpad_bytes, activation_scratchpad_);
        impl = std::string("onednn conv ") + pd_.impl_info_str() + (activation_ ? " + eltwise" : "") + weights_note_;

        // The producer's layout differs from what this kernel wants (the network input,
        // typically): convert on the way in.
        if (pd_.src_desc() != ctx.src[0]) {
            src_reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, ctx.src[0], ctx.engine, pd_.src_desc()));
            src_converted_ = memory(pd_.src_desc(), ctx.engine);
            ++reorders;
        }

        // A layer whose batch norm is already folded (Network::fold_batch_norm) is read in
        // place; otherwise fold into a temporary.
        std::vector<float> folded_w, folded_b;
        if (L.batch_normalize) L.folded(folded_w, folded_b);
        const std::vector<float>& w = L.batch_normalize ? folded_w : L.weights;
        const std::vector<float>& b = L.batch_normalize ? folded_b : L.biases;
        if (w.empty()) throw Error("internal: convolution weights are not loaded");
        weights_ = memory(pd_.weights_desc(), ctx.engine);
        bias_ = memory(pd_.bias_desc(), ctx.engine);
        memory user_w(memory::desc(w_dims, f32, tag::oihw), ctx.engine, const_cast<float*>(w.data()));
        dnnl::stream s(ctx.engine);
        dnnl::reorder(user_w, weights_).execute(s, user_w, weights_);
        s.wait();
        std::copy(b.begin(), b.end(), static_cast<float*>(bias_.get_data_handle()));
    }

    void bind(const std::vector<memory>& srcs, const memory& d, const memory& scratch) override {
        src_ = srcs[0];
        args_ = {{DNNL_ARG_SRC, src_reorder_ ? src_converted_ : src_},
                 {DNNL_ARG_WEIGHTS, weights_},
                 {DNNL_ARG_BIAS, bias_},
                 {DNNL_ARG_DST, d},
                 {DNNL_ARG_SCRATCHPAD, scratch}};
        activation_args_ = {{DNNL_ARG_SRC, d}, {DNNL_ARG_DST, d}, {DNNL_ARG_SCRATCHPAD, scratch}};
    }

    void execute(dnnl::stream& s) override {
        if (src_reorder_) src_reorder_.execute(s, src_, src_converted_);
        conv_.execute(s, args_);
        if (activation_) activation_.execute(s, activation_args_);
    }

private:
    using ConvPd = dnnl::convolution_forward::primitive_desc;

    // The Winograd policy in the header comment: sets pd_ and weights_note_ and returns
    // true, or returns false (no Winograd kernel for this shape or CPU, or no budget left).
    bool choose_winograd(const KernelContext& ctx,
                         const std::function<dnnl::convolution_forward::desc(dnnl::prop_kind)>& desc_for,
                         size_t plain_bytes) {
        const auto make = [&](dnnl::prop_kind prop) {
            try {
                return ConvPd(desc_for(prop), ctx.attr(), ctx.engine);
            } catch (const dnnl::error&) {
                return ConvPd();
            }
        };
        const ConvPd pretransformed = make(dnnl::prop_kind::forward_inference);
        if (!pretransformed) return false;
        const ConvPd per_run = make(dnnl::prop_kind::forward_training);
        if (per_run && std::string(per_run.impl_info_str()) == pretransformed.impl_info_str() &&
            per_run.weights_desc().get_size() <= plain_bytes + plain_bytes / 8) {
            pd_ = per_run;
            weights_note_ = ", weights transformed per run";
            return true;
        }
        const size_t bytes = pretransformed.weights_desc().get_size();
        const size_t extra = bytes > plain_bytes ? bytes - plain_bytes : 0;
        if (!ctx.winograd_budget || extra > *ctx.winograd_budget) return false;
        *ctx.winograd_budget -= extra;
        extra_weight_bytes = extra;
        pd_ = pretransformed;
        char mib[32];
        std::snprintf(mib, sizeof mib, "%.1f", double(extra) / (1 << 20));
        weights_note_ = std::string(", pre-transformed weights +") + mib + " MiB";
        return true;
    }

    ConvPd pd_;
    dnnl::convolution_forward conv_;
    dnnl::eltwise_forward activation_;  // only when the activation is not fused as a post-op
    std::unordered_map<int, memory> activation_args_;
    size_t activation_scratchpad_ = 0;
    std::string weights_note_;  // how a Winograd kernel holds its weights, for describe()
    dnnl::reorder src_reorder_;
    memory src_, src_converted_, weights_, bias_;
    std::unordered_map<int, memory> args_;
};

const KernelRegistrar registrar("convolutional", [](const KernelContext& ctx) -> std::unique_ptr<Kernel> {
    if (ctx.precision == Precision::int8) return make_int8_conv_kernel(ctx);
    return std::make_unique<ConvKernel>(ctx);
});

}  // namespace

dnnl::post_ops activation_post_ops(Activation activation) {
    dnnl::post_ops ops;
    switch (activation) {
        case Activation::linear: break;
        case Activation::leaky: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.1f, 0.f); break;
        case Activation::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case Activation::logistic: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    }
    return ops;
}

ConvGeometry ConvGeometry::of(const Layer& layer, int batch) {
    const auto& L = dynamic_cast<const ConvolutionalLayer&>(layer);
    const Shape in = L.input_shape(), out = L.output_shape();
    // darknet's output size floors; the right/bottom padding is whatever makes it consistent
    return {.src = dims_of(batch, in), .dst = dims_of(batch, out), .weights = {L.filters, in.c, L.size, L.size},
            .strides = {L.stride, L.stride}, .pad_l = {L.padding, L.padding},
            .pad_r = {(out.h - 1) * L.stride + L.size - in.h - L.padding, (out.w - 1) * L.stride + L.size - in.w - L.padding}};
}

}  // namespace yolo9k::onednn
