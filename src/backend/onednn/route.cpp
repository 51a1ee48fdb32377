// [route] on oneDNN concat; blocked inputs whose channel counts are multiples of the
// block concatenate without leaving the blocked layout.
#include "backend/onednn/kernel.h"

namespace yolo9k::onednn {
namespace {

class ConcatKernel final : public Kernel {
public:
    explicit ConcatKernel(const KernelContext& ctx) {
        if (ctx.src.size() == 1) {  // a route of one layer is a view of it
            alias_src0 = true;
            impl = "alias";
            return;
        }
        pd_ = dnnl::concat::primitive_desc(1, ctx.src, ctx.engine, ctx.attr());
        concat_ = dnnl::concat(pd_);
        dst = pd_.dst_desc();
        scratchpad_bytes = pd_.scratchpad_desc().get_size();
        impl = std::string("onednn concat ") + pd_.impl_info_str();
    }
    void bind(const std::vector<memory>& srcs, const memory& d, const memory& scratch) override {
        if (alias_src0) return;
        args_.clear();
        for (size_t k = 0; k < srcs.size(); ++k) args_[DNNL_ARG_MULTIPLE_SRC + int(k)] = srcs[k];
        args_[DNNL_ARG_DST] = d;
        args_[DNNL_ARG_SCRATCHPAD] = scratch;
    }
    void execute(dnnl::stream& s) override {
        if (!alias_src0) concat_.execute(s, args_);
    }

private:
    dnnl::concat::primitive_desc pd_;
    dnnl::concat concat_;
    std::unordered_map<int, memory> args_;
};

const KernelRegistrar registrar("route", [](const KernelContext& ctx) { return std::make_unique<ConcatKernel>(ctx); });

class IdentityKernel final : public Kernel {
public:
    IdentityKernel() {
        alias_src0 = true;
        impl = "alias";
    }
    void bind(const std::vector<memory>&, const memory&, const memory&) override {}
    void execute(dnnl::stream&) override {}
};

const KernelRegistrar cost("cost", [](const KernelContext&) { return std::make_unique<IdentityKernel>(); });

}  // namespace
}  // namespace yolo9k::onednn
