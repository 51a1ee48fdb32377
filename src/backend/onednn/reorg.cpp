// [reorg] directly between channel-blocked layouts: the element order is darknet's
// (see layer/reorg.h); only the addressing knows about blocks.
#include <cstdint>

#include "backend/onednn/kernel.h"
#include "layer/reorg.h"

namespace yolo9k::onednn {
namespace {

class ReorgKernel final : public Kernel {
public:
    explicit ReorgKernel(const KernelContext& ctx)
        : layer_(dynamic_cast<const ReorgLayer&>(ctx.layer)), batch_(ctx.batch), in_idx_(ctx.src[0]), out_idx_(ctx.src[0]) {
        const auto& b = ctx.src[0].data.format_desc.blocking;
        // same layout family as the input: channels-last stays channels-last, blocks stay blocks
        const tag t = b.inner_nblks == 0 ? (b.strides[1] == 1 ? tag::nhwc : tag::nchw)
                      : b.inner_blks[0] == 16 ? tag::nChw16c
                                              : tag::nChw8c;
        dst = memory::desc(dims_of(batch_, layer_.output_shape()), ctx.src[0].data_type(), t);
        element_bytes_ = int(memory::data_type_size(dst.data_type()));
        out_idx_ = Indexer4d(dst);
        impl = "yolo9k reorg (darknet order, layout-aware)";
    }
    void bind(const std::vector<memory>& srcs, const memory& d, const memory&) override {
        src_ = srcs[0];
        dst_ = d;
    }
    void execute(dnnl::stream& s) override {
        s.wait();
        // A permutation: elements move as bit patterns, whatever their type.
        if (element_bytes_ == 1)
            permute<std::uint8_t>();
        else if (element_bytes_ == 2)
            permute<std::uint16_t>();
        else
            permute<std::uint32_t>();
    }

private:
    template <class Bits>
    void permute() {
        const Bits* x = static_cast<const Bits*>(src_.get_data_handle());
        Bits* y = static_cast<Bits*>(dst_.get_data_handle());
        const Shape in = layer_.input_shape(), out = layer_.output_shape();
#pragma omp parallel for collapse(2)
        for (int n = 0; n < batch_; ++n)
            for (int c = 0; c < out.c; ++c)
                for (int h = 0; h < out.h; ++h)
                    for (int w = 0; w < out.w; ++w) {
                        const size_t q = (size_t(c) * out.h + h) * out.w + w;
                        const size_t p = reorg_source_index(q, in.w, in.h, in.c, layer_.stride);
                        const int pc = int(p / (size_t(in.h) * in.w)), ph = int(p / in.w % in.h), pw = int(p % in.w);
                        y[out_idx_(n, c, h, w)] = x[in_idx_(n, pc, ph, pw)];
                    }
    }

    const ReorgLayer& layer_;
    int batch_;
    Indexer4d in_idx_, out_idx_;
    int element_bytes_ = 4;
    memory src_, dst_;
};

const KernelRegistrar registrar("reorg", [](const KernelContext& ctx) -> std::unique_ptr<Kernel> {
    if (!Indexer4d::supports(ctx.src[0])) return make_reference_kernel(ctx);
    return std::make_unique<ReorgKernel>(ctx);
});

}  // namespace
}  // namespace yolo9k::onednn
