// Convolution on oneDNN: batch norm folded into weights and bias once, the activation
// fused as a post-op, weights reordered once into the layout the chosen kernel wants.
#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"

namespace yolo9k::onednn {
namespace {

class ConvKernel final : public Kernel {
public:
    explicit ConvKernel(const KernelContext& ctx) {
        const auto& L = dynamic_cast<const ConvolutionalLayer&>(ctx.layer);
        const Shape in = L.input_shape(), out = L.output_shape();
        const memory::dims src_dims = dims_of(ctx.batch, in), dst_dims = dims_of(ctx.batch, out);
        const memory::dims w_dims = {L.filters, in.c, L.size, L.size};
        const memory::dims strides = {L.stride, L.stride};
        const memory::dims pad_l = {L.padding, L.padding};
        // darknet's output size floors; the right/bottom padding is whatever makes it consistent
        const memory::dims pad_r = {(out.h - 1) * L.stride + L.size - in.h - L.padding,
                                    (out.w - 1) * L.stride + L.size - in.w - L.padding};
        const auto f32 = memory::data_type::f32;

        dnnl::primitive_attr attr = ctx.attr();
        dnnl::post_ops ops;
        switch (L.activation) {
            case Activation::linear: break;
            case Activation::leaky: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.1f, 0.f); break;
            case Activation::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
            case Activation::logistic: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
        }
        attr.set_post_ops(ops);

        dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, memory::desc(src_dims, f32, tag::any),
            memory::desc(w_dims, f32, tag::any), memory::desc({L.filters}, f32, tag::x), memory::desc(dst_dims, f32, tag::any),
            strides, pad_l, pad_r);
        pd_ = dnnl::convolution_forward::primitive_desc(desc, attr, ctx.engine);
        conv_ = dnnl::convolution_forward(pd_);
        dst = pd_.dst_desc();
        scratchpad_bytes = pd_.scratchpad_desc().get_size();
        impl = std::string("onednn conv ") + pd_.impl_info_str();

        // The producer's layout differs from what this kernel wants (the network input,
        // typically): convert on the way in.
        if (pd_.src_desc() != ctx.src[0]) {
            src_reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, ctx.src[0], ctx.engine, pd_.src_desc()));
            src_converted_ = memory(pd_.src_desc(), ctx.engine);
            ++reorders;
        }

        std::vector<float> w, b;
        L.folded(w, b);
        if (w.empty()) throw Error("internal: convolution weights are not loaded");
        weights_ = memory(pd_.weights_desc(), ctx.engine);
        bias_ = memory(pd_.bias_desc(), ctx.engine);
        memory user_w(memory::desc(w_dims, f32, tag::oihw), ctx.engine, w.data());
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
    }

    void execute(dnnl::stream& s) override {
        if (src_reorder_) src_reorder_.execute(s, src_, src_converted_);
        conv_.execute(s, args_);
    }

private:
    dnnl::convolution_forward::primitive_desc pd_;
    dnnl::convolution_forward conv_;
    dnnl::reorder src_reorder_;
    memory src_, src_converted_, weights_, bias_;
    std::unordered_map<int, memory> args_;
};

const KernelRegistrar registrar("convolutional", [](const KernelContext& ctx) { return std::make_unique<ConvKernel>(ctx); });

}  // namespace
}  // namespace yolo9k::onednn
