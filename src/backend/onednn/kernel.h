// oneDNN backend internals: a Kernel runs one layer on oneDNN memory, in whatever layout
// oneDNN prefers (blocked nChw16c on AVX-512), so activations stay blocked from the
// first convolution to the head. Each layer type's kernel is one file in this folder
// that registers here; a layer without one runs its reference code on plain NCHW.
// Training kernels (plain NCHW at their boundary) register in train_kernels().
#pragma once

#include <dnnl.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/activation_ranges.h"
#include "backend/onednn/settings.h"
#include "backend/train_executor.h"
#include "core/registry.h"
#include "layer/layer.h"

namespace yolo9k {
class Network;
}

namespace yolo9k::onednn {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

struct KernelContext {
    const dnnl::engine& engine;
    const Layer& layer;
    std::vector<memory::desc> src;  // layouts of the inputs as their producers write them
    int batch = 1;
    ConvAlgorithm conv_algorithm = ConvAlgorithm::fast;
    // bf16: convolutions multiply in bf16 (f32 accumulation) and activations travel between
    // layers as bf16; layers without a bf16 kernel read f32 copies.
    Precision precision = Precision::f32;
    // This layer's output feeds the network's head (or is its output): keep it in f32.
    bool f32_output = false;
    // int8: the range of real values each input holds (calibrated, or the 8-bit range its
    // producer scaled to), and the range this layer's output is scaled to when it writes s8
    // (int8_output_ranges); 0: the output stays f32.
    std::vector<ActivationRange> src_range;
    float dst_range = 0;
    // Bytes of weight memory that kernels may still add for speed (Winograd's pre-transformed
    // weights); shared by the network's kernels, taken in layer order. Null: none at all.
    size_t* winograd_budget = nullptr;
    // Attributes every primitive uses: a user-managed scratchpad shared by all kernels.
    dnnl::primitive_attr attr() const {
        dnnl::primitive_attr a;
        a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        return a;
    }
};

class Kernel {
public:
    virtual ~Kernel() = default;
    // Called once, after the executor has placed every output in its memory plan.
    virtual void bind(const std::vector<memory>& srcs, const memory& dst, const memory& scratchpad) = 0;
    virtual void execute(dnnl::stream& stream) = 0;

    memory::desc dst;         // output layout, decided when the kernel is created
    bool alias_src0 = false;  // the output is input 0 unchanged (no buffer, no work)
    size_t scratchpad_bytes = 0;
    int reorders = 0;         // layout conversions this kernel adds (0 on the fast path)
    bool needs_host_weights = false;  // runs the layer's reference code, which reads them
    std::string impl;         // what runs, for `yolo9k info --backend`
    size_t extra_weight_bytes = 0;  // weights kept beyond the plain copy (pre-transformed Winograd)
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelContext&)>;
// Keyed by layer type (the cfg section name).
Registry<KernelFactory>& kernels();
Registry<TrainKernelFactory>& train_kernels();
struct KernelRegistrar {
    KernelRegistrar(const std::string& layer_type, KernelFactory f) { kernels().add(layer_type, std::move(f)); }
};
struct TrainKernelRegistrar {
    TrainKernelRegistrar(const std::string& layer_type, TrainKernelFactory f) {
        train_kernels().add(layer_type, std::move(f));
    }
};

// Runs Layer::forward_reference on plain NCHW copies of the inputs.
std::unique_ptr<Kernel> make_reference_kernel(const KernelContext& ctx);
// The [convolutional] kernel for Precision::int8 (convolutional_int8.cpp).
std::unique_ptr<Kernel> make_int8_conv_kernel(const KernelContext& ctx);

// int8: for each layer, the range its output is scaled to when it is stored as s8, or 0
// where it stays f32 (int8_plan.cpp). Layers that only move values (maxpool, reorg, route)
// keep their inputs' scale, so a route's inputs share one: the widest of their ranges.
std::vector<float> int8_output_ranges(const Network& net, const ActivationRanges& ranges);

// A convolution's oneDNN geometry, darknet's output size included.
struct ConvGeometry {
    memory::dims src, dst, weights, strides, pad_l, pad_r;
    static ConvGeometry of(const Layer& convolutional, int batch);
};
// The layer's activation as oneDNN post-ops (applied after any output scale).
dnnl::post_ops activation_post_ops(Activation activation);

memory::dims dims_of(int batch, Shape s);
memory::desc plain_desc(int batch, Shape s);
// The element type activations travel in at `p` (int8 networks keep f32 at the seams).
memory::data_type activation_type(Precision p);
bool is_plain_nchw(const memory::desc& md);
std::string layout_name(const memory::desc& md);

// Offsets of logical (n, c, h, w) in a plain or channel-blocked (nChw8c/16c) layout,
// for the few kernels we write ourselves (reorg).
class Indexer4d {
public:
    explicit Indexer4d(const memory::desc& md);
    static bool supports(const memory::desc& md);
    int64_t operator()(int64_t n, int64_t c, int64_t h, int64_t w) const {
        return n * stride_[0] + (c / block_) * stride_[1] + h * stride_[2] + w * stride_[3] + c % block_;
    }

private:
    int64_t stride_[4];
    int64_t block_ = 1;
};

}  // namespace yolo9k::onednn
