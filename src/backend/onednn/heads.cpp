// [region] and [softmax] heads: one reorder from the blocked layout into the plain
// NCHW output (the layout box decoding and users read), then the activations in place.
#include <cstring>

#include "backend/onednn/kernel.h"
#include "layer/region.h"
#include "layer/softmax.h"

namespace yolo9k::onednn {
namespace {

template <class HeadLayer>
class HeadKernel final : public Kernel {
public:
    explicit HeadKernel(const KernelContext& ctx) : layer_(dynamic_cast<const HeadLayer&>(ctx.layer)), batch_(ctx.batch) {
        dst = plain_desc(ctx.batch, layer_.output_shape());
        if (!is_plain_nchw(ctx.src[0])) reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, ctx.src[0], ctx.engine, dst));
        impl = "yolo9k head (reorder to nchw + activations)";
    }
    void bind(const std::vector<memory>& srcs, const memory& d, const memory&) override {
        src_ = srcs[0];
        dst_ = d;
    }
    void execute(dnnl::stream& s) override {
        if (reorder_) {
            reorder_.execute(s, src_, dst_);
        } else {
            s.wait();
            std::memcpy(dst_.get_data_handle(), src_.get_data_handle(), dst.get_size());
        }
        s.wait();
        layer_.activate_in_place(static_cast<float*>(dst_.get_data_handle()), batch_);
    }

private:
    const HeadLayer& layer_;
    int batch_;
    dnnl::reorder reorder_;
    memory src_, dst_;
};

const KernelRegistrar region("region", [](const KernelContext& ctx) { return std::make_unique<HeadKernel<RegionLayer>>(ctx); });
const KernelRegistrar softmax("softmax", [](const KernelContext& ctx) { return std::make_unique<HeadKernel<SoftmaxLayer>>(ctx); });

}  // namespace
}  // namespace yolo9k::onednn
