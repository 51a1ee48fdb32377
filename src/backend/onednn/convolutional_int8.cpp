// [convolutional] in int8 on oneDNN's VNNI / AMX kernels: u8 or s8 activations times s8
// weights, accumulated in s32.
//
// Scales (stored = real x q): the input's q comes from its calibrated range (or the scale
// its producer wrote it with), each output channel's weights get their own q from their
// largest magnitude (batch norm folded first), and the output's q from its calibrated range.
// oneDNN 2.x adds the bias to the s32 accumulator, before the output scale, so the bias is
// given in accumulator units (b x q_in x q_w). The activation runs after the output scale;
// leaky and relu commute with a positive scale, so an s8 output of either is exact up to
// rounding (logistic does not, and int8_output_ranges keeps such layers' outputs in f32).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "backend/onednn/kernel.h"
#include "core/error.h"
#include "layer/convolutional.h"

namespace yolo9k::onednn {
namespace {

using dt = memory::data_type;

bool is_int8(dt t) { return t == dt::s8 || t == dt::u8; }

// Quantization multiplier for values within +-range stored as `type`. A range below 1e-12
// (a dead layer: all but zero) is quantized as if it were 1, so it stays 0 without scales
// that overflow.
float quant_multiplier(float range, dt type) {
    const float levels = type == dt::u8 ? 255.f : 127.f;
    return range > 1e-12f && std::isfinite(range) ? levels / range : levels;
}

class Int8ConvKernel final : public Kernel {
public:
    explicit Int8ConvKernel(const KernelContext& ctx) {
        const auto& L = dynamic_cast<const ConvolutionalLayer&>(ctx.layer);
        if (ctx.src_range.empty()) throw Error("internal: int8 convolution without an input range");
        const ConvGeometry g = ConvGeometry::of(L, ctx.batch);
        const dt producer_type = ctx.src[0].data_type();
        // An input that arrives in f32 (the network input, or after a layer that stays f32) is
        // quantized here: u8 when its calibrated values are never negative (pixels), else s8.
        const dt in_type = is_int8(producer_type) ? producer_type : ctx.src_range[0].nonnegative() ? dt::u8 : dt::s8;
        const dt out_type = ctx.dst_range > 0 ? dt::s8 : dt::f32;
        const float q_in = quant_multiplier(ctx.src_range[0].absmax(), in_type);
        const float q_out = ctx.dst_range > 0 ? quant_multiplier(ctx.dst_range, dt::s8) : 1.f;

        std::vector<float> folded_w, folded_b;
        if (L.batch_normalize) L.folded(folded_w, folded_b);
        const std::vector<float>& w = L.batch_normalize ? folded_w : L.weights;
        const std::vector<float>& b = L.batch_normalize ? folded_b : L.biases;
        if (w.empty()) throw Error("internal: convolution weights are not loaded");
        const int oc = L.filters;
        const size_t per_filter = w.size() / size_t(oc);
        std::vector<std::int8_t> w_s8(w.size());
        std::vector<float> output_scales(oc), bias(oc);
        for (int o = 0; o < oc; ++o) {
            const float* wo = w.data() + size_t(o) * per_filter;
            float largest = 0;
            for (size_t k = 0; k < per_filter; ++k) largest = std::max(largest, std::fabs(wo[k]));
            const float q_w = quant_multiplier(largest, dt::s8);
            for (size_t k = 0; k < per_filter; ++k)
                w_s8[size_t(o) * per_filter + k] = std::int8_t(std::clamp(std::nearbyint(wo[k] * q_w), -127.f, 127.f));
            output_scales[o] = q_out / (q_in * q_w);
            bias[o] = b[o] * q_in * q_w;
        }

        dnnl::primitive_attr attr = ctx.attr();
        attr.set_output_scales(1 << 1, output_scales);  // per output channel
        attr.set_post_ops(activation_post_ops(L.activation));
        const auto desc_for = [&](const memory::desc& src) {
            return dnnl::convolution_forward::desc(
                dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                memory::desc(g.weights, dt::s8, tag::any), memory::desc({oc}, dt::f32, tag::x),
                memory::desc(g.dst, out_type, tag::any), g.strides, g.pad_l, g.pad_r);
        };
        // Take the producer's layout when it already holds 8-bit values; oneDNN may lack a fast
        // kernel for it, and then chooses its own (one reorder costs less than a reference loop).
        const memory::desc any_src(g.src, in_type, tag::any);
        pd_ = Pd(desc_for(is_int8(producer_type) ? ctx.src[0] : any_src), attr, ctx.engine);
        if (is_int8(producer_type) && std::string_view(pd_.impl_info_str()).starts_with("ref")) {
            const Pd chosen(desc_for(any_src), attr, ctx.engine);
            if (!std::string_view(chosen.impl_info_str()).starts_with("ref")) pd_ = chosen;
        }
        conv_ = dnnl::convolution_forward(pd_);
        dst = pd_.dst_desc();
        scratchpad_bytes = pd_.scratchpad_desc().get_size();
        impl = std::string("onednn conv int8 ") + pd_.impl_info_str() + " (" + (in_type == dt::u8 ? "u8" : "s8") +
               " in, " + (out_type == dt::s8 ? "s8" : "f32") + " out)";

        if (pd_.src_desc() != ctx.src[0]) {
            dnnl::primitive_attr quantize;
            if (!is_int8(producer_type)) quantize.set_output_scales(0, {q_in});
            src_reorder_ = dnnl::reorder(
                dnnl::reorder::primitive_desc(ctx.engine, ctx.src[0], ctx.engine, pd_.src_desc(), quantize));
            src_converted_ = memory(pd_.src_desc(), ctx.engine);
            ++reorders;
        }
        // The weights' layout may carry oneDNN's s8-source compensation; its reorder computes it.
        weights_ = memory(pd_.weights_desc(), ctx.engine);
        memory user_w(memory::desc(g.weights, dt::s8, tag::oihw), ctx.engine, w_s8.data());
        bias_ = memory(pd_.bias_desc(), ctx.engine);
        std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
        dnnl::stream s(ctx.engine);
        dnnl::reorder(user_w, weights_).execute(s, user_w, weights_);
        s.wait();
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
    using Pd = dnnl::convolution_forward::primitive_desc;
    Pd pd_;
    dnnl::convolution_forward conv_;
    dnnl::reorder src_reorder_;
    memory src_, src_converted_, weights_, bias_;
    std::unordered_map<int, memory> args_;
};

}  // namespace

std::unique_ptr<Kernel> make_int8_conv_kernel(const KernelContext& ctx) { return std::make_unique<Int8ConvKernel>(ctx); }

}  // namespace yolo9k::onednn
