#include "backend/onednn/kernel.h"

#include "core/error.h"

namespace yolo9k::onednn {
namespace {
// Generic path: reorder inputs to plain NCHW, run the layer's reference code.
class ReferenceKernel final : public Kernel {
public:
    explicit ReferenceKernel(const KernelContext& ctx) : layer_(ctx.layer), batch_(ctx.batch) {
        dst = plain_desc(ctx.batch, ctx.layer.output_shape());
        impl = "reference (plain nchw)";
        needs_host_weights = true;
        for (size_t k = 0; k < ctx.src.size(); ++k) {
            // The int8 plan gives 8-bit values only to layers with int8 kernels; one that ends
            // up here (a layout this fallback was not expected to meet) must not read them as floats.
            const auto t = ctx.src[k].data_type();
            if (t == memory::data_type::s8 || t == memory::data_type::u8)
                throw Error("internal: layer " + std::to_string(ctx.layer.index()) + " (" + std::string(ctx.layer.type()) +
                            ") has no int8 kernel for input layout " + layout_name(ctx.src[k]) +
                            "; use --precision f32 or bf16");
            Input in;
            in.needs_reorder = !is_plain_nchw(ctx.src[k]);
            if (in.needs_reorder) {
                in.plain = memory(plain_desc(ctx.batch, ctx.layer.input_shape(int(k))), ctx.engine);
                in.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(ctx.engine, ctx.src[k], ctx.engine, in.plain.get_desc()));
                ++reorders;
            }
            inputs_.push_back(std::move(in));
        }
    }
    void bind(const std::vector<memory>& srcs, const memory& d, const memory&) override {
        for (size_t k = 0; k < srcs.size(); ++k) inputs_[k].src = srcs[k];
        dst_ = d;
    }
    void execute(dnnl::stream& s) override {
        std::vector<const float*> ptrs;
        for (auto& in : inputs_) {
            if (in.needs_reorder) {
                in.reorder.execute(s, in.src, in.plain);
                ptrs.push_back(static_cast<const float*>(in.plain.get_data_handle()));
            } else {
                ptrs.push_back(static_cast<const float*>(in.src.get_data_handle()));
            }
        }
        s.wait();
        layer_.forward_reference(ptrs, static_cast<float*>(dst_.get_data_handle()), batch_);
    }

private:
    struct Input {
        bool needs_reorder = false;
        memory src, plain;
        dnnl::reorder reorder;
    };
    const Layer& layer_;
    int batch_;
    std::vector<Input> inputs_;
    memory dst_;
};

}  // namespace

Registry<KernelFactory>& kernels() {
    static Registry<KernelFactory> r("oneDNN kernel");
    return r;
}

Registry<TrainKernelFactory>& train_kernels() {
    static Registry<TrainKernelFactory> r("oneDNN training kernel");
    return r;
}

std::unique_ptr<Kernel> make_reference_kernel(const KernelContext& ctx) { return std::make_unique<ReferenceKernel>(ctx); }

memory::dims dims_of(int batch, Shape s) { return {batch, s.c, s.h, s.w}; }

memory::desc plain_desc(int batch, Shape s) { return memory::desc(dims_of(batch, s), memory::data_type::f32, tag::nchw); }

memory::data_type activation_type(Precision p) {
    return p == Precision::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
}

bool is_plain_nchw(const memory::desc& md) {
    const auto& d = md.data;
    return md == memory::desc(memory::dims(d.dims, d.dims + d.ndims), memory::data_type::f32, tag::nchw);
}

std::string layout_name(const memory::desc& md) {
    const auto& d = md.data;
    const auto t = md.data_type();
    const std::string type = t == memory::data_type::bf16 ? " bf16"
                             : t == memory::data_type::s8 ? " s8"
                             : t == memory::data_type::u8 ? " u8"
                                                          : "";
    if (d.format_kind != dnnl_blocked) return "opaque" + type;
    if (d.ndims == 4 && md == memory::desc(memory::dims(d.dims, d.dims + 4), md.data_type(), tag::nchw)) return "nchw" + type;
    const auto& b = d.format_desc.blocking;
    if (b.inner_nblks == 0) return (b.strides[1] == 1 ? "nhwc" : "strided") + type;
    std::string s = "blocked:";
    for (int i = 0; i < b.inner_nblks; ++i) s += std::to_string(b.inner_blks[i]) + "nchw"[b.inner_idxs[i]];
    return s + type;
}

bool Indexer4d::supports(const memory::desc& md) {
    const auto& d = md.data;
    if (d.ndims != 4 || d.format_kind != dnnl_blocked) return false;
    const auto& b = d.format_desc.blocking;
    return b.inner_nblks == 0 || (b.inner_nblks == 1 && b.inner_idxs[0] == 1);
}

Indexer4d::Indexer4d(const memory::desc& md) {
    if (!supports(md)) throw Error("internal: Indexer4d needs a plain or channel-blocked 4-D layout, got " + layout_name(md));
    const auto& b = md.data.format_desc.blocking;
    for (int i = 0; i < 4; ++i) stride_[i] = b.strides[i];
    if (b.inner_nblks == 1) block_ = b.inner_blks[0];
}

}  // namespace yolo9k::onednn
