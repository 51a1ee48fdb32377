// [maxpool] and [avgpool] on oneDNN pooling, in the producer's (blocked) layout and type.
#include "backend/onednn/kernel.h"
#include "layer/avgpool.h"
#include "layer/maxpool.h"

namespace yolo9k::onednn {
namespace {

class PoolKernel final : public Kernel {
public:
    PoolKernel(const KernelContext& ctx, dnnl::algorithm alg, memory::dims kernel, memory::dims strides, memory::dims pad_l) {
        const Shape in = ctx.layer.input_shape(), out = ctx.layer.output_shape();
        // Right padding chosen so oneDNN's output size equals darknet's; max pooling
        // never picks a padded cell, which is darknet's rule too.
        const memory::dims pad_r = {(out.h - 1) * strides[0] + kernel[0] - in.h - pad_l[0],
                                    (out.w - 1) * strides[1] + kernel[1] - in.w - pad_l[1]};
        dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, ctx.src[0],
                                         memory::desc(dims_of(ctx.batch, out), ctx.src[0].data_type(), tag::any), strides,
                                         kernel, pad_l, pad_r);
        pd_ = dnnl::pooling_forward::primitive_desc(desc, ctx.attr(), ctx.engine);
        pool_ = dnnl::pooling_forward(pd_);
        dst = pd_.dst_desc();
        scratchpad_bytes = pd_.scratchpad_desc().get_size();
        impl = std::string("onednn pool ") + pd_.impl_info_str();
    }
    void bind(const std::vector<memory>& srcs, const memory& d, const memory& scratch) override {
        args_ = {{DNNL_ARG_SRC, srcs[0]}, {DNNL_ARG_DST, d}, {DNNL_ARG_SCRATCHPAD, scratch}};
    }
    void execute(dnnl::stream& s) override { pool_.execute(s, args_); }

private:
    dnnl::pooling_forward::primitive_desc pd_;
    dnnl::pooling_forward pool_;
    std::unordered_map<int, memory> args_;
};

const KernelRegistrar maxpool("maxpool", [](const KernelContext& ctx) {
    const auto& L = dynamic_cast<const MaxpoolLayer&>(ctx.layer);
    return std::make_unique<PoolKernel>(ctx, dnnl::algorithm::pooling_max, memory::dims{L.size, L.size},
                                        memory::dims{L.stride, L.stride}, memory::dims{L.pad_before(), L.pad_before()});
});

const KernelRegistrar avgpool("avgpool", [](const KernelContext& ctx) {
    const Shape in = ctx.layer.input_shape();
    return std::make_unique<PoolKernel>(ctx, dnnl::algorithm::pooling_avg_exclude_padding, memory::dims{in.h, in.w},
                                        memory::dims{1, 1}, memory::dims{0, 0});
});

}  // namespace
}  // namespace yolo9k::onednn
